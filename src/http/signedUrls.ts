import { normalizeObjectPath, validateBucketName } from '../storage/paths.js';
import { SIGNED_GET_PREFIX, SIGNED_PUT_PREFIX, type LocalStorage } from '../storage/local.js';
import { downloadHeaders } from '../storage/mediaTypes.js';
import { InvalidPathError } from '../storage/storage.js';
import { readLimited } from './body.js';

/**
 * The HTTP side of local-disk storage's signed URLs, in the shapes of
 * Supabase Storage: GET/HEAD downloads under `/storage/v1/object/sign/`,
 * one PUT upload under `/storage/v1/object/upload/sign/`. Answers such a
 * request, or returns `null` for any other path (so the caller can route it
 * elsewhere). The bytes and the signatures stay in storage/local.ts.
 */
/**
 * A refused body is not read to its end, so the connection cannot carry
 * another request: saying so stops clients from reusing it (and failing).
 */
const TOO_LARGE = { Connection: 'close' };

/** The route `useRoutes` serves: local storage's signed URLs. */
export function signedUrlRoutes(storage: LocalStorage): (request: Request) => Promise<Response | null> {
  return (request) => handleSignedRequest(storage, request);
}

export async function handleSignedRequest(storage: LocalStorage, request: Request): Promise<Response | null> {
  const url = new URL(request.url);
  const kind = url.pathname.startsWith(SIGNED_GET_PREFIX) ? 'GET' : url.pathname.startsWith(SIGNED_PUT_PREFIX) ? 'PUT' : null;
  if (!kind) return null;

  const method = request.method.toUpperCase();
  const allowed = kind === 'GET' ? ['GET', 'HEAD'] : ['PUT'];
  if (!allowed.includes(method)) {
    return jsonError(405, 'MethodNotAllowed', `Use ${allowed.join(' or ')} on this signed URL.`, { Allow: allowed.join(', ') });
  }

  // The URL parser has already resolved any literal "."/".." segments, so
  // what is left is checked as a bucket plus a once-encoded object path.
  const rest = url.pathname.slice((kind === 'GET' ? SIGNED_GET_PREFIX : SIGNED_PUT_PREFIX).length);
  const slash = rest.indexOf('/');
  let bucket: string;
  let path: string;
  try {
    if (slash <= 0) throw new InvalidPathError('The URL must name a bucket and an object: .../<bucket>/<path>.');
    bucket = validateBucketName(normalizeBucketSegment(rest.slice(0, slash)));
    path = normalizeObjectPath(rest.slice(slash + 1));
  } catch (err) {
    if (err instanceof InvalidPathError) return jsonError(400, 'InvalidKey', err.message);
    throw err;
  }

  if (kind === 'GET') {
    const check = storage.verifySignedUrl(url.searchParams.get('token'), 'GET', bucket, path, '');
    if (!check.ok) return jsonError(403, 'InvalidSignature', check.reason);
    const object = await storage.get(bucket, path);
    if (!object) return jsonError(404, 'not_found', `The object ${bucket}/${path} does not exist.`);
    const maxAge = Math.max(0, Math.floor((check.expiresMs - Date.now()) / 1000));
    const headers = {
      ...downloadHeaders(object.contentType, path),
      'Content-Length': String(object.body.byteLength),
      'Cache-Control': `private, max-age=${maxAge}`,
    };
    // The bytes come from readFile, so they sit on a plain ArrayBuffer (never a SharedArrayBuffer).
    const body = object.body as Uint8Array<ArrayBuffer>;
    return new Response(method === 'HEAD' ? null : body, { status: 200, headers });
  }

  // PUT: the content type is part of the signature, exactly like a presigned
  // S3 PUT that signs Content-Type, so a different one is refused as a bad
  // signature (and both backends behave the same for clients).
  const contentType = (request.headers.get('content-type') ?? '').trim();
  const check = storage.verifySignedUrl(url.searchParams.get('token'), 'PUT', bucket, path, contentType);
  if (!check.ok) return jsonError(403, 'InvalidSignature', check.reason);

  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > storage.maxUploadBytes) {
    return jsonError(413, 'EntityTooLarge', `The upload is ${declared} bytes; the limit is ${storage.maxUploadBytes} bytes.`, TOO_LARGE);
  }
  const body = await readLimited(request, storage.maxUploadBytes);
  if (!body) return jsonError(413, 'EntityTooLarge', `The upload exceeds the limit of ${storage.maxUploadBytes} bytes.`, TOO_LARGE);
  await storage.put(bucket, path, body, { contentType, upsert: true });
  return new Response(JSON.stringify({ Key: `${bucket}/${path}` }), {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
  });
}

function normalizeBucketSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidPathError(`The bucket name "${raw}" has malformed percent-encoding.`);
  }
}

/** A Supabase-Storage-shaped error: `{"statusCode": "403", "error": "...", "message": "..."}`. */
function jsonError(status: number, error: string, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ statusCode: String(status), error, message }), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}
