import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { AccessDenied, principalFrom, requireUser, type UserPrincipal } from '../auth/principal.js';
import { AuthError, type Auth } from '../auth/tokens.js';
import { JOB_TYPES } from '../vocabulary.js';
import type { Deps } from '../resolvers/deps.js';
import { DomainError, type ErrorCode } from '../resolvers/errors.js';
import type { JobView } from '../resolvers/jobView.js';
import { queueJob, type QueueJobResult } from '../resolvers/queueJob.js';
import type { QueueJobRequest } from '../resolvers/validateJob.js';
import { rateLimitMessage, type RateDecision } from '../limits/rateLimiter.js';
import { readLimited } from './body.js';
import { restrictCorsHeaders } from './cors.js';
import { json, legacyError } from './respond.js';

/**
 * The legacy system's client REST door (the legacy API reference, "Queue Job"):
 * `POST /functions/v1/queue-job`. A thin adapter over `queueJob()`: it maps
 * the legacy system's request body to a QueueJobRequest, the result to the legacy system's
 * response, and domain errors to the legacy system's error shape. No domain rules here.
 *
 * Status codes: 400 bad job type or parameters (and content-policy refusals,
 * as the legacy system answers every refused request with 400), 401 missing or invalid
 * token, 402 not enough credits (the legacy system had no credit check; 402 tells a
 * client "pay", and legacy clients treat any non-2xx as an error), 403 worker
 * tokens, 405 other methods, 413 bodies over 1 MiB, 500 anything unexpected
 * (logged with an error id; the answer names only the id).
 */
export const QUEUE_JOB_PATH = '/functions/v1/queue-job';

/** The CORS headers of the legacy system's edge functions, on every answer of this path. */
export const LEGACY_CORS_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Headers': 'authorization, x-client-info, apikey, content-type',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
});

const MAX_BODY_BYTES = 1024 * 1024;

export interface RestRoutesOptions {
  deps: Deps;
  auth: Auth;
  logger: Logger;
  /** CORS_ORIGINS; null (unset) keeps the legacy "*". */
  corsOrigins?: readonly string[] | null;
}

