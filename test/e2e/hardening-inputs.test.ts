import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, newUser, startTestServer, type TestServer, type TestUser, serverForFile, type Fleet } from '../helpers/app.js';
import { snapshot } from '../helpers/unchanged.js';

/**
 * Holes found by the attack run in what reaches the domain: a worker naming
 * another user's file, inputs that reached SQL as a 500, prompts that only
 * look blank, and reference URLs into private networks. Each refusal must
 * change nothing.
 */

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

const QUEUE = `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id prompt status } } }`;
const JOB = `query($id: ID!) { job(id: $id) { id status progress assets { path url } } }`;

async function queueOk(user: TestUser, input: Record<string, unknown>) {
  const res = await gql(server.url, user.token, QUEUE, { i: input });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job as { id: string; prompt: string; status: string };
}

async function popFor(queue: string, id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 200; i++) {
    const payload = await worker.pop(queue);
    if (payload === null) break;
    if (payload.id === id) return payload;
  }
  throw new Error(`job ${id} is not in ${queue}`);
}

function restQueue(token: string, body: unknown) {
  return fetch(`${server.url}/functions/v1/queue-job`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('hole 1: outputs must lie in the job owner\'s folder', () => {
  it('refuses a completed callback naming another user\'s file with 400; nothing changes; the owner\'s own path works', async () => {
    const owner = await newUser(server);
    const victim = await newUser(server);
    const job = await queueOk(owner, { jobType: 'sdxl_image_fast', prompt: 'a lighthouse' });
    const payload = await popFor('sdxl_queue', job.id);
    expect(payload.user_id).toBe(owner.id);

    // The victim's private file, as their own job's output would be stored.
    const stolen = `${victim.id}/private.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', stolen, new Uint8Array([137, 80, 78, 71, 1]))).status).toBe(200);
    const before = await snapshot(server, owner);

    for (const assets of [[stolen], [`${owner.id}/mine.png`, stolen], ['loose.png'], [`${owner.id.toUpperCase()}x/a.png`]]) {
      const res = await worker.callback({ job_id: job.id, status: 'completed', assets });
      expect(res.status, JSON.stringify(assets)).toBe(400);
      const body = await res.json();
      expect(body.details).toMatch(/not in the job owner's folder/);
      expect(body.details).toContain(`${owner.id}/`);
    }
    expect(await snapshot(server, owner)).toEqual(before);
    const still = await gql(server.url, owner.token, JOB, { id: job.id });
    expect(still.data!.job).toMatchObject({ status: 'queued', assets: [] });

    const own = `${owner.id}/sdxl_${job.id}_0.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', own, new Uint8Array([137, 80, 78, 71, 2]))).status).toBe(200);
    expect((await worker.callback({ job_id: job.id, status: 'completed', assets: [own] })).status).toBe(200);
    const done = await gql(server.url, owner.token, JOB, { id: job.id });
    expect(done.data!.job.status).toBe('completed');
    expect(done.data!.job.assets.map((a: { path: string }) => a.path)).toEqual([own]);
  });
});

describe('hole 4: user values that reached SQL as a 500', () => {
  it('refuses jobs(after:) cursors with out-of-range dates as BAD_USER_INPUT', async () => {
    const user = await newUser(server);
    await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'one' });
    const cursor = (date: unknown, id: unknown = randomUUID()) => Buffer.from(JSON.stringify([date, id])).toString('base64url');
    const forged = [
      cursor('+275760-09-13T00:00:00.000Z'),
      cursor('+010000-01-01T00:00:00.000Z'),
      cursor('-004714-01-01T00:00:00.000Z'),
      cursor('-271821-04-20T00:00:00.000Z'),
      cursor(8.64e15),
      cursor('2026-01-01T00:00:00Z', 42),
      Buffer.from('{"a":1}').toString('base64url'),
    ];
    for (const after of forged) {
      const res = await gql(server.url, user.token, `query($a: String) { jobs(after: $a) { edges { node { id } } } }`, { a: after });
      expect(res.errors?.[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/Invalid "after" cursor/);
    }
    // A real cursor still pages.
    const page = await gql(server.url, user.token, `{ jobs(first: 1) { pageInfo { endCursor } } }`);
    const next = await gql(server.url, user.token, `query($a: String) { jobs(after: $a) { edges { node { id } } } }`, {
      a: page.data!.jobs.pageInfo.endCursor,
    });
    expect(next.errors).toBeUndefined();
  });

  it('REST queue-job reusing a videoId or imageId answers 400 naming the field; nothing changes', async () => {
    const first = await newUser(server);
    const second = await newUser(server);
    const videoId = randomUUID();
    const imageId = randomUUID();
    expect((await restQueue(first.token, { jobType: 'video_fast', metadata: { prompt: 'waves' }, videoId })).status).toBe(200);
    expect((await restQueue(first.token, { jobType: 'sdxl_image_fast', metadata: { prompt: 'cat' }, imageId })).status).toBe(200);

    for (const user of [first, second]) {
      const before = await snapshot(server, user);
      const video = await restQueue(user.token, { jobType: 'video_fast', metadata: { prompt: 'waves again' }, videoId });
      expect(video.status).toBe(400);
      expect((await video.json()).details).toMatch(new RegExp(`videoId ${videoId} is already in use`));
      const image = await restQueue(user.token, { jobType: 'image_fast', metadata: { prompt: 'cat again' }, imageId });
      expect(image.status).toBe(400);
      expect((await image.json()).details).toMatch(new RegExp(`imageId ${imageId} is already in use`));
      expect(await snapshot(server, user)).toEqual(before);
    }
  });

  it('refuses unpaired UTF-16 surrogates (which jsonb cannot hold) in every free-text input; nothing changes', async () => {
    const user = await newUser(server);
    const before = await snapshot(server, user);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ jobType: 'sdxl_image_fast', prompt: 'a cat \ud800' }, 'prompt'],
      [{ jobType: 'sdxl_image_fast', prompt: 'a cat', projectId: 'p\udc00' }, 'projectId'],
      [{ jobType: 'sdxl_image_fast', prompt: 'a cat', idempotencyKey: 'k\ud83d' }, 'idempotencyKey'],
      [{ jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: `reference_images/${user.id}/a\ud800.png`, type: 'style' }] }, 'references[0].url'],
    ];
    for (const [input, field] of cases) {
      const res = await gql(server.url, user.token, QUEUE, { i: input });
      expect(res.errors?.[0]?.extensions?.code, field).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.extensions?.field).toBe(field);
    }
    const rest = await restQueue(user.token, { jobType: 'sdxl_image_fast', metadata: { prompt: 'x\udfff' } });
    expect(rest.status).toBe(400);
    expect(await snapshot(server, user)).toEqual(before);
  });

  it('a callback with unpaired surrogates keeps its outcome; an asset path with one is refused', async () => {
    const user = await newUser(server);
    const job = await queueOk(user, { jobType: 'sdxl_image_fast', prompt: 'surrogates' });
    await popFor('sdxl_queue', job.id);
    const bad = await worker.callback({ job_id: job.id, status: 'completed', assets: [`${user.id}/a\ud800.png`] });
    expect(bad.status).toBe(400);
    const res = await worker.callback({ job_id: job.id, status: 'failed', error_message: 'oops \udc00', metadata: { ['k\ud800']: 'v\ud800' } });
    expect(res.status).toBe(200);
    const got = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { status errorMessage } }`, { id: job.id });
    expect(got.data!.job).toEqual({ status: 'failed', errorMessage: 'oops \ufffd' });
  });
});

describe('hole 5: prompts are cleaned before they are stored or sent', () => {
  it('refuses prompts made only of Unicode whitespace and invisible characters; nothing changes', async () => {
    const user = await newUser(server);
    const before = await snapshot(server, user);
    const blanks = ['\u0085', '\u2028\u2029', '\u200b\u200c\u200d', '\ufeff\u2060', '\u3000\u00a0\u1680', '\u3164\u115f', '\u180e \t\n', '\u0001\u0085\u009f'];
    for (const prompt of blanks) {
      const res = await gql(server.url, user.token, QUEUE, { i: { jobType: 'sdxl_image_fast', prompt } });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(prompt)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/prompt must be 1 to 2000 characters/);
    }
    const rest = await restQueue(user.token, { jobType: 'sdxl_image_fast', metadata: { prompt: '\u2028\u200b\u0085' } });
    expect(rest.status).toBe(400);
    expect(await snapshot(server, user)).toEqual(before);
  });

  it('strips C0/C1 control characters (keeping tabs and newlines) from what is stored and what the worker gets', async () => {
    const user = await newUser(server);
    const job = await queueOk(user, {
      jobType: 'sdxl_image_fast',
      prompt: '\u200b\u00a0 a\u0007 red\u001b[31m cat\u009b\r\non a\tmat\rnext\u0085line \u2028',
    });
    const expected = 'a red[31m cat\non a\tmat\nnextline';
    expect(job.prompt).toBe(expected);
    const payload = await popFor('sdxl_queue', job.id);
    expect(payload.prompt).toBe(expected);
  });
});

describe('hole 10: reference URLs into loopback, private or link-local networks', () => {
  const PRIVATE = [
    'http://127.0.0.1/a.png',
    'http://127.1.2.3:8080/a.png',
    'http://localhost:4000/a.png',
    'http://10.0.0.5/a.png',
    'http://192.168.1.10/a.png',
    'http://172.16.0.1/a.png',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/a.png',
    'http://0.0.0.0/a.png',
    'http://[::1]/a.png',
    'http://[::ffff:127.0.0.1]/a.png',
    'http://[fe80::1]/a.png',
    'http://[fd00::1]/a.png',
    'http://2130706433/a.png',
    'http://0x7f.1/a.png',
    'http://does-not-resolve.invalid/a.png',
  ];

  it('refuses them on GraphQL and REST with the reason; nothing changes', async () => {
    const user = await newUser(server);
    const before = await snapshot(server, user);
    for (const url of PRIVATE) {
      const res = await gql(server.url, user.token, QUEUE, {
        i: { jobType: 'video_fast', prompt: 'a cat', references: [{ url, type: 'start_frame' }] },
      });
      expect(res.errors?.[0]?.extensions?.code, url).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message).toMatch(/^references\[0\]\.url is refused: .*(not a public one|does not resolve)/);
    }
    const rest = await restQueue(user.token, {
      jobType: 'sdxl_image_fast',
      metadata: { prompt: 'a cat', reference_image_url: 'http://169.254.169.254/latest/meta-data/iam' },
    });
    expect(rest.status).toBe(400);
    const body = await rest.json();
    expect(body.details).toMatch(/^metadata\.reference_image_url is refused: "169\.254\.169\.254" is a link-local address/);
    expect(await snapshot(server, user)).toEqual(before);
  });

  it('accepts public addresses', async () => {
    const user = await newUser(server);
    await queueOk(user, { jobType: 'video_fast', prompt: 'a cat', references: [{ url: 'https://93.184.215.14/a.png', type: 'start_frame' }] });
    await queueOk(user, { jobType: 'video_fast', prompt: 'a cat', references: [{ url: 'https://[2606:4700::6810:84e5]/a.png', type: 'end_frame' }] });
  });
});

describe('hole 10: REFERENCE_ALLOW_PRIVATE=true', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ REFERENCE_ALLOW_PRIVATE: 'true' });
  });
  afterAll(async () => {
    await open?.close();
  });

  it('accepts private reference URLs when the deployment allows them', async () => {
    const user = await newUser(open);
    const res = await gql(open.url, user.token, QUEUE, {
      i: { jobType: 'sdxl_image_fast', prompt: 'a cat', references: [{ url: 'http://127.0.0.1:9/ref.png', type: 'style' }] },
    });
    expect(res.errors).toBeUndefined();
  });
});
