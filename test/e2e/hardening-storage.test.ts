import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { gql, newUser, production, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';
import { snapshot } from '../helpers/unchanged.js';

/**
 * What storage takes and serves: reference uploads capped at 10 MB by whoever
 * receives the bytes (a signed S3 POST policy, or this server on local disk),
 * only image and video content types, and downloads that can never render as
 * a page of the API's origin.
 */

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

const CREATE = `mutation($t: String!) { createReferenceUpload(contentType: $t) { path uploadUrl method headers fields maxBytes expiresAt } }`;
const QUEUE = `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`;
const MAX = 10 * 1024 * 1024;
const PNG = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13]);

interface Upload {
  path: string;
  uploadUrl: string;
  method: string;
  headers: Record<string, string>;
  fields: Record<string, string>;
  maxBytes: number;
}

/** Sends an upload the way createReferenceUpload says to. */
function send(upload: Upload, bytes: Uint8Array, contentType = 'image/png'): Promise<Response> {
  if (upload.method === 'PUT') {
    return fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: Buffer.from(bytes) });
  }
  const form = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
  form.append('file', new Blob([Buffer.from(bytes)], { type: contentType }), 'ref.png');
  return fetch(upload.uploadUrl, { method: 'POST', body: form });
}

async function createUpload(token: string, type = 'image/png'): Promise<Upload> {
  const res = await gql(server.url, token, CREATE, { t: type });
  expect(res.errors).toBeUndefined();
  return res.data!.createReferenceUpload as Upload;
}

describe('hole 6: reference uploads are limited to 10 MB by the receiver', () => {
  it('an upload works as described and the path is usable as a reference', async () => {
    const user = await newUser(server);
    const upload = await createUpload(user.token);
    expect(upload.maxBytes).toBe(MAX);
    const res = await send(upload, PNG);
    expect(res.status).toBeLessThan(300);
    const queued = await gql(server.url, user.token, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: upload.path, type: 'style' }] },
    });
    expect(queued.errors).toBeUndefined();
  });

  it.runIf(production)('S3: a POST whose signed policy carries content-length-range 1..10 MB and the content type', async () => {
    const user = await newUser(server);
    const upload = await createUpload(user.token, 'image/webp');
    expect(upload.method).toBe('POST');
    expect(upload.headers).toEqual({});
    const { Policy, 'X-Amz-Signature': signature, 'X-Amz-Credential': credential, key } = upload.fields;
    expect(key).toBe(upload.path);
    // s3rver does not enforce POST policies, so check what real S3 enforces:
    // the policy holds the limits, and the signature covers the policy.
    const policy = JSON.parse(Buffer.from(Policy!, 'base64').toString('utf8')) as { expiration: string; conditions: unknown[] };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, MAX]);
    expect(policy.conditions).toContainEqual(['eq', '$Content-Type', 'image/webp']);
    expect(policy.conditions).toContainEqual({ key: upload.path });
    expect(Date.parse(policy.expiration)).toBeGreaterThan(Date.now());
    expect(Date.parse(policy.expiration)).toBeLessThanOrEqual(Date.now() + 16 * 60_000);
    const [, date, region, service] = credential!.split('/');
    const hmac = (k: string | Buffer, v: string) => createHmac('sha256', k).update(v).digest();
    const signingKey = hmac(hmac(hmac(hmac(`AWS4${server.env.S3_SECRET_ACCESS_KEY}`, date!), region!), service!), 'aws4_request');
    expect(createHmac('sha256', signingKey).update(Policy!).digest('hex')).toBe(signature);
    expect(upload.fields['Content-Type']).toBe('image/webp');
  });

  it.runIf(!production)('local disk: a body over 10 MB is refused with 413 and nothing is stored', async () => {
    const user = await newUser(server);
    const upload = await createUpload(user.token);
    expect(upload.method).toBe('PUT');
    const before = await snapshot(server, user);
    // Declared too large: answered from the headers, before any byte is read.
    const declared = await new Promise<number>((resolve, reject) => {
      const req = request(upload.uploadUrl, { method: 'PUT', headers: { ...upload.headers, 'content-length': String(MAX + 1) } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(declared).toBe(413);
    // Streamed without a Content-Length: cut off once it passes the limit.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 11; i++) c.enqueue(new Uint8Array(1024 * 1024));
        c.close();
      },
    });
    // The server answers 413 and stops reading, so the client may see the answer or a reset while it still sends.
    const streamed = await fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: stream, duplex: 'half' } as RequestInit).then(
      (r) => r.status,
      (err: Error) => (err.cause as { code?: string } | undefined)?.code ?? String(err),
    );
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(streamed);
    expect(await server.app.deps.storage.exists('reference_images', upload.path.slice('reference_images/'.length))).toBe(false);
    const queued = await gql(server.url, user.token, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: upload.path, type: 'style' }] },
    });
    expect(queued.errors?.[0]?.message).toMatch(/has not been uploaded yet/);
    expect(await snapshot(server, user)).toEqual(before);
  });
});

