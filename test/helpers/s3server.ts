import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running s3rver: pass these to `createS3Storage` (with `forcePathStyle: true`). */
export interface S3Server {
  /** e.g. `http://127.0.0.1:41234` */
  endpoint: string;
  /** An existing, empty bucket. */
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Stops the server and deletes its data folder. */
  close(): Promise<void>;
}

// s3rver ships no type declarations; this is the part of its API used here.
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

const require = createRequire(import.meta.url);

/**
 * Starts a real s3rver (in-process fake S3) on 127.0.0.1 with a random free
 * port, a fresh temp data folder and one bucket. Its default credentials are
 * `S3RVER`/`S3RVER`. Caveats: s3rver does not verify SigV4 signatures
 * (presigned URLs with a tampered signature still work; expiry IS checked),
 * and it ignores `If-None-Match` on PutObject.
 */
export async function startS3Server(opts: { bucket?: string } = {}): Promise<S3Server> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const bucket = opts.bucket ?? 'test-bucket';
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0, // let the OS pick a free port
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
