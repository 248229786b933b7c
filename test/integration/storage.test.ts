import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleSignedRequest } from '../../src/http/signedUrls.js';
import { createLocalStorage, type LocalStorage } from '../../src/storage/local.js';
import { createS3Storage } from '../../src/storage/s3.js';
import { InvalidPathError, ObjectExistsError, type Storage } from '../../src/storage/storage.js';
import { startS3Server, type S3Server } from '../helpers/s3server.js';

/** How a backend is created and how its signed URLs are fetched. */
interface Backend {
  storage: Storage;
  /** Fetches a signed URL: real HTTP for S3, `handleSignedRequest` for local. */
  fetchSigned(url: string, init?: RequestInit): Promise<Response>;
  teardown(): Promise<void>;
}

const PUBLIC_URL = 'http://storage.test';

async function localBackend(): Promise<Backend & { storage: LocalStorage; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'storage-local-'));
  const storage = createLocalStorage({ dir, publicUrl: PUBLIC_URL, signingKey: 'test-signing-key', maxUploadBytes: 1024 });
  return {
    storage,
    dir,
    async fetchSigned(url, init) {
      const response = await handleSignedRequest(storage, new Request(url, init));
      if (!response) throw new Error(`handleSignedRequest did not recognise ${url}`);
      return response;
    },
    async teardown() {
      await storage.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function s3Backend(): Promise<Backend & { server: S3Server }> {
  const server = await startS3Server();
  const storage = createS3Storage({
    endpoint: server.endpoint,
    region: server.region,
    bucket: server.bucket,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
  });
  return {
    storage,
    server,
    fetchSigned: (url, init) => fetch(url, init),
    async teardown() {
      await storage.close();
      await server.close();
    },
  };
}

/** Every byte value, so encoding mistakes (UTF-8, base64, truncation) show up. */
const ALL_BYTES = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
const bytes = (text: string) => new TextEncoder().encode(text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Changes one character of the URL's signature (`token` or `X-Amz-Signature`). */
function tamperSignature(url: string): string {
  const u = new URL(url);
  for (const name of ['token', 'X-Amz-Signature']) {
    const value = u.searchParams.get(name);
    if (value) {
      const last = value.at(-2)!; // not the last base64url char, which may carry padding bits
      u.searchParams.set(name, value.slice(0, -2) + (last === 'A' ? 'B' : 'A') + value.slice(-1));
      return u.toString();
    }
  }
  throw new Error(`no signature in ${url}`);
}

describe.each([
  // s3rver does not check SigV4 signatures at all: tamper tests only mean something on stores that do.
  { name: 'local', create: localBackend, verifiesSignatures: true },
  { name: 's3 (s3rver)', create: s3Backend, verifiesSignatures: false },
])('storage: $name', ({ create, verifiesSignatures }) => {
  let backend: Backend;
  let storage: Storage;
  let n = 0;
  /** A fresh object path per test, so tests never see each other's objects. */
  const fresh = (ext = 'bin') => `user-${++n}/obj ${n} ü.${ext}`;

  beforeAll(async () => {
    backend = await create();
    storage = backend.storage;
  });
  afterAll(async () => {
    await backend?.teardown();
  });

  it('answers ping', async () => {
    await expect(storage.ping()).resolves.toBeUndefined();
  });

  it('round-trips exact bytes and the content type', async () => {
    const path = fresh('png');
    await storage.put('sdxl_image_fast', path, ALL_BYTES, { contentType: 'image/png' });
    const got = await storage.get('sdxl_image_fast', path);
    expect(got).not.toBeNull();
    expect(Buffer.from(got!.body).equals(Buffer.from(ALL_BYTES))).toBe(true);
    expect(got!.contentType).toBe('image/png');
  });

  it('keeps logical buckets apart', async () => {
    const path = fresh();
    await storage.put('bucket-a', path, bytes('in a'), { contentType: 'text/plain' });
    expect(await storage.exists('bucket-b', path)).toBe(false);
    expect(await storage.get('bucket-b', path)).toBeNull();
    expect(await storage.exists('bucket-a', path)).toBe(true);
  });

  it('returns null / false for a missing object', async () => {
    expect(await storage.get('sdxl_image_fast', 'nobody/missing.png')).toBeNull();
    expect(await storage.exists('sdxl_image_fast', 'nobody/missing.png')).toBe(false);
  });

  it('refuses to overwrite without upsert, keeping the original', async () => {
    const path = fresh();
    await storage.put('b', path, bytes('first'), { contentType: 'text/plain' });
    await expect(storage.put('b', path, bytes('second'), { contentType: 'image/png', upsert: false })).rejects.toBeInstanceOf(
      ObjectExistsError,
    );
    // upsert defaults to false
    await expect(storage.put('b', path, bytes('third'))).rejects.toThrow(/already exists.*x-upsert/);
    const got = await storage.get('b', path);
    expect(new TextDecoder().decode(got!.body)).toBe('first');
    expect(got!.contentType).toBe('text/plain');
  });

  it('overwrites with upsert, content type included', async () => {
    const path = fresh();
    await storage.put('b', path, bytes('first version, longer'), { contentType: 'text/plain' });
    await storage.put('b', path, bytes('second'), { contentType: 'video/mp4', upsert: true });
    const got = await storage.get('b', path);
    expect(new TextDecoder().decode(got!.body)).toBe('second');
    expect(got!.contentType).toBe('video/mp4');
  });

  it('deletes, idempotently', async () => {
    const path = fresh();
    await storage.put('b', path, bytes('x'), { contentType: 'text/plain' });
    expect(await storage.exists('b', path)).toBe(true);
    await storage.delete('b', path);
    expect(await storage.exists('b', path)).toBe(false);
    expect(await storage.get('b', path)).toBeNull();
    await expect(storage.delete('b', path)).resolves.toBeUndefined();
    await expect(storage.delete('b', 'never/existed')).resolves.toBeUndefined();
    // and the name is free again without upsert
    await storage.put('b', path, bytes('again'), { contentType: 'text/plain' });
    expect(new TextDecoder().decode((await storage.get('b', path))!.body)).toBe('again');
  });

  it('refuses unsafe paths and bucket names itself (defence in depth)', async () => {
    for (const path of ['../escape', 'a/../../escape', '/abs', 'a//b', 'a\\b', '']) {
      await expect(storage.put('b', path, bytes('x'), { upsert: true }), path).rejects.toBeInstanceOf(InvalidPathError);
      await expect(storage.get('b', path), path).rejects.toBeInstanceOf(InvalidPathError);
    }
    for (const bucket of ['..', '.meta', 'a/b', '']) {
      await expect(storage.put(bucket, 'x', bytes('x'), { upsert: true }), bucket).rejects.toBeInstanceOf(InvalidPathError);
    }
    await expect(storage.signedGetUrl('b', '../x', 60)).rejects.toBeInstanceOf(InvalidPathError);
  });

  it('signs a GET URL that downloads the exact bytes', async () => {
    const path = fresh('png');
    await storage.put('sdxl_image_high', path, ALL_BYTES, { contentType: 'image/png' });
    const before = Date.now();
    const signed = await storage.signedGetUrl('sdxl_image_high', path, 600);
    expect(signed.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 599_000);
    expect(signed.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 601_000);

    const response = await backend.fetchSigned(signed.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(ALL_BYTES))).toBe(true);
  });

  it('refuses an expired GET URL', async () => {
    const path = fresh();
    await storage.put('b', path, bytes('soon gone'), { contentType: 'text/plain' });
    const signed = await storage.signedGetUrl('b', path, 1);
    expect((await backend.fetchSigned(signed.url)).status).toBe(200);
    await sleep(1200); // S3's X-Amz-Date is floored to the second, so expiry is at most 1 s after signing
    const response = await backend.fetchSigned(signed.url);
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain('soon gone');
  });

  // s3rver accepts any SigV4 signature, so only the backend that verifies its own signatures runs this.
  if (verifiesSignatures) it('refuses a tampered signature or a changed path', async () => {
    const path = fresh();
    const other = fresh();
    await storage.put('b', path, bytes('mine'), { contentType: 'text/plain' });
    await storage.put('b', other, bytes('secret'), { contentType: 'text/plain' });
    const signed = await storage.signedGetUrl('b', path, 600);

    const tampered = await backend.fetchSigned(tamperSignature(signed.url));
    expect(tampered.status).toBe(403);

    const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');
    const swapped = signed.url.replace(encode(path), encode(other));
    expect(swapped).not.toBe(signed.url);
    const response = await backend.fetchSigned(swapped);
    expect(response.status).toBe(403);
    expect(await response.text()).not.toContain('secret');
  });

  it('signs a PUT URL that uploads bytes with the signed content type', async () => {
    const path = fresh('mp4');
    const signed = await storage.signedPutUrl('video_fast', path, 600, 'video/mp4');
    const response = await backend.fetchSigned(signed.url, {
      method: 'PUT',
      body: ALL_BYTES,
      headers: { 'content-type': 'video/mp4' },
    });
    expect(response.status).toBe(200);
    const got = await storage.get('video_fast', path);
    expect(Buffer.from(got!.body).equals(Buffer.from(ALL_BYTES))).toBe(true);
    expect(got!.contentType).toBe('video/mp4');
  });

  it('refuses an expired PUT URL', async () => {
    const path = fresh();
    const signed = await storage.signedPutUrl('b', path, 1, 'text/plain');
    await sleep(1200);
    const response = await backend.fetchSigned(signed.url, { method: 'PUT', body: bytes('late'), headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(403);
    expect(await storage.exists('b', path)).toBe(false);
  });

  it('refuses lifetimes outside 1 s .. 7 days', async () => {
    await expect(storage.signedGetUrl('b', 'x', 0)).rejects.toBeInstanceOf(RangeError);
    await expect(storage.signedGetUrl('b', 'x', 8 * 24 * 3600)).rejects.toBeInstanceOf(RangeError);
    await expect(storage.signedPutUrl('b', 'x', -5, 'image/png')).rejects.toBeInstanceOf(RangeError);
  });
});

describe('local storage specifics', () => {
  let backend: Awaited<ReturnType<typeof localBackend>>;
  let storage: LocalStorage;
  beforeAll(async () => {
    backend = await localBackend();
    storage = backend.storage;
  });
  afterAll(async () => {
    await backend?.teardown();
  });

  it('stores plain files at <dir>/<bucket>/<path> and leaves no temp files', async () => {
    await storage.put('sdxl_image_fast', 'u1/a b.png', bytes('png bytes'), { contentType: 'image/png' });
    expect(await readFile(join(backend.dir, 'sdxl_image_fast', 'u1', 'a b.png'), 'utf8')).toBe('png bytes');
    expect(await readdir(join(backend.dir, '.tmp'))).toEqual([]);
  });

  it('lets exactly one of many concurrent non-upsert puts win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => storage.put('b', 'race/one.txt', bytes(`writer ${i}`), { contentType: `text/x-${i}` })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ObjectExistsError);
    // bytes and content type come from the same (winning) writer
    const got = await storage.get('b', 'race/one.txt');
    const writer = new TextDecoder().decode(got!.body).split(' ')[1];
    expect(got!.contentType).toBe(`text/x-${writer}`);
  });

  it('builds Supabase-style URLs with each segment encoded', async () => {
    const get = await storage.signedGetUrl('b', 'u 1/a?b#c%.png', 60);
    expect(get.url).toMatch(/^http:\/\/storage\.test\/storage\/v1\/object\/sign\/b\/u%201\/a%3Fb%23c%25\.png\?token=/);
    const put = await storage.signedPutUrl('b', 'u 1/x.png', 60, 'image/png');
    expect(put.url).toMatch(/^http:\/\/storage\.test\/storage\/v1\/object\/upload\/sign\/b\/u%201\/x\.png\?token=/);
  });

  it('serves odd names through their signed URL', async () => {
    const path = 'u 1/a?b#c%.png';
    await storage.put('b', path, bytes('odd'), { contentType: 'image/png' });
    const response = await handleSignedRequest(storage, new Request((await storage.signedGetUrl('b', path, 60)).url));
    expect(response!.status).toBe(200);
    expect(await response!.text()).toBe('odd');
  });

  it('returns null for other routes', async () => {
    for (const path of ['/storage/v1/object/b/x', '/graphql', '/storage/v1/object/signx/b/x', '/storage/v1/object/upload/b/x']) {
      expect(await handleSignedRequest(storage, new Request(`${PUBLIC_URL}${path}`))).toBeNull();
    }
  });

  it('sets Cache-Control from the remaining lifetime and answers HEAD without a body', async () => {
    await storage.put('b', 'cache/x.txt', bytes('cached'), { contentType: 'text/plain' });
    const { url } = await storage.signedGetUrl('b', 'cache/x.txt', 120);
    const response = (await handleSignedRequest(storage, new Request(url)))!;
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers.get('cache-control')!)![1]);
    expect(maxAge).toBeGreaterThanOrEqual(118);
    expect(maxAge).toBeLessThanOrEqual(120);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const head = (await handleSignedRequest(storage, new Request(url, { method: 'HEAD' })))!;
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('6');
    expect(await head.text()).toBe('');
  });

  it('answers 403 with a Supabase-shaped JSON error for tampered or wrong-method tokens', async () => {
    await storage.put('b', 'sig/x.txt', bytes('x'), { contentType: 'text/plain' });
    const { url } = await storage.signedGetUrl('b', 'sig/x.txt', 60);
    const cases = [
      tamperSignature(url),
      url.replace(/token=\d+/, (m) => `${m.slice(0, -1)}${m.endsWith('9') ? '8' : '9'}`), // moved expiry
      url.replace(/\?token=.*/, ''), // no token
      url.replace(/token=.*/, 'token=garbage'),
      url.replace('/sign/b/', '/sign/c/'), // other bucket, same path
    ];
    for (const bad of cases) {
      const response = (await handleSignedRequest(storage, new Request(bad)))!;
      expect(response.status, bad).toBe(403);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.statusCode).toBe('403');
      expect(typeof body.error).toBe('string');
      expect(String(body.message)).not.toBe('');
    }
    // a GET token used on the upload route (method is signed)
    const asPut = url.replace('/object/sign/', '/object/upload/sign/');
    const put = (await handleSignedRequest(storage, new Request(asPut, { method: 'PUT', body: 'evil', headers: { 'content-type': '' } })))!;
    expect(put.status).toBe(403);
    expect(new TextDecoder().decode((await storage.get('b', 'sig/x.txt'))!.body)).toBe('x');
  });

  it('checks the token before telling whether an object exists', async () => {
    const { url } = await storage.signedGetUrl('b', 'ghost/x.txt', 60);
    expect((await handleSignedRequest(storage, new Request(url)))!.status).toBe(404);
    expect((await handleSignedRequest(storage, new Request(tamperSignature(url))))!.status).toBe(403);
  });

  it('answers 400 for malformed paths', async () => {
    const { url } = await storage.signedGetUrl('b', 'ok/x.txt', 60);
    const token = new URL(url).search;
    for (const path of ['b/a%00b', 'b/a%zz', 'b/a%5Cb', 'b/a//b', 'b/%252e%252e%2F..%2Fx', '.meta/x', 'b']) {
      const response = (await handleSignedRequest(storage, new Request(`${PUBLIC_URL}/storage/v1/object/sign/${path}${token}`)))!;
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { statusCode: string }).statusCode).toBe('400');
    }
  });

  it('never serves files outside the bucket through dot segments', async () => {
    await writeFile(join(backend.dir, 'outside.txt'), 'TOP-SECRET-CONTENT');
    const { url } = await storage.signedGetUrl('b', 'x/y.txt', 60);
    const token = new URL(url).search;
    for (const path of ['b/../../outside.txt', 'b/%2e%2e/%2e%2e/outside.txt', 'b/x/%2E%2E/..%2Foutside.txt']) {
      const response = await handleSignedRequest(storage, new Request(`${PUBLIC_URL}/storage/v1/object/sign/${path}${token}`));
      // Either the URL parser resolved the dots away from our prefix (null), or it is refused.
      if (response) {
        expect([400, 403]).toContain(response.status);
        expect(await response.text()).not.toContain('TOP-SECRET');
      }
    }
  });

  it('enforces the signed content type on PUT', async () => {
    const { url } = await storage.signedPutUrl('b', 'ct/x.png', 60, 'image/png');
    for (const type of ['text/html', 'image/png; charset=utf-8', '']) {
      const response = (await handleSignedRequest(
        storage,
        new Request(url, { method: 'PUT', body: bytes('<script>'), headers: type ? { 'content-type': type } : {} }),
      ))!;
      expect(response.status, type).toBe(403);
    }
    expect(await storage.exists('b', 'ct/x.png')).toBe(false);
  });

  it('answers 413 past maxUploadBytes, declared or streamed', async () => {
    const { url } = await storage.signedPutUrl('b', 'big/x.bin', 60, 'application/octet-stream');
    const big = new Uint8Array(1025);
    const declared = (await handleSignedRequest(
      storage,
      new Request(url, { method: 'PUT', body: big, headers: { 'content-type': 'application/octet-stream', 'content-length': '1025' } }),
    ))!;
    expect(declared.status).toBe(413);
    // a chunked body with no Content-Length
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(600));
        controller.enqueue(new Uint8Array(600));
        controller.close();
      },
    });
    const streamed = (await handleSignedRequest(
      storage,
      new Request(url, { method: 'PUT', body: stream, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit),
    ))!;
    expect(streamed.status).toBe(413);
    expect(await storage.exists('b', 'big/x.bin')).toBe(false);
    // exactly at the limit is fine
    const ok = (await handleSignedRequest(
      storage,
      new Request(url, { method: 'PUT', body: new Uint8Array(1024), headers: { 'content-type': 'application/octet-stream' } }),
    ))!;
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ Key: 'b/big/x.bin' });
  });

  it('answers 405 for the wrong method', async () => {
    const { url } = await storage.signedGetUrl('b', 'm/x.txt', 60);
    const response = (await handleSignedRequest(storage, new Request(url, { method: 'DELETE' })))!;
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });

  it('reports an unwritable directory from ping', async () => {
    const file = join(backend.dir, 'not-a-dir');
    await writeFile(file, 'x');
    const broken = createLocalStorage({ dir: file, publicUrl: PUBLIC_URL, signingKey: 'k' });
    await expect(broken.ping()).rejects.toThrow(/not-a-dir \(DATA_DIR\) is not writable/);
  });
});

