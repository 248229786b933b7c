import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink, link } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { validateBucketName, validateObjectPath } from './paths.js';
import { checkTtl, InvalidPathError, ObjectExistsError, type SignedUrl, type Storage, type StoredObject } from './storage.js';

/** Options of {@link createLocalStorage}. */
export interface LocalStorageOptions {
  /** Root folder (`DATA_DIR`). Objects live at `<dir>/<bucket>/<path>`; created when missing. */
  dir: string;
  /**
   * Origin the server is reached at (`PUBLIC_URL`), e.g. `http://localhost:4000`.
   * Signed URLs are `<publicUrl>/storage/v1/object/...`; the server must route
   * those requests, with that path at the root, to `handleSignedRequest` (src/http/signedUrls.ts).
   */
  publicUrl: string;
  /** HMAC-SHA256 key for signed URL tokens. Keep it secret; changing it invalidates outstanding URLs. */
  signingKey: Uint8Array | string;
  /** Largest body a signed PUT URL accepts, in bytes (default 10 MiB); larger uploads get 413. */
  maxUploadBytes?: number;
}

/** The answer to "may this request use this signed URL?": its expiry, or why not. */
export type SignatureCheck = { ok: true; expiresMs: number } | { ok: false; reason: string };

/**
 * Local-disk storage, plus what the HTTP handler that serves its signed URLs
 * (src/http/signedUrls.ts) needs: the signature check and the upload limit.
 */
export type LocalStorage = Storage & {
  /** Checks a signed URL's token for one method, object and (for PUT) content type. */
  verifySignedUrl(token: string | null, method: 'GET' | 'PUT', bucket: string, path: string, contentType: string): SignatureCheck;
  /** Largest body a signed PUT URL accepts, in bytes. */
  readonly maxUploadBytes: number;
};

/** Where signed download and upload URLs point; src/http/signedUrls.ts serves these paths. */
export const SIGNED_GET_PREFIX = '/storage/v1/object/sign/';
export const SIGNED_PUT_PREFIX = '/storage/v1/object/upload/sign/';
const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const TOKEN_VERSION = 'v1';

/**
 * Object storage on the local file system (used when `S3_BUCKET` is unset).
 *
 * Layout: bytes at `<dir>/<bucket>/<path>`, the content type as JSON at
 * `<dir>/.meta/<bucket>/<path>` (a parallel tree of the same shape, so it can
 * never collide with object names), temporary files in `<dir>/.tmp/`.
 * Bucket names cannot start with ".", so they never clash with those folders.
 * Every write goes to a temp file that is then renamed (or hard-linked) into
 * place, so readers never see half-written objects.
 */