/** The legacy system's `job` object: snake_case columns of the jobs table. */
export interface LegacyJob {
  id: string;
  user_id: string;
  job_type: string;
  format: string;
  quality: string;
  model_type: string;
  status: string;
  prompt: string;
  project_id: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

export interface LegacyQueueJobResponse {
  success: true;
  job: LegacyJob;
  queueLength: number;
  modelVariant: string;
  isSDXL: boolean;
  negativePromptSupported: boolean;
}

const ERROR_TITLES: Record<ErrorCode, string> = {
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  BAD_USER_INPUT: 'Invalid parameters',
  CONTENT_POLICY: 'Content policy violation',
  INSUFFICIENT_CREDITS: 'Insufficient credits',
  RATE_LIMITED: 'Too many requests',
  INTERNAL_SERVER_ERROR: 'Internal server error',
};

/** Names the domain uses (GraphQL input fields) → the legacy request's keys. */
const LEGACY_FIELDS: Record<string, string> = {
  prompt: 'metadata.prompt',
  numImages: 'metadata.num_images',
  seed: 'metadata.seed',
  idempotencyKey: 'Idempotency-Key',
  webhook: 'webhook',
  webhookEvents: 'webhook_events',
};

/** Where each reference of the request came from, to name it in errors. */
interface ReferenceSource {
  url: string;
  type: string;
  strength: string;
}

class RequestShapeError extends Error {
  constructor(
    message: string,
    readonly field?: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * A yoga plugin serving the legacy system's REST path. It must be a plugin of its own
 * (not only a route in app.ts's `onRequest`): yoga's built-in CORS answers
 * every OPTIONS with an empty 204 before user plugins run, and rewrites the
 * CORS headers of responses to requests that carry an Origin; the
 * `onResponse` hook here puts the legacy system's preflight answer and headers back.
 */
export function restPlugin(opts: RestRoutesOptions): Plugin {
  const handle = restRoutes(opts);
  return {
    async onRequest({ request, url, endResponse }) {
      const answer = handle(request, url);
      if (answer) endResponse(await answer);
    },
    onResponse({ request, response, setResponse }) {
      const path = new URL(request.url, 'http://localhost').pathname;
      if (path !== QUEUE_JOB_PATH) return;
      const origin = request.headers.get('origin');
      if (request.method === 'OPTIONS') {
        const answer = preflight();
        restrictCorsHeaders(answer.headers, origin, opts.corsOrigins ?? null);
        setResponse(answer);
        return;
      }
      // Yoga's CORS echoes the Origin and adds Allow-Credentials; the legacy system answers "*".
      const headers = new Headers(response.headers);
      for (const name of ['Access-Control-Allow-Credentials', 'Access-Control-Expose-Headers', 'Access-Control-Max-Age', 'Vary']) {
        headers.delete(name);
      }
      for (const [name, value] of Object.entries(LEGACY_CORS_HEADERS)) headers.set(name, value);
      restrictCorsHeaders(headers, origin, opts.corsOrigins ?? null);
      setResponse(new Response(response.body, { status: response.status, statusText: response.statusText, headers }));
    },
  };
}

/** A refusal by the rate limit, in the legacy system's error shape, with retry-after. */
export function restRateLimited(
  _request: Request,
  url: URL,
  decision: Extract<RateDecision, { allowed: false }>,
): Response | null {
  if (url.pathname !== QUEUE_JOB_PATH) return null;
  return fail(
    429,
    'RATE_LIMITED',
    rateLimitMessage(decision),
    { limit: decision.limit, retryAfterSeconds: decision.retryAfterSeconds, retryAt: decision.retryAt.toISOString() },
    { 'retry-after': String(decision.retryAfterSeconds) },
  );
}

function preflight(): Response {
  return new Response('ok', { status: 200, headers: { ...LEGACY_CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8' } });
}

/** Returns a handler for the legacy system's REST path, or null for any other path. Never throws. */
export function restRoutes(opts: RestRoutesOptions): (request: Request, url: URL) => Promise<Response> | null {
  const { deps, auth, logger } = opts;

  /** The calling user (the same tokens the GraphQL door accepts), or the refusal to send. */
  async function principalOf(request: Request): Promise<UserPrincipal | Response> {
    try {
      return requireUser(await principalFrom(auth, request), 'rest');
    } catch (err) {
      if (err instanceof AuthError) return fail(401, 'UNAUTHENTICATED', err.message);
      if (err instanceof AccessDenied) return fail(err.code === 'FORBIDDEN' ? 403 : 401, err.code, err.message);
      throw err;
    }
  }

  async function post(request: Request): Promise<Response> {
    const principal = await principalOf(request);
    if (principal instanceof Response) return principal;

    let refs: ReferenceSource[] = [];
    let req: QueueJobRequest;
    try {
      const body = await readJson(request);
      ({ req, refs } = toQueueJobRequest(body, request.headers.get('idempotency-key')));
    } catch (err) {
      if (!(err instanceof RequestShapeError)) throw err;
      return fail(err.status, 'BAD_USER_INPUT', err.message, err.field ? { field: err.field } : {});
    }

    let result: QueueJobResult;
    try {
      result = await queueJob(deps, principal.id, req);
    } catch (err) {
      if (err instanceof DomainError) return domainFailure(err, refs);
      throw err;
    }
    return json(toLegacyResponse(result), 200, { ...LEGACY_CORS_HEADERS });
  }

  return (request, url) => {
    if (url.pathname !== QUEUE_JOB_PATH) return null;
    return (async () => {
      try {
        if (request.method === 'OPTIONS') return preflight();
        if (request.method !== 'POST') {
          return fail(405, 'METHOD_NOT_ALLOWED', `Use POST for ${QUEUE_JOB_PATH}.`, {}, { allow: 'POST, OPTIONS' });
        }
        return await post(request);
      } catch (err) {
        const errorId = randomUUID();
        logger.error({ err, errorId, path: url.pathname }, 'unexpected error');
        return fail(500, 'INTERNAL_SERVER_ERROR', `Try again; if it keeps happening, report error id ${errorId}.`, { errorId });
      }
    })();
  };
}

function fail(
  status: number,
  code: ErrorCode | 'METHOD_NOT_ALLOWED',
  details: string,
  debug: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const title = code === 'METHOD_NOT_ALLOWED' ? 'Method not allowed' : ERROR_TITLES[code];
  return legacyError(status, title, details, code, debug, { ...LEGACY_CORS_HEADERS, ...headers });
}

/** A DomainError in the legacy system's shape, its field named as the legacy system's request names it. */
function domainFailure(err: DomainError, refs: ReferenceSource[]): Response {
  const { code: _code, ...extensions } = err.extensions as Record<string, unknown>;
  const field = typeof extensions.field === 'string' ? extensions.field : undefined;
  const legacyField = field && legacyFieldOf(field, refs);
  let details = err.message;
  if (field && legacyField && details.startsWith(field)) details = legacyField + details.slice(field.length);
  const debug = { ...extensions, ...(legacyField ? { field: legacyField } : {}) };
  const title = field === 'jobType' ? 'Invalid job type' : ERROR_TITLES[err.code];
  const retry: Record<string, string> = typeof extensions.retryAfterSeconds === 'number' ? { 'retry-after': String(extensions.retryAfterSeconds) } : {};
  return legacyError(err.status, title, details, err.code, debug, { ...LEGACY_CORS_HEADERS, ...retry });
}

function legacyFieldOf(field: string, refs: ReferenceSource[]): string | undefined {
  const m = /^references\[(\d+)\](?:\.(url|type|strength))?$/.exec(field);
  if (m) {
    const ref = refs[Number(m[1])];
    return ref ? ref[(m[2] ?? 'url') as keyof ReferenceSource] : undefined;
  }
  return LEGACY_FIELDS[field] ?? field;
}

/** Reads the body as JSON, refusing more than MAX_BODY_BYTES without buffering it. */
async function readJson(request: Request): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  const tooLarge = () => new RequestShapeError(`The request body is limited to ${MAX_BODY_BYTES} bytes.`, undefined, 413);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = await readLimited(request, MAX_BODY_BYTES);
  if (!bytes) throw tooLarge();
  const text = Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestShapeError(
      'The body must be a JSON object: {"jobType": "...", "metadata": {"prompt": "..."}}.',
    );
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = (v: unknown) => v !== undefined && v !== null;

/**
 * The legacy system's body → QueueJobRequest. Shapes only; every rule (allowed values,
 * ranges, prices) is queueJob's. The client's `metadata.credits` is ignored:
 * the price comes from the catalog. Beyond the legacy system's keys it also takes a
 * top-level `prompt` when `metadata.prompt` is absent, the WAN fleet's
 * `metadata.start_reference_image_url`/`end_reference_image_url`, an
 * `Idempotency-Key` header, and `webhook` / `webhook_events` (as queueJob's
 * `webhook` / `webhookEvents`).
 */
export function toQueueJobRequest(
  body: unknown,
  idempotencyKey: string | null = null,
): { req: QueueJobRequest; refs: ReferenceSource[] } {
  if (!isRecord(body)) {
    throw new RequestShapeError('The body must be a JSON object: {"jobType": "...", "metadata": {"prompt": "..."}}.');
  }
  if (typeof body.jobType !== 'string' || body.jobType === '') {
    throw new RequestShapeError(`jobType is required. Valid job types: ${JOB_TYPES.join(', ')}.`, 'jobType');
  }
  if (given(body.metadata) && !isRecord(body.metadata)) {
    throw new RequestShapeError('metadata must be a JSON object.', 'metadata');
  }
  const meta: Record<string, unknown> = isRecord(body.metadata) ? body.metadata : {};
  for (const key of ['projectId', 'videoId', 'imageId'] as const) {
    if (given(body[key]) && typeof body[key] !== 'string') throw new RequestShapeError(`${key} must be a string.`, key);
  }
  if (given(body.webhook) && typeof body.webhook !== 'string') throw new RequestShapeError('webhook must be a string (an https URL).', 'webhook');
  if (given(body.webhook_events) && (!Array.isArray(body.webhook_events) || body.webhook_events.some((e) => typeof e !== 'string'))) {
    throw new RequestShapeError('webhook_events must be an array of event names: processing, completed, failed, cancelled.', 'webhook_events');
  }
  for (const key of ['reference_image_url', 'reference_type', 'start_reference_image_url', 'end_reference_image_url']) {
    if (given(meta[key]) && typeof meta[key] !== 'string') {
      throw new RequestShapeError(`metadata.${key} must be a string.`, `metadata.${key}`);
    }
  }

  // One image reference; a URL without a type is the legacy single reference, a style reference.
  // A type or strength without a URL is ignored, as the legacy system ignores it.
  const references: NonNullable<QueueJobRequest['references']> = [];
  const refs: ReferenceSource[] = [];
  const strength = given(meta.reference_strength) ? (meta.reference_strength as number) : null;
  if (given(meta.reference_image_url) && meta.reference_image_url !== '') {
    references.push({
      url: meta.reference_image_url as string,
      type: given(meta.reference_type) && meta.reference_type !== '' ? (meta.reference_type as string) : 'style',
      strength,
    });
    refs.push({
      url: 'metadata.reference_image_url',
      type: 'metadata.reference_type',
      strength: 'metadata.reference_strength',
    });
  }
  // The WAN fleet's first/last frame references (worker-protocol.md §2).
  for (const [key, type] of [
    ['start_reference_image_url', 'start_frame'],
    ['end_reference_image_url', 'end_frame'],
  ] as const) {
    if (!given(meta[key]) || meta[key] === '') continue;
    references.push({ url: meta[key] as string, type, strength });
    refs.push({ url: `metadata.${key}`, type: `metadata.${key}`, strength: 'metadata.reference_strength' });
  }

  const prompt = given(meta.prompt) ? meta.prompt : body.prompt;
  const req: QueueJobRequest = {
    jobType: body.jobType,
    // Wrong types pass through on purpose: queueJob's validation names the allowed values.
    prompt: prompt as string,
    numImages: given(meta.num_images) ? (meta.num_images as number) : null,
    seed: given(meta.seed) ? (meta.seed as number) : null,
    references,
    projectId: given(body.projectId) ? (body.projectId as string) : null,
    videoId: given(body.videoId) ? (body.videoId as string) : null,
    imageId: given(body.imageId) ? (body.imageId as string) : null,
    idempotencyKey,
    webhook: given(body.webhook) ? (body.webhook as string) : null,
    webhookEvents: given(body.webhook_events) ? (body.webhook_events as string[]) : null,
  };
  return { req, refs };
}

/** queueJob's result → the legacy system's response body. */
export function toLegacyResponse(result: QueueJobResult): LegacyQueueJobResponse {
  const { job, entry } = result;
  return {
    success: true,
    job: legacyJob(job, entry.modelType),
    queueLength: result.queueLength,
    modelVariant: entry.modelVariant,
    isSDXL: entry.queue === 'sdxl_queue',
    negativePromptSupported: entry.negativePromptSupported,
  };
}

function legacyJob(job: JobView, modelType: string): LegacyJob {
  return {
    id: job.id,
    user_id: job.userId,
    job_type: job.jobType,
    format: job.format,
    quality: job.quality,
    model_type: modelType,
    status: job.status,
    prompt: job.prompt,
    project_id: job.projectId,
    metadata: job.metadata,
    created_at: job.createdAt,
  };
}