describe('s3 storage specifics', () => {
  let backend: Awaited<ReturnType<typeof s3Backend>>;
  beforeAll(async () => {
    backend = await s3Backend();
  });
  afterAll(async () => {
    await backend?.teardown();
  });

  it('stores objects under <bucket>/<path> keys of the one real bucket', async () => {
    await backend.storage.put('sdxl_image_fast', 'u1/a.png', bytes('x'), { contentType: 'image/png' });
    const direct = await fetch(`${backend.server.endpoint}/${backend.server.bucket}/sdxl_image_fast/u1/a.png`);
    expect(direct.status).toBe(200);
    expect(await direct.text()).toBe('x');
  });

  it('presigns PUT URLs that sign the content type and carry no empty-body checksum', async () => {
    const { url } = await backend.storage.signedPutUrl('b', 'u/x.png', 300, 'image/png');
    const params = new URL(url).searchParams;
    expect(params.get('X-Amz-SignedHeaders')!.split(';')).toContain('content-type');
    expect(params.get('X-Amz-Expires')).toBe('300');
    expect(params.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect([...params.keys()].filter((k) => k.toLowerCase().startsWith('x-amz-checksum'))).toEqual([]);
  });

  it('names S3_BUCKET and S3_ENDPOINT when ping fails', async () => {
    const wrong = createS3Storage({
      endpoint: backend.server.endpoint,
      region: 'us-east-1',
      bucket: 'no-such-bucket',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      forcePathStyle: true,
    });
    try {
      await expect(wrong.ping()).rejects.toThrow(/"no-such-bucket" \(S3_BUCKET\) at http:\/\/127\.0\.0\.1:\d+ \(S3_ENDPOINT\): the bucket does not exist/);
    } finally {
      await wrong.close();
    }
  });

  it('fails ping quickly with a clear message when nothing listens', async () => {
    const down = createS3Storage({
      endpoint: 'http://127.0.0.1:1',
      region: 'us-east-1',
      bucket: 'media',
      accessKeyId: 'x',
      secretAccessKey: 'y',
      forcePathStyle: true,
    });
    try {
      await expect(down.ping()).rejects.toThrow(/"media" \(S3_BUCKET\) at http:\/\/127\.0\.0\.1:1 \(S3_ENDPOINT\)/);
    } finally {
      await down.close();
    }
  });
});
