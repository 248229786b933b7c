import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, gql, production, startTestServer, type TestServer } from '../helpers/app.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

const CREATE = `mutation($t: String!, $f: String) {
  createReferenceUpload(contentType: $t, filename: $f) { path uploadUrl method headers fields maxBytes expiresAt }
}`;
const QUEUE = `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id references { url type strength } } } }`;

/** Sends an upload the way createReferenceUpload describes it. */
function send(upload: { uploadUrl: string; method: string; headers: Record<string, string>; fields: Record<string, string> }, bytes: Uint8Array) {
  if (upload.method === 'PUT') return fetch(upload.uploadUrl, { method: 'PUT', headers: upload.headers, body: Buffer.from(bytes) });
  const form = new FormData();
  for (const [k, v] of Object.entries(upload.fields)) form.append(k, v);
  form.append('file', new Blob([Buffer.from(bytes)], { type: upload.fields['Content-Type'] }), 'reference');
  return fetch(upload.uploadUrl, { method: 'POST', body: form });
}

describe('reference uploads', () => {
  it('uploads through the returned URL; the path works as a reference for its owner only', async () => {
    const ownerId = crypto.randomUUID();
    const owner = await server.userToken(ownerId);
    const created = await gql(server.url, owner, CREATE, { t: 'image/png', f: 'My Cat!.png' });
    expect(created.errors).toBeUndefined();
    const upload = created.data!.createReferenceUpload;
    expect(upload.path).toMatch(new RegExp(`^reference_images/${ownerId}/[0-9a-f-]{36}-My-Cat\\.png$`));
    // S3 takes a POST form whose signed policy caps the size; local disk a PUT.
    expect(upload.method).toBe(production ? 'POST' : 'PUT');
    expect(upload.maxBytes).toBe(10 * 1024 * 1024);
    expect(Date.parse(upload.expiresAt)).toBeGreaterThan(Date.now());

    // Not uploaded yet: refused, nothing charged.
    const early = await gql(server.url, owner, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'cat', references: [{ url: upload.path, type: 'character' }] },
    });
    expect(early.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const bytes = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 9, 9]);
    const put = await send(upload, bytes);
    expect(put.status).toBeLessThan(300);

    const queued = await gql(server.url, owner, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'cat', references: [{ url: upload.path, type: 'character', strength: 0.8 }] },
    });
    expect(queued.errors).toBeUndefined();
    expect(queued.data!.queueJob.job.references).toEqual([{ url: upload.path, type: 'character', strength: 0.8 }]);

    // The worker gets a URL it can fetch with a plain GET, returning the uploaded bytes.
    const payload = await fleet(server.url, await server.workerToken()).pop('sdxl_queue');
    expect(payload!.metadata).toMatchObject({ reference_type: 'character', reference_strength: 0.8 });
    const got = new Uint8Array(await (await fetch(payload!.metadata.reference_image_url)).arrayBuffer());
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);

    // Someone else cannot use the owner's upload.
    const other = await server.userToken();
    const stolen = await gql(server.url, other, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'cat', references: [{ url: upload.path, type: 'style' }] },
    });
    expect(stolen.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses content types other than png, jpeg and webp', async () => {
    const res = await gql(server.url, await server.userToken(), CREATE, { t: 'image/gif' });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toContain('image/png, image/jpeg, image/webp');
  });

  it('an upload URL only accepts the content type it was made for', async () => {
    const res = await gql(server.url, await server.userToken(), CREATE, { t: 'image/jpeg' });
    const upload = res.data!.createReferenceUpload;
    if (production) {
      // s3rver does not verify signatures or policies, so check what real S3 verifies: the signed policy holds the type.
      const policy = JSON.parse(Buffer.from(upload.fields.Policy, 'base64').toString('utf8'));
      expect(policy.conditions).toContainEqual(['eq', '$Content-Type', 'image/jpeg']);
      return;
    }
    const put = await fetch(upload.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/html' }, body: '<script>' });
    expect(put.status).toBe(403);
  });
});
