import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, gql, production, startTestServer, type TestServer } from '../helpers/app.js';

/**
 * The fixed HTTP surface (http-contract.md) beside the GraphQL schema:
 * health and readiness, the storage endpoint's path rules, signed URLs,
 * subscriptions over SSE, and masking of unexpected errors.
 */

/** The seed's twelve buckets: the ten job types plus the two asset buckets. */
const SEED_BUCKETS = [
  'sdxl_image_fast', 'sdxl_image_high', 'image_fast', 'image_high', 'video_fast', 'video_high',
  'image7b_fast_enhanced', 'image7b_high_enhanced', 'video7b_fast_enhanced', 'video7b_high_enhanced',
  'reference_images', 'workspace_assets',
];

let server: TestServer;
let workerToken: string;
/** A second server whose signed URLs live one second, with a job completed on it at start. */
let short: TestServer;
let shortJob: { url: string; bytes: Uint8Array; signedAt: number };

beforeAll(async () => {
  [server, short] = await Promise.all([startTestServer(), startTestServer({ SIGNED_URL_TTL: '1' })]);
  workerToken = await server.workerToken();
  // Completed now, so its URL expires while the other tests run.
  shortJob = { ...(await completeJob(short, await short.userToken(), fleet(short.url, await short.workerToken()))), signedAt: Date.now() };
});
afterAll(async () => {
  await Promise.all([server?.close(), short?.close()]);
});

interface RawResponse {
  status: number;
  body: string;
}

/**
 * One HTTP request with the path sent byte for byte: fetch (WHATWG URL)
 * would resolve `..` and `%2e%2e` segments before they left the client.
 */
function raw(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Uint8Array): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body ? Buffer.from(body) : undefined);
  });
}

/** Every stored object, whichever backend: files under the local storage folder, or the keys of the S3 bucket. */
async function storedObjects(s: TestServer): Promise<string[]> {
  if (s.env.S3_BUCKET) {
    const client = new S3Client({
      endpoint: s.env.S3_ENDPOINT,
      region: s.env.S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: s.env.S3_ACCESS_KEY_ID!, secretAccessKey: s.env.S3_SECRET_ACCESS_KEY! },
    });
    try {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: s.env.S3_BUCKET, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys.sort();
    } finally {
      client.destroy();
    }
  }
  const root = join(s.dataDir, 'storage');
  let entries: string[];
  try {
    entries = readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)));
  } catch {
    entries = [];
  }
  return entries.sort();
}

const PNG = (n: number) => new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, n, n, n]);

