import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { objectKey, validateBucketName, validateObjectPath } from './paths.js';
import { checkTtl, ObjectExistsError, type SignedUpload, type SignedUrl, type Storage, type StoredObject } from './storage.js';

/** Options of {@link createS3Storage}; each maps to one `S3_*` variable. */
export interface S3StorageOptions {
  /** `S3_ENDPOINT`: base URL of an S3-compatible store (MinIO, R2, s3rver...); omit for AWS. */
  endpoint?: string;
  /** `S3_REGION`, e.g. `us-east-1`. */
  region: string;
  /** `S3_BUCKET`: the one real bucket; logical buckets become key prefixes `<bucket>/<path>`. */
  bucket: string;
  /** `S3_ACCESS_KEY_ID`; with `secretAccessKey`. Both omitted → the SDK's default credential chain. */
  accessKeyId?: string;
  /** `S3_SECRET_ACCESS_KEY`. */
  secretAccessKey?: string;
  /** `S3_FORCE_PATH_STYLE`: `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, s3rver). */
  forcePathStyle?: boolean;
}

/** How long `ping()` waits for the store, so readiness checks fail fast. */
const PING_TIMEOUT_MS = 5_000;

/** Object storage in one S3 (or S3-compatible) bucket. */
export function createS3Storage(opts: S3StorageOptions): Storage {
  const config: S3ClientConfig = {
    region: opts.region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? false,
    // Since early 2025 the SDK adds CRC32 checksums to every request by default,
    // which many S3-compatible stores reject, and which presigns the checksum
    // of an EMPTY body into PUT URLs (breaking every real upload). Only send
    // checksums where the API demands them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (opts.accessKeyId && opts.secretAccessKey) {
    config.credentials = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
  }
  const client = new S3Client(config);
  const Bucket = opts.bucket;
  // Flipped off the first time the store answers 501 to If-None-Match.
  let conditionalPuts = true;

  function keyOf(bucket: string, path: string): string {
    return objectKey(validateBucketName(bucket), validateObjectPath(path));
  }

  async function exists(bucket: string, path: string): Promise<boolean> {
    try {
      await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(bucket, path) }));
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw err;
    }
  }

  async function put(
    bucket: string,
    path: string,
    body: Uint8Array,
    putOpts: { contentType?: string; upsert?: boolean } = {},
  ): Promise<void> {
    const Key = keyOf(bucket, path);
    const base = { Bucket, Key, Body: body, ContentType: putOpts.contentType, ContentLength: body.byteLength };
    if (putOpts.upsert) {
      await client.send(new PutObjectCommand(base));
      return;
    }
    // AWS S3 (since 2024), MinIO and R2 honour `If-None-Match: *` on PutObject,
    // which makes "create only if absent" atomic. s3rver 3.7 silently ignores
    // the header and overwrites, so a HeadObject goes first: it is what refuses
    // the overwrite there (racy, but s3rver is only a test double), and on
    // real stores it just saves uploading bytes that would be refused anyway.
    if (await exists(bucket, path)) throw new ObjectExistsError(bucket, path);
    try {
      await client.send(new PutObjectCommand(conditionalPuts ? { ...base, IfNoneMatch: '*' } : base));
    } catch (err) {
      const status = statusOf(err);
      // 412: the object appeared since the HeadObject; 409: a concurrent conditional write won.
      if (status === 412 || status === 409) throw new ObjectExistsError(bucket, path);
      if (status === 501 && conditionalPuts) {
        conditionalPuts = false;
        await client.send(new PutObjectCommand(base));
        return;
      }
      throw err;
    }
  }

  async function get(bucket: string, path: string): Promise<StoredObject | null> {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket, Key: keyOf(bucket, path) }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      return { body, contentType: out.ContentType ?? null };
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async function readHead(bucket: string, path: string, length: number): Promise<Uint8Array | null> {
    try {
      // A ranged GET: sniffing a video's type must not download the video.
      const out = await client.send(
        new GetObjectCommand({ Bucket, Key: keyOf(bucket, path), Range: `bytes=0-${Math.max(0, length - 1)}` }),
      );
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
      // A store that ignores Range sends everything; keep the promise of at most `length` bytes.
      return body.subarray(0, length);
    } catch (err) {
      // 416: the object is empty, so no byte range can be satisfied.
      if (statusOf(err) === 416) return new Uint8Array(0);
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async function del(bucket: string, path: string): Promise<void> {
    // S3 answers 204 for absent keys too, so this is idempotent as is.
    await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(bucket, path) }));
  }

  async function signedGetUrl(bucket: string, path: string, ttlSeconds: number): Promise<SignedUrl> {
    const expiresIn = checkTtl(ttlSeconds);
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket, Key: keyOf(bucket, path) }), { expiresIn });
    return { url, expiresAt };
  }

  async function signedPutUrl(bucket: string, path: string, ttlSeconds: number, contentType: string): Promise<SignedUrl> {
    const expiresIn = checkTtl(ttlSeconds);
    const type = contentType.trim();
    if (!type) throw new TypeError('A signed PUT URL needs a content type, e.g. "image/png".');
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    const command = new PutObjectCommand({ Bucket, Key: keyOf(bucket, path), ContentType: type });
    // Content-Type is not signed by default; signing it means the uploader must
    // send exactly this type (S3 answers 403 otherwise). Object size cannot be
    // capped with a presigned PUT; only the local backend enforces a maximum.
    const url = await getSignedUrl(client, command, { expiresIn, signableHeaders: new Set(['content-type']) });
    return { url, expiresAt };
  }

  async function signedUpload(
    bucket: string,
    path: string,
    { ttlSeconds, contentType, maxBytes }: { ttlSeconds: number; contentType: string; maxBytes: number },
  ): Promise<SignedUpload> {
    const expiresIn = checkTtl(ttlSeconds);
    const type = contentType.trim();
    if (!type) throw new TypeError('A signed upload needs a content type, e.g. "image/png".');
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer; got ${maxBytes}.`);
    const expiresAt = new Date(Date.now() + expiresIn * 1000);
    // A presigned PUT cannot cap the size; a POST policy can, and S3 itself
    // refuses a body outside content-length-range or of another type. The
    // policy is part of what is signed, so the uploader cannot loosen it.
    const { url, fields } = await createPresignedPost(client, {
      Bucket,
      Key: keyOf(bucket, path),
      Conditions: [
        ['content-length-range', 1, maxBytes],
        ['eq', '$Content-Type', type],
      ],
      Fields: { 'Content-Type': type },
      Expires: expiresIn,
    });
    return { url, method: 'POST', headers: {}, fields, expiresAt };
  }

  async function ping(): Promise<void> {
    try {
      await client.send(new HeadBucketCommand({ Bucket }), { abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
    } catch (err) {
      const where = `bucket "${Bucket}" (S3_BUCKET) at ${opts.endpoint ? redactEndpoint(opts.endpoint) : 'the AWS default endpoint'} (S3_ENDPOINT)`;
      const status = statusOf(err);
      const hint =
        status === 404
          ? 'the bucket does not exist'
          : status === 403 || status === 401
            ? 'access denied; check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY'
            : (err as Error).name === 'CredentialsProviderError'
              ? 'no credentials; set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY'
              : status === undefined
                ? `${(err as Error).message || (err as Error).name} — start the object store or fix S3_ENDPOINT`
                : (err as Error).message || (err as Error).name;
      throw new Error(`S3 storage is not usable: ${where}: ${hint}`, { cause: err });
    }
  }

  return {
    kind: 's3',
    put,
    get,
    readHead,
    exists,
    delete: del,
    signedGetUrl,
    signedPutUrl,
    signedUpload,
    ping,
    async close() {
      client.destroy();
    },
  };
}

/** The endpoint without any `user:password@` part, for messages. */
function redactEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    if (!url.username && !url.password) return endpoint;
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return endpoint.replace(/\/\/[^/@]*@/, '//');
  }
}

/** The HTTP status of an SDK error (HeadObject 404s carry no error code, only the status). */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
