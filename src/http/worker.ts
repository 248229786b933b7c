import type { Logger } from 'pino';
import { verifyCallbackSignature } from '../auth/callbackSignature.js';
import { AccessDenied, principalFrom, requireWorker, type WorkerPrincipal } from '../auth/principal.js';
import { AuthError, type Auth, type Principal } from '../auth/tokens.js';
import { BUCKETS, CATALOG, QUEUES } from '../resolvers/catalog.js';
import { applyCallback, parseCallback } from '../resolvers/callback.js';
import type { Deps } from '../resolvers/deps.js';
import { DomainError } from '../resolvers/errors.js';
import { waitingCount } from '../resolvers/fairOrder.js';
import { refuseOutputUpload } from '../resolvers/outputs.js';
import { popJob } from '../resolvers/pop.js';
import { SNIFF_BYTES, sniffContentType } from '../storage/contentType.js';
import { MEDIA_TYPE_LIST, mediaTypeOf } from '../storage/mediaTypes.js';
import { normalizeObjectPath } from '../storage/paths.js';
import { InvalidPathError, ObjectExistsError } from '../storage/storage.js';
import { json, legacyError } from './respond.js';

/**
 * The fleet's endpoints (worker-protocol.md): thin adapters over resolvers/,
 * answering in the shapes of Upstash (pop), Supabase Storage (upload) and the
 * legacy system's job-callback edge function.
 */
export interface WorkerRoutesOptions {
  deps: Deps;
  auth: Auth;
  maxUploadBytes: number;
  logger: Logger;
  /** `CALLBACK_HMAC_SECRET`: when set, a callback's `X-Callback-Signature`, if present, must match. */
  callbackHmacSecret?: string;
}

type Handler = (request: Request, url: URL, principal: Principal) => Promise<Response>;