/** Queues an sdxl_image_fast job and completes it through the fleet endpoints. */
async function completeJob(s: TestServer, userToken: string, worker = fleet(s.url, workerToken)) {
  const queued = await gql(s.url, userToken, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a red kite" }) { job { id } } }`);
  expect(queued.errors).toBeUndefined();
  const id: string = queued.data!.queueJob.job.id;
  const payload = await worker.pop('sdxl_queue');
  expect(payload?.id).toBe(id);
  const path = `${payload!.user_id}/sdxl_${id}_1700000000_0.png`;
  const bytes = PNG(7);
  expect((await worker.uploadRaw('sdxl_image_fast', path, bytes)).status).toBe(200);
  expect((await worker.callback({ job_id: id, status: 'completed', assets: [path], metadata: { seed: 1 } })).status).toBe(200);
  const read = await gql(s.url, userToken, `query($id: ID!) { job(id: $id) { status assets { url path } } }`, { id });
  expect(read.data!.job.status).toBe('completed');
  return { id, path, bytes, url: read.data!.job.assets[0].url as string };
}

describe('health and readiness', () => {
  it('GET /health answers 200', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('only /health itself is the health check: an object named "health" is really stored', async () => {
    const auth = { authorization: `Bearer ${workerToken}` };
    const bytes = PNG(6);
    const res = await fetch(`${server.url}/storage/v1/object/sdxl_image_fast/u-health/health`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'image/png', 'x-upsert': 'true' },
      body: Buffer.from(bytes),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ Key: 'sdxl_image_fast/u-health/health' });
    const stored = await server.app.deps.storage.get('sdxl_image_fast', 'u-health/health');
    expect(stored && Buffer.from(stored.body).equals(Buffer.from(bytes))).toBe(true);
    expect((await fetch(`${server.url}/rpop/health`, { headers: auth })).status).toBe(400);
  });

  it('GET /ready answers 200 with a check per backend', async () => {
    const res = await fetch(`${server.url}/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'ready',
      checks: { database: 'ok', queue: 'ok', events: 'ok', storage: 'ok' },
    });
  });
});

describe('storage paths', () => {
  const ESCAPES = [
    '/storage/v1/object/sdxl_image_fast/../reference_images/x.png',
    '/storage/v1/object/sdxl_image_fast/u/../../reference_images/x.png',
    '/storage/v1/object/sdxl_image_fast/%2e%2e/reference_images/x.png',
    '/storage/v1/object/sdxl_image_fast/%2e%2e/x.png',
    '/storage/v1/object/sdxl_image_fast/.%2e/x.png',
    '/storage/v1/object/sdxl_image_fast/%2E%2E%2Freference_images%2Fx.png',
    '/storage/v1/object/sdxl_image_fast/%2E%2E%2Fx.png',
    '/storage/v1/object/sdxl_image_fast/u%2F%2E%2E%2F%2E%2E%2Freference_images%2Fx.png',
    '/storage/v1/object/sdxl_image_fast/..',
    '/storage/v1/object/..%2Freference_images/x.png',
    '/storage/v1/object/sdxl_image_fast//abs.png',
    '/storage/v1/object/sdxl_image_fast/%2Fabs.png',
    '/storage/v1/object/sdxl_image_fast/u/x%00.png',
    '/storage/v1/object/sdxl_image_fast/u/x.png%00/../../reference_images/x.png',
    '/storage/v1/object/sdxl_image_fast/..\\reference_images\\x.png',
    '/storage/v1/object/sdxl_image_fast/u\\x.png',
    '/storage/v1/object/sdxl_image_fast/..%5creference_images%5cx.png',
    '/storage/v1/object/sdxl_image_fast/u/./x.png',
  ];

  it('refuses every path that escapes its bucket, and writes nothing', async () => {
    const before = await storedObjects(server);
    for (const path of ESCAPES) {
      for (const [method, headers] of [
        ['POST', { 'x-upsert': 'true' }],
        ['PUT', {}],
      ] as const) {
        const res = await raw(server.url, method, path, {
          authorization: `Bearer ${workerToken}`,
          'content-type': 'image/png',
          ...headers,
        }, PNG(1));
        expect({ path, method, status: res.status }).toEqual({ path, method, status: 400 });
        expect(JSON.parse(res.body)).toMatchObject({ statusCode: '400', message: expect.any(String) });
      }
    }
    expect(await storedObjects(server)).toEqual(before);
    expect(await server.app.deps.storage.exists('reference_images', 'x.png')).toBe(false);
  });

  it('refuses escaping paths on signed download URLs too', async () => {
    const res = await raw(server.url, 'GET', '/storage/v1/object/sign/sdxl_image_fast/../reference_images/x.png?token=1.x');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('an unknown bucket answers 400 naming the valid buckets', async () => {
    const res = await raw(server.url, 'POST', '/storage/v1/object/not_a_bucket/u/x.png', {
      authorization: `Bearer ${workerToken}`,
      'content-type': 'image/png',
    }, PNG(1));
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body) as { message: string };
    expect(body.message).toContain('not_a_bucket');
    for (const bucket of SEED_BUCKETS) expect(body.message).toContain(bucket);
  });

  it('refuses a zero-byte upload (raw, multipart, or replacing an object) and stores nothing', async () => {
    const auth = { authorization: `Bearer ${workerToken}` };
    const keptUrl = `${server.url}/storage/v1/object/sdxl_image_fast/u-empty/kept.png`;
    expect((await fetch(keptUrl, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' }, body: Buffer.from(PNG(5)) })).status).toBe(200);
    const before = await storedObjects(server);

    const empties: Array<[string, RequestInit]> = [
      [`${server.url}/storage/v1/object/sdxl_image_fast/u-empty/raw.png`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png', 'x-upsert': 'true' }, body: new Uint8Array(0) }],
      [`${server.url}/storage/v1/object/sdxl_image_fast/u-empty/nobody.png`, { method: 'POST', headers: { ...auth, 'content-type': 'image/png' } }],
      [keptUrl, { method: 'PUT', headers: { ...auth, 'content-type': 'image/png' }, body: new Uint8Array(0) }],
    ];
    const form = new FormData();
    form.append('file', new Blob([], { type: 'video/mp4' }), 'empty.mp4');
    empties.push([`${server.url}/storage/v1/object/video_fast/u-empty/empty.mp4`, { method: 'POST', headers: auth, body: form }]);

    for (const [url, init] of empties) {
      const res = await fetch(url, init);
      expect({ url, status: res.status }).toEqual({ url, status: 400 });
      expect(await res.json()).toMatchObject({ statusCode: '400', error: 'EmptyUpload', message: expect.stringContaining('empty') });
    }
    expect(await storedObjects(server)).toEqual(before);
    const kept = await server.app.deps.storage.get('sdxl_image_fast', 'u-empty/kept.png');
    expect(Buffer.from(kept!.body).equals(Buffer.from(PNG(5)))).toBe(true);
  });

  it('without x-upsert an existing object is kept; with x-upsert it is replaced', async () => {
    const auth = { authorization: `Bearer ${workerToken}` };
    const url = `${server.url}/storage/v1/object/video_fast/u1/keep.mp4`;
    const first = PNG(1);
    const put = (bytes: Uint8Array, headers: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { ...auth, 'content-type': 'video/mp4', ...headers }, body: Buffer.from(bytes) });
    expect((await put(first)).status).toBe(200);

    const again = await put(PNG(2));
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(again.status).toBeLessThan(500);
    expect(await again.json()).toMatchObject({ statusCode: '409', message: expect.stringContaining('x-upsert') });

    // The WAN worker's multipart style, also without x-upsert.
    const form = new FormData();
    form.append('file', new Blob([Buffer.from(PNG(3))], { type: 'video/mp4' }), 'keep.mp4');
    const multipart = await fetch(url, { method: 'POST', headers: auth, body: form });
    expect(multipart.status).toBeGreaterThanOrEqual(400);
    expect(multipart.status).toBeLessThan(500);

    const kept = await server.app.deps.storage.get('video_fast', 'u1/keep.mp4');
    expect(Buffer.from(kept!.body).equals(Buffer.from(first))).toBe(true);

    expect((await put(PNG(4), { 'x-upsert': 'true' })).status).toBe(200);
    const replaced = await server.app.deps.storage.get('video_fast', 'u1/keep.mp4');
    expect(Buffer.from(replaced!.body).equals(Buffer.from(PNG(4)))).toBe(true);
  });
});

describe('signed asset URLs', () => {
  let job: Awaited<ReturnType<typeof completeJob>>;

  it('a fresh URL downloads exactly the uploaded bytes', async () => {
    job = await completeJob(server, await server.userToken());
    const ok = await fetch(job.url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(Buffer.from(job.bytes))).toBe(true);
  });

  // s3rver (the production project's S3) does not verify SigV4 signatures at
  // all, so a tampered presigned URL still downloads there; only the expiry
  // test below applies to it. Real S3/MinIO/R2 refuse tampered URLs, so the test is registered on local disk only.
  if (!production) it('a changed path, bucket, signature or expiry is refused', async () => {
    // Another object that exists, so a refusal cannot be a mere 404.
    const other = `${job.path.split('/')[0]}/other.png`;
    expect((await fleet(server.url, workerToken).uploadRaw('sdxl_image_fast', other, PNG(9))).status).toBe(200);

    const url = new URL(job.url);
    const tokenParam = url.searchParams.get('token')!;
    const [expires, signature] = tokenParam.split('.');
    const flip = (s: string) => s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    const variants: Record<string, string> = {
      'other path': job.url.replace(encodeURIComponent(job.path.split('/')[1]!), 'other.png'),
      'other bucket': job.url.replace('/sdxl_image_fast/', '/sdxl_image_high/'),
      'changed signature': withToken(url, `${expires}.${flip(signature!)}`),
      'longer expiry': withToken(url, `${Number(expires) + 3_600_000}.${signature}`),
      'no token': withToken(url, null),
    };
    expect(variants['other path']).not.toBe(job.url);
    for (const [what, tampered] of Object.entries(variants)) {
      const res = await fetch(tampered);
      expect({ what, status: res.status }).toEqual({ what, status: 403 });
      expect(await res.text()).not.toContain('PNG');
    }
  });

  it('a URL is refused once SIGNED_URL_TTL has passed', async () => {
    await new Promise((r) => setTimeout(r, Math.max(0, shortJob.signedAt + 2200 - Date.now())));
    const res = await fetch(shortJob.url);
    expect(res.status).toBe(403);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(shortJob.bytes))).toBe(false);
  });
});

function withToken(url: URL, token: string | null): string {
  const copy = new URL(url);
  if (token === null) copy.searchParams.delete('token');
  else copy.searchParams.set('token', token);
  return copy.toString();
}

/** Reads a GraphQL-over-SSE response (distinct connections mode) to its end. */
async function* sseEvents(res: Response): AsyncGenerator<{ event: string; data: string }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length || event !== 'message') yield { event, data: data.join('\n') };
    }
  }
}

describe('subscriptions over SSE', () => {
  it('jobUpdated streams queued then completed, then the stream ends', async () => {
    const token = await server.userToken();
    const worker = fleet(server.url, workerToken);
    const queued = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a quiet harbour" }) { job { id } } }`);
    const id: string = queued.data!.queueJob.job.id;

    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: `subscription($id: ID!) { jobUpdated(id: $id) { id status progress assets { path url } } }`,
        variables: { id },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');

    let path = '';
    const drive = async () => {
      const payload = await worker.pop('sdxl_queue');
      path = `${payload!.user_id}/sdxl_${id}_1700000000_0.png`;
      await worker.uploadRaw('sdxl_image_fast', path, PNG(5));
      await worker.callback({ job_id: id, status: 'completed', assets: [path] });
    };
    const seen: Array<{ event: string; data: string }> = [];
    let finished = false;
    const reading = (async () => {
      for await (const e of sseEvents(res)) {
        seen.push(e);
        // The fleet completes the job once the first (current state) event arrived.
        if (seen.length === 1) void drive();
      }
      finished = true;
    })();
    await Promise.race([reading, new Promise((_, reject) => setTimeout(() => reject(new Error(`stream did not end; got ${JSON.stringify(seen)}`)), 10_000))]);
    expect(finished).toBe(true);

    const nexts = seen.filter((e) => e.event === 'next').map((e) => JSON.parse(e.data).data.jobUpdated);
    expect(nexts.map((j: { status: string }) => j.status)).toEqual(['queued', 'completed']);
    expect(nexts[1]).toMatchObject({ id, progress: 100, assets: [{ path }] });
    expect(seen.at(-1)!.event).toBe('complete');
  });
});

