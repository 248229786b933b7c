import type { JobRow } from '../db/schema.js';
import { sniffContentType } from '../storage/contentType.js';
import { normalizeObjectPath } from '../storage/paths.js';
import { TERMINAL_STATUSES, type MediaFormat } from '../vocabulary.js';
import { CATALOG, SECOND_GENERATION_BUCKET } from './catalog.js';
import type { Deps } from './deps.js';
import { badInput } from './errors.js';
import { jobOfPayloadId, payloadIdOf } from './payloadIds.js';

/**
 * Where a job's outputs may be, for both fleet generations
 * (docs/worker-protocol.md): the first names bucket-relative paths in the job
 * type's bucket; the second names paths in `workspace-temp` under the folder
 * of the payload it was handed, `<user_id>/<payload id>/`.
 */

/** An `assets` item as a callback sends it: a path (first generation) or an object (second). */
export type CallbackAsset =
  | string
  | {
      type: 'image' | 'video';
      url: string;
      thumbnail_url?: string | null;
      metadata?: Record<string, unknown> | null;
    };

/** An asset with its real bucket, checked against the job it is reported for. */
export interface ResolvedAsset {
  bucket: string;
  path: string;
  /** In the same bucket; null when the worker sent none (the server may make one). */
  thumbnailPath: string | null;
  /** The `type` the worker declared; null for first-generation paths. */
  declaredType: 'image' | 'video' | null;
  /** The asset's own `metadata` from the worker, kept as sent. */
  workerMetadata: Record<string, unknown> | null;
}

/** The folder a second-generation worker must put this job's outputs in. */
export function outputFolderOf(job: Pick<JobRow, 'id' | 'userId' | 'payloadId'>): string {
  return `${job.userId}/${payloadIdOf(job)}/`;
}

/**
 * Checks every asset of a completed callback against the job and returns
 * where each really is. Throws BAD_USER_INPUT (nothing is changed) for a path
 * that is malformed or outside the job's folder.
 */
export function resolveAssets(job: Pick<JobRow, 'id' | 'userId' | 'jobType' | 'payloadId'>, items: readonly CallbackAsset[]): ResolvedAsset[] {
  const entry = CATALOG[job.jobType];
  const folder = outputFolderOf(job);
  return items.map((item, i) => {
    if (typeof item === 'string') {
      const path = checkedPath(item, 'asset path');
      // Outputs belong to the job: a worker (or a stolen worker key) must not
      // make another user's file downloadable by naming it in this callback.
      if (!ownedBy(path, job.userId)) {
        throw badInput(
          `Asset path "${path}" is not in the job owner's folder: outputs of job ${job.id} must be uploaded under "${job.userId}/" (the payload's user_id).`,
          { field: 'assets' },
        );
      }
      return { bucket: entry.bucket, path, thumbnailPath: null, declaredType: null, workerMetadata: null };
    }
    const inFolder = (raw: string, field: string) => {
      const path = checkedPath(stripBucket(raw), field);
      if (!path.startsWith(folder)) {
        throw badInput(
          `${field} "${path}" is outside this job's folder: second-generation outputs must lie under "${folder}" in bucket ` +
            `${SECOND_GENERATION_BUCKET} (<user_id>/<payload id>/ of the payload the worker was handed).`,
          { field: 'assets' },
        );
      }
      return path;
    };
    return {
      bucket: SECOND_GENERATION_BUCKET,
      path: inFolder(item.url, `assets.${i}.url`),
      thumbnailPath: item.thumbnail_url ? inFolder(item.thumbnail_url, `assets.${i}.thumbnail_url`) : null,
      declaredType: item.type,
      workerMetadata: item.metadata ?? null,
    };
  });
}

/** The second generation reports paths relative to `workspace-temp`, sometimes with the bucket in front. */
function stripBucket(raw: string): string {
  const prefix = `${SECOND_GENERATION_BUCKET}/`;
  return raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
}

/** True when a bucket-relative path lies inside the user's folder (`<user_id>/…`). */
function ownedBy(path: string, userId: string): boolean {
  const slash = path.indexOf('/');
  return slash > 0 && path.slice(0, slash).toLowerCase() === userId.toLowerCase();
}

function checkedPath(raw: string, field: string): string {
  try {
    return normalizeObjectPath(raw);
  } catch (err) {
    throw badInput(`Invalid ${field} "${raw}": ${(err as Error).message}`);
  }
}

/**
 * What an output is: its magic bytes when they are recognisable, otherwise
 * what the job produces (its format; the worker's declared `type` is not
 * trusted over it, since the WAN worker's second generation calls image
 * outputs `0.mp4` / `video/mp4`). Never the file name.
 */
export function outputContentType(head: Uint8Array | null, format: MediaFormat): string {
  const sniffed = head ? sniffContentType(head) : null;
  if (sniffed) return sniffed;
  return CONTENT_TYPE_OF_FORMAT[format];
}

const CONTENT_TYPE_OF_FORMAT: Record<MediaFormat, string> = { image: 'image/png', video: 'video/mp4' };

/**
 * The rule for worker uploads into `workspace-temp` (the media-type rule of
 * every bucket applies first): a path `<user_id>/<payload id>/<file>` naming a payload handed out for
 * that user's job that has not finished (so a finished job's outputs cannot
 * be overwritten). Returns why an upload is refused, or null when it may go
 * ahead. Other buckets keep their own rules.
 */
export async function refuseOutputUpload(deps: Pick<Deps, 'db'>, bucket: string, path: string): Promise<string | null> {
  if (bucket !== SECOND_GENERATION_BUCKET) return null;
  const [userId, payloadId, ...file] = path.split('/');
  const shape = `Upload outputs to ${bucket}/<user_id>/<payload id>/<file>, with the user_id and id of the job payload you were handed.`;
  if (file.length === 0 || !userId || !payloadId) return `The path "${path}" has no job folder. ${shape}`;
  const job = await jobOfPayloadId(deps.db, payloadId);
  if (!job || job.userId !== userId || payloadIdOf(job) !== payloadId) {
    return `No job of user ${userId} was handed out as payload ${payloadId}. ${shape}`;
  }
  if (TERMINAL_STATUSES.has(job.status)) {
    return `Job ${job.id} is already ${job.status}; its outputs can no longer be replaced.`;
  }
  return null;
}