describe('hole 7: storage takes images and videos only, and serves them safely', () => {
  it('refuses worker uploads of other content types with 415; nothing is stored', async () => {
    const user = await newUser(server);
    const auth = { authorization: `Bearer ${await server.workerToken()}` };
    const cases: Array<[string, RequestInit]> = [
      ['page.html', { headers: { ...auth, 'content-type': 'text/html' }, body: '<script>alert(1)</script>' }],
      ['x.png', { headers: { ...auth, 'content-type': 'image/svg+xml' }, body: '<svg onload="alert(1)"/>' }],
      ['x.js', { headers: { ...auth, 'content-type': 'application/octet-stream' }, body: 'alert(1)' }],
      ['noext', { headers: { ...auth }, body: 'x' }],
    ];
    for (const [name, init] of cases) {
      const path = `${user.id}/${name}`;
      const res = await fetch(`${server.url}/storage/v1/object/sdxl_image_fast/${path}`, { method: 'POST', ...init });
      expect(res.status, name).toBe(415);
      expect((await res.json()).message).toMatch(/upload images or videos/);
      expect(await server.app.deps.storage.exists('sdxl_image_fast', path)).toBe(false);
    }
    const form = new FormData();
    form.append('file', new Blob(['<html>'], { type: 'text/html' }), 'a.html');
    const multi = await fetch(`${server.url}/storage/v1/object/video_fast/${user.id}/a.html`, { method: 'POST', headers: auth, body: form });
    expect(multi.status).toBe(415);
    expect(await server.app.deps.storage.exists('video_fast', `${user.id}/a.html`)).toBe(false);
  });

  it('takes the fleet\'s media types, and a generic type by the file extension', async () => {
    const user = await newUser(server);
    expect((await worker.uploadRaw('sdxl_image_fast', `${user.id}/a.png`, PNG, 'image/png')).status).toBe(200);
    expect((await worker.uploadMultipart('video_fast', `${user.id}/v.mp4`, PNG, 'video/mp4')).status).toBe(200);
    expect((await worker.uploadRaw('sdxl_image_fast', `${user.id}/t.thumb.webp`, PNG, 'image/webp')).status).toBe(200);
    expect((await worker.uploadRaw('sdxl_image_fast', `${user.id}/b.png`, PNG, 'application/octet-stream')).status).toBe(200);
    expect((await server.app.deps.storage.get('sdxl_image_fast', `${user.id}/b.png`))!.contentType).toBe('image/png');
  });

  it('serves signed downloads of outputs with nosniff and a safe content-disposition', async () => {
    const user = await newUser(server);
    const res = await gql(server.url, user.token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat" }) { job { id } } }`);
    const id = res.data!.queueJob.job.id as string;
    for (let i = 0; i < 100 && (await worker.pop('sdxl_queue'))?.id !== id; i++);
    const path = `${user.id}/out "1".png`;
    expect((await worker.uploadRaw('sdxl_image_fast', encodeURIComponent(user.id) + '/' + encodeURIComponent('out "1".png'), PNG)).status).toBe(200);
    expect((await worker.callback({ job_id: id, status: 'completed', assets: [path] })).status).toBe(200);
    const job = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { assets { url contentType } } }`, { id });
    const download = await fetch(job.data!.job.assets[0].url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(PNG))).toBe(true);
    expect(download.headers.get('content-type')).toBe('image/png');
    if (production) return; // S3 serves the bytes from its own origin, with the type the upload was held to.
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-security-policy')).toBe('sandbox');
    expect(download.headers.get('content-disposition')).toBe(`inline; filename="out_1_.png"; filename*=UTF-8''out%20%221%22.png`);
  });

  it.runIf(!production)('an object stored with any other type is served as an opaque attachment', async () => {
    // As left by a version before this check: stored through the storage layer directly.
    const user = await newUser(server);
    const storage = server.app.deps.storage;
    await storage.put('sdxl_image_fast', `${user.id}/old.html`, new TextEncoder().encode('<script>alert(1)</script>'), { contentType: 'text/html' });
    const { url } = await storage.signedGetUrl('sdxl_image_fast', `${user.id}/old.html`, 60);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="old.html"/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe('sandbox');
  });

  it('reference uploads are limited to png, jpeg and webp', async () => {
    const user = await newUser(server);
    for (const t of ['text/html', 'image/svg+xml', 'application/pdf']) {
      const res = await gql(server.url, user.token, CREATE, { t });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });
});
