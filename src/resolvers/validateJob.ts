import { z } from 'zod';
import { IMAGE_REFERENCE_TYPES, JOB_TYPES, REFERENCE_TYPES, type ReferenceType } from '../vocabulary.js';
import { CATALOG, isJobType, type JobTypeEntry } from './catalog.js';
import type { StoredReference } from '../db/schema.js';
import { badInput } from './errors.js';

export const MAX_SEED = 4_294_967_295;
export const MAX_PROMPT = 2000;
export const REFERENCE_BUCKET = 'reference_images';

/** What either door (GraphQL or REST) hands to queueJob. */
export interface QueueJobRequest {
  jobType: string;
  prompt: string;
  numImages?: number | null;
  seed?: number | null;
  references?: Array<{ url: string; type: string; strength?: number | null }> | null;
  projectId?: string | null;
  videoId?: string | null;
  imageId?: string | null;
  idempotencyKey?: string | null;
  /** Checked by queueJob (it needs the network): see resolvers/webhooks.ts. */
  webhook?: string | null;
  webhookEvents?: string[] | null;
}

export interface ValidJobRequest {
  entry: JobTypeEntry;
  prompt: string;
  numImages: number;
  seed: number | null;
  references: StoredReference[];
  projectId: string | null;
  videoId: string | null;
  imageId: string | null;
  idempotencyKey: string | null;
}

const uuid = z.uuid({ message: 'must be a UUID' });

/**
 * Checks a request against the catalog; throws BAD_USER_INPUT naming the
 * allowed values. Pure: touches nothing, so a refusal changes nothing.
 */
export function validateJobRequest(req: QueueJobRequest, userId: string): ValidJobRequest {
  if (!isJobType(req.jobType)) {
    throw badInput(`Unknown jobType "${req.jobType}". Valid job types: ${JOB_TYPES.join(', ')}.`, {
      field: 'jobType',
      validJobTypes: JOB_TYPES,
    });
  }
  const entry = CATALOG[req.jobType];

  if (typeof req.prompt !== 'string') throw badInput('prompt is required: a string of 1 to 2000 characters.', { field: 'prompt' });
  refuseNul('prompt', req.prompt);
  refuseBrokenUtf16('prompt', req.prompt);
  const prompt = cleanPrompt(req.prompt);
  // Characters are code points, so an emoji counts once, not as two UTF-16 units.
  const length = [...prompt].length;
  if (length < 1 || length > MAX_PROMPT) {
    throw badInput(
      `prompt must be 1 to ${MAX_PROMPT} characters after trimming whitespace and invisible characters (got ${length}).`,
      { field: 'prompt' },
    );
  }

  const numImages = req.numImages ?? 1;
  if (!entry.allowedNumImages.includes(numImages)) {
    throw badInput(
      `numImages ${numImages} is not allowed for ${entry.jobType}: allowed values are ${entry.allowedNumImages.join(', ')}.`,
      { field: 'numImages', allowed: entry.allowedNumImages },
    );
  }

  const seed = req.seed ?? null;
  if (seed !== null && (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED)) {
    throw badInput(`seed must be an integer from 0 to ${MAX_SEED}.`, { field: 'seed' });
  }

  const references = validateReferences(req.references ?? [], entry, userId);

  for (const [field, value] of [['videoId', req.videoId], ['imageId', req.imageId]] as const) {
    if (value != null && !uuid.safeParse(value).success) throw badInput(`${field} must be a UUID.`, { field });
  }
  if (req.projectId != null && (req.projectId.length < 1 || req.projectId.length > 200)) {
    throw badInput('projectId must be 1 to 200 characters.', { field: 'projectId' });
  }
  if (req.projectId != null) refuseNul('projectId', req.projectId);
  if (req.projectId != null) refuseBrokenUtf16('projectId', req.projectId);
  const key = req.idempotencyKey ?? null;
  if (key !== null && (key.length < 1 || key.length > 200)) {
    throw badInput('idempotencyKey must be 1 to 200 characters.', { field: 'idempotencyKey' });
  }
  if (key !== null) refuseNul('idempotencyKey', key);
  if (key !== null) refuseBrokenUtf16('idempotencyKey', key);

  return {
    entry,
    prompt,
    numImages,
    seed,
    references,
    projectId: req.projectId ?? null,
    videoId: req.videoId ?? null,
    imageId: req.imageId ?? null,
    idempotencyKey: key,
  };
}