describe('unexpected errors are masked', () => {
  const db = () => server.app.deps.db;

  it('a failing database statement in a mutation becomes INTERNAL_SERVER_ERROR with an error id, no SQL or stack', async () => {
    const token = await server.userToken();
    const me = await gql(server.url, token, `{ me { credits } }`);
    const credits: number = me.data!.me.credits;
    // A real failure inside queueJob's transaction: the table it logs usage in is gone.
    await db().execute(sql.raw('alter table usage_logs rename to usage_logs_hidden_by_test'));
    let result;
    try {
      result = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a lantern" }) { job { id } } }`);
    } finally {
      await db().execute(sql.raw('alter table usage_logs_hidden_by_test rename to usage_logs'));
    }
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    const [error] = result.errors!;
    expect(error.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(error.message).toMatch(/error id [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
    expect(error.message).toContain(String(error.extensions?.errorId));
    assertRevealsNothing(JSON.stringify(result));
    // The transaction rolled back: nothing was charged.
    expect((await gql(server.url, token, `{ me { credits } }`)).data!.me.credits).toBe(credits);
  });

  it('a failing database statement behind a worker endpoint answers 500 with an error id, no SQL or stack', async () => {
    await db().execute(sql.raw('alter table jobs rename to jobs_hidden_by_test'));
    let res: Response;
    let text: string;
    try {
      res = await fleet(server.url, workerToken).callback({ job_id: crypto.randomUUID(), status: 'processing', progress: 5 });
      text = await res.text();
    } finally {
      await db().execute(sql.raw('alter table jobs_hidden_by_test rename to jobs'));
    }
    expect(res.status).toBe(500);
    const body = JSON.parse(text) as { details: string; debug: { errorId: string } };
    expect(body.debug.errorId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.details).toContain(body.debug.errorId);
    assertRevealsNothing(text);
  });
});

function assertRevealsNothing(text: string): void {
  for (const leak of ['usage_logs', 'jobs_hidden', 'relation', 'insert into', 'select ', 'update ', 'does not exist', '.ts:', 'node_modules', 'stacktrace', '    at ']) {
    expect(text.toLowerCase()).not.toContain(leak);
  }
}