export function createLocalStorage(opts: LocalStorageOptions): LocalStorage {
  const root = resolve(opts.dir);
  const metaRoot = join(root, '.meta');
  const tmpRoot = join(root, '.tmp');
  const publicUrl = opts.publicUrl.replace(/\/+$/, '');
  const key = typeof opts.signingKey === 'string' ? Buffer.from(opts.signingKey, 'utf8') : Buffer.from(opts.signingKey);
  const maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  if (key.length === 0) throw new Error('Local storage needs a non-empty signing key.');

  /** Validated absolute locations of an object's bytes and metadata. */
  function locate(bucket: string, path: string): { data: string; meta: string } {
    validateBucketName(bucket);
    validateObjectPath(path);
    const data = resolve(root, bucket, ...path.split('/'));
    const meta = resolve(metaRoot, bucket, ...path.split('/'));
    // Defence in depth: validation already forbids escapes, but never trust one layer.
    if (!data.startsWith(join(root, bucket) + sep) || !meta.startsWith(join(metaRoot, bucket) + sep)) {
      throw new InvalidPathError(`The object path "${path}" resolves outside its bucket.`);
    }
    return { data, meta };
  }

  /** Writes `bytes` to a fresh temp file (flushed to disk) and returns its name. */
  async function writeTemp(bytes: Uint8Array): Promise<string> {
    await mkdir(tmpRoot, { recursive: true });
    const tmp = join(tmpRoot, `${randomUUID()}.tmp`);
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      // Flush before the rename so a crash cannot leave a renamed-but-empty file.
      await handle.datasync();
    } catch (err) {
      await handle.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    return tmp;
  }

  async function put(
    bucket: string,
    path: string,
    body: Uint8Array,
    putOpts: { contentType?: string; upsert?: boolean } = {},
  ): Promise<void> {
    const { data, meta } = locate(bucket, path);
    const metaBytes = Buffer.from(JSON.stringify({ contentType: putOpts.contentType ?? null }));
    const tmpData = await writeTemp(body);
    const tmpMeta = await writeTemp(metaBytes);
    try {
      await mkdir(dirname(data), { recursive: true });
      await mkdir(dirname(meta), { recursive: true });
      if (putOpts.upsert) {
        // Metadata first: whoever sees the new bytes also finds a content type.
        await rename(tmpMeta, meta);
        await rename(tmpData, data);
      } else {
        // link() fails with EEXIST when the name is taken: an atomic "create if
        // absent", also between processes. The metadata follows only once the
        // name is ours, so a refused put never touches the existing object.
        try {
          await link(tmpData, data);
        } catch (err) {
          if (errCode(err) === 'EEXIST') throw new ObjectExistsError(bucket, path);
          throw err;
        }
        await rename(tmpMeta, meta);
      }
    } finally {
      await rm(tmpData, { force: true });
      await rm(tmpMeta, { force: true });
    }
  }

  async function get(bucket: string, path: string): Promise<StoredObject | null> {
    const { data, meta } = locate(bucket, path);
    let body: Buffer;
    try {
      body = await readFile(data);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: await readContentType(meta) };
  }

  async function readHead(bucket: string, path: string, length: number): Promise<Uint8Array | null> {
    const { data } = locate(bucket, path);
    let handle;
    try {
      handle = await open(data, 'r');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    try {
      const buffer = Buffer.alloc(Math.max(0, length));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
    } finally {
      await handle.close();
    }
  }

  async function readContentType(meta: string): Promise<string | null> {
    try {
      const parsed = JSON.parse(await readFile(meta, 'utf8')) as { contentType?: unknown };
      return typeof parsed.contentType === 'string' ? parsed.contentType : null;
    } catch {
      // Missing or unreadable metadata only loses the type, never the object.
      return null;
    }
  }

  async function exists(bucket: string, path: string): Promise<boolean> {
    const { data } = locate(bucket, path);
    try {
      return (await stat(data)).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async function del(bucket: string, path: string): Promise<void> {
    const { data, meta } = locate(bucket, path);
    // Bytes first: once they are gone the object is gone; a leftover meta file is harmless.
    for (const file of [data, meta]) {
      try {
        await unlink(file);
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    }
  }

  function sign(method: 'GET' | 'PUT', bucket: string, path: string, expiresMs: number, contentType: string): Buffer {
    // Newline-separated fields: validated buckets and paths cannot contain "\n",
    // so two different requests can never produce the same signed string.
    const payload = [TOKEN_VERSION, method, bucket, path, String(expiresMs), contentType].join('\n');
    return createHmac('sha256', key).update(payload, 'utf8').digest();
  }

  function makeSignedUrl(method: 'GET' | 'PUT', bucket: string, path: string, ttlSeconds: number, contentType: string): SignedUrl {
    locate(bucket, path);
    const expiresMs = Date.now() + checkTtl(ttlSeconds) * 1000;
    const token = `${expiresMs}.${sign(method, bucket, path, expiresMs, contentType).toString('base64url')}`;
    const prefix = method === 'GET' ? SIGNED_GET_PREFIX : SIGNED_PUT_PREFIX;
    const encoded = [bucket, ...path.split('/')].map(encodeURIComponent).join('/');
    return { url: `${publicUrl}${prefix}${encoded}?token=${encodeURIComponent(token)}`, expiresAt: new Date(expiresMs) };
  }

  /** Checks a token; returns its expiry (ms) or a reason for refusal. */
  function verify(
    token: string | null,
    method: 'GET' | 'PUT',
    bucket: string,
    path: string,
    contentType: string,
  ): SignatureCheck {
    const match = token ? /^(\d{1,16})\.([A-Za-z0-9_-]{43})$/.exec(token) : null;
    if (!match) return { ok: false, reason: 'The URL has no valid "token" parameter; request a new signed URL.' };
    const expiresMs = Number(match[1]);
    // Compare the encoded text, not decoded bytes: base64url decoding ignores the
    // last character's spare bits, which would let several tokens pass as one.
    const expected = Buffer.from(sign(method, bucket, path, expiresMs, contentType).toString('base64url'), 'ascii');
    const given = Buffer.from(match[2]!, 'ascii');
    // Check the signature before the expiry, so nothing is revealed about forged tokens.
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, reason: 'The signature does not match this URL (wrong path, method, content type or a tampered token).' };
    }
    if (Date.now() >= expiresMs) {
      return { ok: false, reason: `The signed URL expired at ${new Date(expiresMs).toISOString()}; request a new one.` };
    }
    return { ok: true, expiresMs };
  }

  async function signedPutUrl(bucket: string, path: string, ttlSeconds: number, contentType: string): Promise<SignedUrl> {
    // Trimmed because the handler compares against the trimmed request header.
    const type = contentType.trim();
    if (!type || CONTROL_OR_NEWLINE.test(type)) {
      throw new TypeError('A signed PUT URL needs a content type without control characters, e.g. "image/png".');
    }
    return makeSignedUrl('PUT', bucket, path, ttlSeconds, type);
  }

  return {
    kind: 'local',
    put,
    get,
    readHead,
    exists,
    delete: del,
    signedGetUrl: async (bucket, path, ttlSeconds) => makeSignedUrl('GET', bucket, path, ttlSeconds, ''),
    signedPutUrl,
    async signedUpload(bucket, path, { ttlSeconds, contentType, maxBytes }) {
      // The handler enforces one limit for every signed PUT; a URL may promise less, never more.
      if (maxBytes > maxUploadBytes) {
        throw new RangeError(`This storage accepts signed uploads of at most ${maxUploadBytes} bytes; asked for ${maxBytes}.`);
      }
      const signed = await signedPutUrl(bucket, path, ttlSeconds, contentType);
      return { ...signed, method: 'PUT', headers: { 'content-type': contentType.trim() }, fields: {} };
    },
    async ping() {
      try {
        await mkdir(root, { recursive: true });
        const probe = await writeTemp(Buffer.from('ping'));
        await unlink(probe);
      } catch (err) {
        throw new Error(`Local storage directory ${root} (DATA_DIR) is not writable: ${(err as Error).message}`);
      }
    },
    async close() {
      // Nothing to release: every operation opens and closes its own files.
    },
    verifySignedUrl: verify,
    maxUploadBytes,
  };
}

// eslint-disable-next-line no-control-regex
const CONTROL_OR_NEWLINE = /[\u0000-\u001f\u007f]/;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** ENOENT, or ENOTDIR/EISDIR when part of the path is a file or the name is a folder: "no such object". */
function isMissing(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}