/**
 * Characters a prompt may start or end with that show nothing: every Unicode
 * White_Space character (U+0085 and U+2028 included, which String#trim does
 * not all cover) plus the invisible format characters people paste (zero-width
 * space/joiners, word joiner, BOM, Mongolian vowel separator, Hangul fillers,
 * Braille blank). Variation selectors are not here: after an emoji they matter.
 */
const EDGE_BLANK = '[\\p{White_Space}\\u180E\\u200B-\\u200D\\u2060\\uFEFF\\u115F\\u1160\\u3164\\uFFA0\\u2800]';
const EDGE_BLANKS = new RegExp(`^${EDGE_BLANK}+|${EDGE_BLANK}+$`, 'gu');
/** C0 controls but tab and newline, DEL, and C1 controls (U+0085 included; at the edges it was trimmed as whitespace). */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;

/**
 * The prompt as stored and sent to workers: line breaks normalised to "\n",
 * control characters (other than tab and newline) removed, and blank or
 * invisible characters trimmed from both ends, so a prompt that merely looks
 * blank is refused as empty.
 */
export function cleanPrompt(raw: string): string {
  return raw.replace(/\r\n?/g, '\n').replace(CONTROLS, '').replace(EDGE_BLANKS, '');
}

/**
 * A lone UTF-16 surrogate (only reachable through a "\ud800" JSON escape) is
 * not text: PostgreSQL refuses it inside jsonb, so it would fail as a 500.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

function refuseBrokenUtf16(field: string, value: string): void {
  if (LONE_SURROGATE.test(value)) {
    throw badInput(`${field} contains an unpaired UTF-16 surrogate (such as "\\ud800"), which is not text; send valid Unicode.`, {
      field,
    });
  }
}

/** PostgreSQL text cannot hold NUL: refuse it here rather than fail inside the transaction. */
function refuseNul(field: string, value: string): void {
  if (value.includes('\0')) {
    throw badInput(`${field} may not contain NUL (\\u0000) characters; remove them.`, { field });
  }
}

function validateReferences(
  refs: NonNullable<QueueJobRequest['references']>,
  entry: JobTypeEntry,
  userId: string,
): StoredReference[] {
  const allowedTypes: readonly string[] =
    entry.format === 'video' ? REFERENCE_TYPES : IMAGE_REFERENCE_TYPES;
  const seen = new Set<string>();
  return refs.map((ref, i) => {
    const field = `references[${i}]`;
    if (!allowedTypes.includes(ref.type)) {
      throw badInput(
        `${field}.type "${ref.type}" is not allowed for ${entry.jobType}: allowed types are ${allowedTypes.join(', ')}` +
          (entry.format === 'image' ? ' (start_frame and end_frame are for video job types only).' : '.'),
        { field: `${field}.type`, allowed: allowedTypes },
      );
    }
    if (seen.has(ref.type)) throw badInput(`Only one reference of type ${ref.type} is allowed per job.`, { field });
    seen.add(ref.type);
    const strength = ref.strength ?? 0.5;
    if (typeof strength !== 'number' || !Number.isFinite(strength) || strength < 0.1 || strength > 1.0) {
      throw badInput(`${field}.strength must be between 0.1 and 1.0 (got ${strength}).`, { field: `${field}.strength` });
    }
    return { url: checkReferenceUrl(ref.url, userId, field), type: ref.type as ReferenceType, strength };
  });
}

/** http(s) URLs, or a path under reference_images/<the caller's id>/ from createReferenceUpload. */
function checkReferenceUrl(url: string, userId: string, field: string): string {
  const help = `${field}.url must be an http(s) URL or a path "reference_images/<your user id>/<file>" returned by createReferenceUpload.`;
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048) throw badInput(help, { field: `${field}.url` });
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badInput(help, { field: `${field}.url` });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw badInput(help, { field: `${field}.url` });
    return parsed.toString();
  }
  const parts = url.split('/');
  if (
    parts.length < 3 ||
    parts[0] !== REFERENCE_BUCKET ||
    parts[1].toLowerCase() !== userId ||
    parts.slice(2).some((p) => p === '' || p === '.' || p === '..' || /[\\\0%]/.test(p) || LONE_SURROGATE.test(p))
  ) {
    throw badInput(help, { field: `${field}.url` });
  }
  return url;
}