/** Returns a handler for worker paths, or null for any other path. */
export function workerRoutes(opts: WorkerRoutesOptions): (request: Request, url: URL) => Promise<Response> | null {
  const { deps, auth } = opts;

  /** The calling worker, or the refusal to send. The fleet always sends "Bearer <token>". */
  async function worker(request: Request): Promise<WorkerPrincipal | Response> {
    let principal: Principal | null;
    try {
      principal = await principalFrom(auth, request, { bare: false });
    } catch (err) {
      return json({ error: err instanceof AuthError ? err.message : 'Invalid token.' }, 401);
    }
    try {
      return requireWorker(principal);
    } catch (err) {
      if (err instanceof AccessDenied) return json({ error: err.message }, err.code === 'FORBIDDEN' ? 403 : 401);
      throw err;
    }
  }

  const queueOf = (name: string) => (QUEUES as readonly string[]).includes(name) ? name : null;
  const unknownQueue = (name: string) =>
    json({ error: `Unknown queue "${name}": use one of ${QUEUES.join(', ')}.` }, 400);

  const rpop: Handler = async (_request, url, principal) => {
    const name = decodeURIComponent(url.pathname.slice('/rpop/'.length));
    const queue = queueOf(name);
    if (!queue) return unknownQueue(name);
    if (principal.id) deps.scheduler.polled(queue, principal.id);
    return json({ result: await popJob(deps, queue) });
  };

  // The jobs waiting in the queue of record (the database), not the few in the Redis window.
  const llen: Handler = async (_request, url) => {
    const name = decodeURIComponent(url.pathname.slice('/llen/'.length));
    const queue = queueOf(name);
    if (!queue) return unknownQueue(name);
    return json({ result: await waitingCount(deps.db, queue) });
  };

  const upload: Handler = async (request, url) => {
    const rest = url.pathname.slice('/storage/v1/object/'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (!BUCKETS.includes(bucket)) {
      return storageError(400, 'InvalidBucket', `Unknown bucket "${bucket}": use one of ${BUCKETS.join(', ')}.`);
    }
    let path: string;
    try {
      path = normalizeObjectPath(slash < 0 ? '' : rest.slice(slash + 1));
    } catch (err) {
      if (err instanceof InvalidPathError) return storageError(400, 'InvalidKey', err.message);
      throw err;
    }
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (declared > opts.maxUploadBytes) {
      // The body stays unread, so the connection cannot be reused: say so.
      const res = storageError(413, 'EntityTooLarge', `Uploads are limited to ${opts.maxUploadBytes} bytes (MAX_UPLOAD_BYTES).`);
      res.headers.set('connection', 'close');
      return res;
    }
    let body: Uint8Array;
    let contentType: string | undefined;
    const type = request.headers.get('content-type') ?? '';
    if (type.startsWith('multipart/form-data')) {
      const form = await request.formData().catch(() => null);
      const file = form?.get('file');
      if (!file || typeof file === 'string') {
        return storageError(400, 'InvalidRequest', 'A multipart upload needs one file part named "file".');
      }
      body = new Uint8Array(await file.arrayBuffer());
      contentType = file.type || undefined;
    } else {
      body = new Uint8Array(await request.arrayBuffer());
      contentType = type.split(';')[0].trim() || undefined;
    }
    // No worker means to store nothing: an empty body is a worker bug (or a
    // truncated request), and storing it would hand users a broken asset.
    if (body.byteLength === 0) {
      return storageError(400, 'EmptyUpload', 'The upload is empty: send the file\'s bytes as the body, or as the multipart part "file".');
    }
    if (body.byteLength > opts.maxUploadBytes) {
      return storageError(413, 'EntityTooLarge', `Uploads are limited to ${opts.maxUploadBytes} bytes (MAX_UPLOAD_BYTES).`);
    }
    // Outputs are images and videos; anything else (HTML, SVG, scripts) could
    // be served back as a page, so it is refused before anything is stored.
    const media = mediaTypeOf(contentType, path);
    if (!media) {
      return storageError(
        415,
        'invalid_mime_type',
        `Content type "${contentType ?? '(none)'}" is not accepted: upload images or videos (${MEDIA_TYPE_LIST}), declared in Content-Type or by the file extension.`,
      );
    }
    const refusal = await refuseOutputUpload(deps, bucket, path);
    if (refusal) return storageError(400, 'InvalidKey', refusal);
    // Stored (and later served) as what the bytes are when they say: a worker
    // may label a PNG "video/mp4" (the second generation's WAN worker does).
    contentType = sniffContentType(body.subarray(0, SNIFF_BYTES)) ?? media;
    const upsert = request.method === 'PUT' || request.headers.get('x-upsert') === 'true';
    try {
      await deps.storage.put(bucket, path, body, { contentType, upsert });
    } catch (err) {
      if (err instanceof ObjectExistsError) return storageError(400, 'Duplicate', err.message, '409');
      throw err;
    }
    return json({ Key: `${bucket}/${path}`, Id: crypto.randomUUID() });
  };

  const callback: Handler = async (request) => {
    const raw = await request.text();
    const signature = request.headers.get('x-callback-signature');
    if (opts.callbackHmacSecret && signature !== null && !verifyCallbackSignature(opts.callbackHmacSecret, raw, signature)) {
      return legacyError(
        401,
        'Invalid callback signature',
        'X-Callback-Signature does not match the body: sign the exact body with HMAC-SHA256 and CALLBACK_HMAC_SECRET, or send no signature.',
        'SignatureError',
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      return legacyError(400, 'Invalid JSON body', 'Send the callback as a JSON object.', 'SyntaxError');
    }
    try {
      const result = await applyCallback(deps, parseCallback(body));
      const entry = CATALOG[result.job.jobType];
      return json({
        success: true,
        message: result.superseded
          ? 'This attempt was superseded (the job was handed to another worker); callback acknowledged without changes'
          : result.changed
            ? 'Job callback processed successfully with standardized parameters'
            : `Job is already ${result.job.status}; callback acknowledged without changes`,
        debug: {
          job_id: result.job.id,
          jobStatus: result.job.status,
          jobType: result.job.jobType,
          format: entry.format,
          quality: entry.quality,
          isSDXL: entry.queue === 'sdxl_queue',
          isEnhanced: entry.enhanced,
          assetsProcessed: result.assetsProcessed,
          processingTimestamp: new Date().toISOString(),
        },
      });
    } catch (err) {
      if (err instanceof DomainError) {
        return legacyError(err.code === 'NOT_FOUND' ? 404 : 400, err.code === 'NOT_FOUND' ? 'Job not found' : 'Invalid callback', err.message, err.code);
      }
      throw err;
    }
  };

  const routes: Array<[RegExp, string[], Handler]> = [
    [/^\/rpop\/[^/]+$/, ['GET', 'POST'], rpop],
    [/^\/llen\/[^/]+$/, ['GET', 'POST'], llen],
    [/^\/storage\/v1\/object\/[^/]+(\/.*)?$/, ['POST', 'PUT'], upload],
    [/^\/functions\/v1\/job-callback$/, ['POST'], callback],
  ];

  return (request, url) => {
    const route = routes.find(([re]) => re.test(url.pathname));
    if (!route) return null;
    const [, methods, handler] = route;
    return (async () => {
      if (!methods.includes(request.method)) {
        return json({ error: `Use ${methods.join(' or ')} for ${url.pathname}.` }, 405, { allow: methods.join(', ') });
      }
      const principal = await worker(request);
      if (principal instanceof Response) return principal;
      return handler(request, url, principal);
    })();
  };
}

/** Supabase Storage's error shape. */
function storageError(status: number, error: string, message: string, statusCode = String(status)): Response {
  return json({ statusCode, error, message }, status);
}
