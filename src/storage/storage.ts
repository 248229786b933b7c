/** An object read back from storage. */
export interface StoredObject {
  body: Uint8Array;
  contentType: string | null;
}

export interface SignedUrl {
  url: string;
  expiresAt: Date;
}

/** How to send one upload: `PUT` the bytes with `headers`, or `POST` a multipart form of `fields` then the part `file`. */
export interface SignedUpload {
  url: string;
  method: 'PUT' | 'POST';
  headers: Record<string, string>;
  fields: Record<string, string>;
  expiresAt: Date;
}

/**
 * Object storage. Logical buckets (the job types' bucket names) are the first
 * path segment; `path` is relative to the bucket and must already be
 * validated with `normalizeObjectPath`.
 */
export interface Storage {
  readonly kind: 'local' | 's3';
  /** Throws `ObjectExistsError` when the object exists and `upsert` is false (the default, as in Supabase). */
  put(bucket: string, path: string, body: Uint8Array, opts?: { contentType?: string; upsert?: boolean }): Promise<void>;
  get(bucket: string, path: string): Promise<StoredObject | null>;
  /** The first `length` bytes of the object (fewer when it is shorter), or null when it does not exist. */
  readHead(bucket: string, path: string, length: number): Promise<Uint8Array | null>;
  exists(bucket: string, path: string): Promise<boolean>;
  delete(bucket: string, path: string): Promise<void>;
  /** A URL that downloads the object until `expiresAt`, without any other credentials. */
  signedGetUrl(bucket: string, path: string, ttlSeconds: number): Promise<SignedUrl>;
  /** A URL that accepts one `PUT` of the object's bytes until `expiresAt` (no size limit on S3: see `signedUpload`). */
  signedPutUrl(bucket: string, path: string, ttlSeconds: number, contentType: string): Promise<SignedUrl>;
  /**
   * A browser-usable upload of one object of exactly `contentType` and at
   * most `maxBytes`, enforced by whoever receives the bytes: a presigned POST
   * policy on S3 (`content-length-range`), the server itself on local disk.
   */
  signedUpload(bucket: string, path: string, opts: { ttlSeconds: number; contentType: string; maxBytes: number }): Promise<SignedUpload>;
  /** Resolves when the backend answers; rejects with a message naming what is wrong. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectExistsError extends Error {
  constructor(bucket: string, path: string) {
    super(`The object ${bucket}/${path} already exists; send "x-upsert: true" to replace it.`);
    this.name = 'ObjectExistsError';
  }
}

export class InvalidPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPathError';
  }
}

/** Presigned S3 URLs cannot outlive 7 days (SigV4 limit); local storage takes the same ceiling. */
export const MAX_TTL_SECONDS = 7 * 24 * 3600;

/**
 * A signed URL's lifetime in whole seconds, checked by one rule for both
 * backends, so callers see one behaviour; RangeError outside 1..7 days.
 */
export function checkTtl(ttlSeconds: number): number {
  const seconds = Math.round(ttlSeconds);
  if (!Number.isFinite(ttlSeconds) || seconds < 1 || seconds > MAX_TTL_SECONDS) {
    throw new RangeError(`A signed URL's lifetime must be between 1 and ${MAX_TTL_SECONDS} seconds; got ${ttlSeconds}.`);
  }
  return seconds;
}
