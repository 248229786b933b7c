import { eq, inArray, and } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, users } from '../../src/db/schema.js';
import {
  collect,
  createBackends,
  fleet,
  gql,
  newUser,
  production,
  startOn,
  startTestServer,
  wsClient,
  type Backends,
  type TestServer,
  type TestUser,
} from '../helpers/app.js';

/**
 * RATE_LIMIT_PER_MINUTE (per user, per IP without a token; GraphQL, SSE,
 * websockets and REST share one budget) and MAX_ACTIVE_JOBS_PER_USER: both
 * answer RATE_LIMITED (429 with retry-after over HTTP) with the limit and when
 * to try again, and a refused request changes nothing.
 */

const QUEUE = `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat" }) { job { id } } }`;

/** State read without spending the user's budget: the database and the worker endpoints (not rate limited). */
async function state(server: TestServer, userId: string) {
  const db = server.app.deps.db;
  const worker = fleet(server.url, await server.workerToken());
  const [u] = await db.select({ credits: users.credits }).from(users).where(eq(users.id, userId));
  const rows = await db.select({ id: jobs.id, status: jobs.status }).from(jobs).where(eq(jobs.userId, userId));
  return {
    credits: u?.credits ?? null,
    jobs: rows.map((r) => `${r.id}:${r.status}`).sort(),
    sdxl: await worker.llen('sdxl_queue'),
    wan: await worker.llen('wan_queue'),
  };
}

function rest(server: TestServer, token: string | null) {
  return fetch(`${server.url}/functions/v1/queue-job`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jobType: 'sdxl_image_fast', metadata: { prompt: 'a dog' } }),
  });
}

async function graphql(server: TestServer, token: string | null, query: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { res, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> } };
}

function expectRetryAfter(res: Response) {
  const seconds = Number(res.headers.get('retry-after'));
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
}

describe('RATE_LIMIT_PER_MINUTE', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses the request after the limit with 429, retry-after and RATE_LIMITED naming the limit; nothing changes', async () => {
    const user = await newUser(server);
    for (let i = 0; i < 4; i++) expect((await graphql(server, user.token, `{ me { credits } }`)).res.status).toBe(200);
    expect((await rest(server, user.token)).status).toBe(200); // GraphQL and REST share one budget
    const before = await state(server, user.id);

    const { res, body } = await graphql(server, user.token, QUEUE);
    expect(res.status).toBe(429);
    expectRetryAfter(res);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 5 });
    expect(body.errors?.[0]?.message).toMatch(/at most 5 requests per minute per user .*Try again in \d+ s \(after \d{4}-/);

    const refused = await rest(server, user.token);
    expect(refused.status).toBe(429);
    expectRetryAfter(refused);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
    const seedBody = await refused.json();
    expect(seedBody).toMatchObject({ success: false, error: 'Too many requests', debug: { errorType: 'RATE_LIMITED', limit: 5 } });
    expect(seedBody.details).toMatch(/at most 5 requests per minute/);

    expect(await state(server, user.id)).toEqual(before);

    // Another user has a budget of their own.
    const other = await newUser(server);
    expect((await graphql(server, other.token, QUEUE)).body.errors).toBeUndefined();
  });

  it('counts requests without a token per IP address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await graphql(server, null, `{ jobTypes { jobType } }`)).res.status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  it('counts websocket operations in the same budget', async () => {
    const user = await newUser(server);
    for (let i = 0; i < 5; i++) expect((await graphql(server, user.token, `{ me { credits } }`)).res.status).toBe(200);
    const client = wsClient(server.wsUrl, user.token);
    try {
      const sub = collect(client, `subscription { myJobUpdates { id } }`);
      await sub.completed();
      const errors = sub.error as Array<{ message: string; extensions?: Record<string, unknown> }>;
      expect(errors[0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 5 });
    } finally {
      await client.dispose();
    }
  });

  it('does not count the worker endpoints', async () => {
    const worker = fleet(server.url, await server.workerToken());
    for (let i = 0; i < 12; i++) expect(await worker.llen('sdxl_queue')).toBeGreaterThanOrEqual(0);
  });
});

describe.runIf(production)('RATE_LIMIT_PER_MINUTE across instances (counters in Redis)', () => {
  let backends: Backends;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    backends = await createBackends();
    a = await startOn(backends.env, { RATE_LIMIT_PER_MINUTE: '6' });
    b = await startOn(backends.env, { RATE_LIMIT_PER_MINUTE: '6' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await backends?.close();
  });

  it('holds the limit however requests are spread over the instances', async () => {
    const user = await newUser(a);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await graphql(i % 2 ? b : a, user.token, `{ me { credits } }`)).res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429]);
  });
});

describe('MAX_ACTIVE_JOBS_PER_USER', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MAX_ACTIVE_JOBS_PER_USER: '3' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses a job past the limit of queued + running jobs with RATE_LIMITED; nothing changes; a finished job frees a place', async () => {
    const user = await newUser(server);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await gql(server.url, user.token, QUEUE);
      expect(res.errors).toBeUndefined();
      ids.push(res.data!.queueJob.job.id);
    }
    // One of them running: still active.
    const worker = fleet(server.url, await server.workerToken());
    expect((await worker.callback({ job_id: ids[0], status: 'processing', progress: 10 })).status).toBe(200);
    const before = await state(server, user.id);

    const refused = await gql(server.url, user.token, QUEUE);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 3, active: 3 });
    expect(refused.errors?.[0]?.message).toMatch(/You have 3 jobs queued or running, the most one user may have at once \(3\)/);
    const viaRest = await rest(server, user.token);
    expect(viaRest.status).toBe(429);
    expectRetryAfter(viaRest);
    expect((await viaRest.json()).details).toMatch(/the most one user may have at once \(3\)/);
    expect(await state(server, user.id)).toEqual(before);

    // Finishing or cancelling one frees its place.
    const cancel = await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: ids[1] });
    expect(cancel.errors).toBeUndefined();
    expect((await gql(server.url, user.token, QUEUE)).errors).toBeUndefined();
  });

  it('holds under concurrent requests', async () => {
    const user = await newUser(server);
    const results = await Promise.all(Array.from({ length: 10 }, () => gql(server.url, user.token, QUEUE)));
    const ok = results.filter((r) => !r.errors);
    expect(ok).toHaveLength(3);
    expect(results.filter((r) => r.errors?.[0]?.extensions?.code === 'RATE_LIMITED')).toHaveLength(7);
    const active = await server.app.deps.db
      .select({ id: jobs.id })
      .from(jobs)
      .where(and(eq(jobs.userId, user.id), inArray(jobs.status, ['queued', 'processing'])));
    expect(active).toHaveLength(3);
  });
});
