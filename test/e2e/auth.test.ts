import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../src/db/schema.js';
import { collect, gql, TEST_JWT_SECRET, wsClient, type GqlResult, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';

/** Tokens and ownership (http-contract.md "Tokens", issue 2 "Domain rules"). */

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const future = () => Math.floor(Date.now() / 1000) + 3600;

function sign(claims: Record<string, unknown>, secret: string, exp: number, alg = 'HS256') {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setIssuedAt(exp - 7200)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

const codeOf = (res: GqlResult) => res.errors?.[0]?.extensions?.code;

type WsError = { message: string; code: unknown };

/**
 * A refused subscription ends without data, its errors arriving either as a
 * graphql-ws `error` message (refused before execution, e.g. a bad token) or
 * as one result with `errors` and then `complete` (refused by the resolver).
 */
async function refusal(sub: ReturnType<typeof collect>): Promise<WsError[]> {
  await sub.completed();
  const raw = (Array.isArray(sub.error) ? sub.error : sub.events.flatMap((e) => e.errors ?? [])) as Array<{
    message: string;
    extensions?: Record<string, unknown>;
  }>;
  expect(sub.events.every((e) => e.data == null)).toBe(true);
  expect(sub.events.length).toBeLessThanOrEqual(1);
  return raw.map((e) => ({ message: e.message, code: e.extensions?.code }));
}
const ME = `{ me { id credits } }`;

async function queueJob(token: string, input: Record<string, unknown> = { jobType: 'sdxl_image_fast', prompt: 'mine' }) {
  const res = await gql(server.url, token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id status } } }`, { i: input });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job as { id: string; status: string };
}

/** The job's row, minus the Redis-window bookkeeping the scheduler may rewrite at any moment. */
async function jobRow(id: string) {
  const [row] = await server.app.deps.db.select().from(jobs).where(eq(jobs.id, id));
  const { dispatchedAt: _d, dispatchEpoch: _e, ...rest } = row;
  return rest;
}

describe('user tokens on GraphQL', () => {
  it('a valid user token works', async () => {
    const sub = randomUUID();
    const res = await gql(server.url, await server.userToken(sub), ME);
    expect(res.errors).toBeUndefined();
    expect(res.data!.me).toEqual({ id: sub, credits: 100 });
  });

  it('no token → UNAUTHENTICATED', async () => {
    const res = await gql(server.url, null, ME);
    expect(res.data ?? null).toBeNull();
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
    expect(res.errors![0].message).toMatch(/Authorization: Bearer/);
  });

  it('a token that is not a JWT → UNAUTHENTICATED', async () => {
    const res = await gql(server.url, 'not-a-jwt', ME);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
  });

  it('an alg:none token → UNAUTHENTICATED', async () => {
    for (const role of ['authenticated', 'admin', 'service_role']) {
      const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: randomUUID(), role, exp: future() })}.`;
      const res = await gql(server.url, token, ME);
      expect(res.data ?? null).toBeNull();
      expect(codeOf(res)).toBe('UNAUTHENTICATED');
      // And the worker endpoints do not take it either.
      expect((await fetch(`${server.url}/llen/sdxl_queue`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    }
  });

  it('a token signed with another secret → UNAUTHENTICATED', async () => {
    const token = await sign({ sub: randomUUID(), role: 'authenticated' }, 'some-other-secret-0123456789abcdef0123', future());
    const res = await gql(server.url, token, ME);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
  });

  it('a valid token with its signature swapped for another → UNAUTHENTICATED', async () => {
    const good = await server.userToken(randomUUID());
    const other = await server.userToken(randomUUID());
    const [h, p] = good.split('.');
    const forged = `${h}.${b64url({ sub: randomUUID(), role: 'admin', exp: future() })}.${good.split('.')[2]}`;
    for (const token of [forged, `${h}.${p}.${other.split('.')[2]}`]) {
      expect(codeOf(await gql(server.url, token, ME))).toBe('UNAUTHENTICATED');
    }
  });

  it('an expired token → UNAUTHENTICATED, saying it expired', async () => {
    const token = await sign({ sub: randomUUID(), role: 'authenticated' }, TEST_JWT_SECRET, Math.floor(Date.now() / 1000) - 60);
    const res = await gql(server.url, token, ME);
    expect(codeOf(res)).toBe('UNAUTHENTICATED');
    expect(res.errors![0].message).toMatch(/expired/);
  });

  it('a correctly signed token whose sub is not a UUID → UNAUTHENTICATED', async () => {
    const token = await sign({ sub: 'alice', role: 'authenticated' }, TEST_JWT_SECRET, future());
    expect(codeOf(await gql(server.url, token, ME))).toBe('UNAUTHENTICATED');
    const noSub = await sign({ role: 'authenticated' }, TEST_JWT_SECRET, future());
    expect(codeOf(await gql(server.url, noSub, ME))).toBe('UNAUTHENTICATED');
  });

  it('an HS512 token with the right secret is refused (the algorithm is pinned)', async () => {
    const token = await sign({ sub: randomUUID(), role: 'authenticated' }, TEST_JWT_SECRET, future(), 'HS512');
    expect(codeOf(await gql(server.url, token, ME))).toBe('UNAUTHENTICATED');
  });

  it('a worker token on GraphQL → FORBIDDEN, for queries and mutations', async () => {
    for (const token of [await server.workerToken(), await server.userToken(randomUUID(), 'worker')]) {
      const me = await gql(server.url, token, ME);
      expect(me.data ?? null).toBeNull();
      expect(codeOf(me)).toBe('FORBIDDEN');
      const q = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "x" }) { job { id } } }`);
      expect(codeOf(q)).toBe('FORBIDDEN');
    }
  });
});

describe('the worker endpoints', () => {
  it('refuse a user token with 403 and change nothing', async () => {
    const userId = randomUUID();
    const user = await server.userToken(userId);
    const admin = await server.userToken(randomUUID(), 'admin');
    const job = await queueJob(user);
    const before = await jobRow(job.id);
    const llen = await worker.llen('sdxl_queue');
    expect(llen).toBeGreaterThanOrEqual(1);

    for (const token of [user, admin]) {
      const headers = { authorization: `Bearer ${token}` };
      const pop = await fetch(`${server.url}/rpop/sdxl_queue`, { headers });
      expect(pop.status).toBe(403);
      expect(await pop.text()).not.toContain(job.id);
      expect((await fetch(`${server.url}/rpop/sdxl_queue`, { method: 'POST', headers })).status).toBe(403);
      expect((await fetch(`${server.url}/llen/sdxl_queue`, { headers })).status).toBe(403);
      const up = await fetch(`${server.url}/storage/v1/object/sdxl_image_fast/${userId}/evil.png`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'image/png', 'x-upsert': 'true' },
        body: Buffer.from([1, 2, 3]),
      });
      expect(up.status).toBe(403);
      const cb = await fetch(`${server.url}/functions/v1/job-callback`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: job.id, status: 'failed', error_message: 'user says so' }),
      });
      expect(cb.status).toBe(403);
    }

    expect(await server.app.deps.storage.exists('sdxl_image_fast', `${userId}/evil.png`)).toBe(false);
    expect(await worker.llen('sdxl_queue')).toBe(llen);
    expect(await jobRow(job.id)).toEqual(before);
    expect((await gql(server.url, user, ME)).data!.me.credits).toBe(99);
    // The worker still gets the job.
    let found = false;
    for (let p = await worker.pop('sdxl_queue'); p !== null && !found; p = found ? null : await worker.pop('sdxl_queue')) {
      found = p.id === job.id;
    }
    expect(found).toBe(true);
  });

  it('answer 401 without a token, or with a bad one, and change nothing', async () => {
    const userId = randomUUID();
    const user = await server.userToken(userId);
    const job = await queueJob(user);
    const before = await jobRow(job.id);
    const llen = await worker.llen('sdxl_queue');
    const expired = await sign({ sub: 'w', role: 'service_role' }, TEST_JWT_SECRET, Math.floor(Date.now() / 1000) - 10);
    const forged = await sign({ sub: 'w', role: 'service_role' }, 'not-the-secret-not-the-secret-1234', future());
    for (const headers of [{}, { authorization: 'Bearer garbage' }, { authorization: `Bearer ${expired}` }, { authorization: `Bearer ${forged}` }] as Array<Record<string, string>>) {
      expect((await fetch(`${server.url}/rpop/sdxl_queue`, { headers })).status).toBe(401);
      expect((await fetch(`${server.url}/llen/wan_queue`, { headers })).status).toBe(401);
      const up = await fetch(`${server.url}/storage/v1/object/sdxl_image_fast/${userId}/anon.png`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'image/png' },
        body: Buffer.from([1, 2, 3]),
      });
      expect(up.status).toBe(401);
      const cb = await fetch(`${server.url}/functions/v1/job-callback`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: job.id, status: 'processing', progress: 50 }),
      });
      expect(cb.status).toBe(401);
    }
    expect(await server.app.deps.storage.exists('sdxl_image_fast', `${userId}/anon.png`)).toBe(false);
    expect(await worker.llen('sdxl_queue')).toBe(llen);
    expect(await jobRow(job.id)).toEqual(before);
  });

  it('accept both worker roles', async () => {
    for (const role of ['worker', 'service_role']) {
      const token = await server.userToken(randomUUID(), role);
      const res = await fetch(`${server.url}/llen/wan_queue`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(typeof ((await res.json()) as { result: unknown }).result).toBe('number');
    }
  });
});

describe("another user's job is indistinguishable from a missing one", () => {
  const GET = `query($id: ID!) { job(id: $id) { id status prompt } }`;
  const CANCEL = `mutation($id: ID!) { cancelJob(id: $id) { id status } }`;
  const WATCH = `subscription($id: ID!) { jobUpdated(id: $id) { id status } }`;
  const normalise = (message: string, id: string) => message.replaceAll(id, '<id>');

  it('job(id) → null, cancelJob → NOT_FOUND exactly as for a random id, and the owner sees no change', async () => {
    const aliceId = randomUUID();
    const alice = await server.userToken(aliceId);
    const bob = await server.userToken(randomUUID());
    const job = await queueJob(alice);
    const missing = randomUUID();

    const seen = await gql(server.url, bob, GET, { id: job.id });
    expect(seen.errors).toBeUndefined();
    expect(seen.data!.job).toBeNull();
    expect((await gql(server.url, bob, GET, { id: missing })).data!.job).toBeNull();

    const cancelOther = await gql(server.url, bob, CANCEL, { id: job.id });
    const cancelMissing = await gql(server.url, bob, CANCEL, { id: missing });
    expect(codeOf(cancelOther)).toBe('NOT_FOUND');
    expect(cancelOther.data ?? null).toEqual(cancelMissing.data ?? null);
    expect(cancelOther.errors!.map((e) => ({ ...e, message: normalise(e.message, job.id) }))).toEqual(
      cancelMissing.errors!.map((e) => ({ ...e, message: normalise(e.message, missing) })),
    );

    const own = await gql(server.url, alice, GET, { id: job.id });
    expect(own.data!.job).toEqual({ id: job.id, status: 'queued', prompt: 'mine' });
    expect((await gql(server.url, alice, ME)).data!.me.credits).toBe(99);
    expect((await gql(server.url, bob, ME)).data!.me.credits).toBe(100);
    expect((await jobRow(job.id)).status).toBe('queued');
  });

  it('jobUpdated over websockets → the same error as for a nonexistent id', async () => {
    const alice = await server.userToken(randomUUID());
    const bob = await server.userToken(randomUUID());
    const job = await queueJob(alice);
    const missing = randomUUID();
    const client = wsClient(server.wsUrl, bob);
    try {
      const other = await refusal(collect(client, WATCH, { id: job.id }));
      const none = await refusal(collect(client, WATCH, { id: missing }));
      const normalised = (errs: WsError[], id: string) => errs.map((e) => ({ ...e, message: normalise(e.message, id) }));
      expect(other).toEqual([{ message: expect.stringContaining('not found'), code: 'NOT_FOUND' }]);
      expect(normalised(other, job.id)).toEqual(normalised(none, missing));
    } finally {
      await client.dispose();
    }
    // Alice can watch her own job on the same server.
    const mine = wsClient(server.wsUrl, alice);
    try {
      const sub = collect(mine, WATCH, { id: job.id });
      await sub.next(1);
      expect(sub.events[0].data!.jobUpdated).toEqual({ id: job.id, status: 'queued' });
      sub.unsubscribe();
    } finally {
      await mine.dispose();
    }
  });

  it("myJobUpdates does not carry another user's changes", async () => {
    const alice = await server.userToken(randomUUID());
    const bob = await server.userToken(randomUUID());
    const client = wsClient(server.wsUrl, bob);
    try {
      const sub = collect(client, `subscription { myJobUpdates { id status } }`);
      const bobs: string[] = [];
      // The subscription registers asynchronously: queue Bob's jobs until one of his changes arrives.
      for (let i = 0; i < 20 && sub.events.length === 0; i++) {
        bobs.push((await queueJob(bob)).id);
        await sub.next(1, 500).catch(() => undefined);
      }
      expect(sub.events.length).toBeGreaterThan(0);
      const job = await queueJob(alice);
      expect((await gql(server.url, alice, CANCEL, { id: job.id })).errors).toBeUndefined();
      // Bob's next change is the barrier: anything about Alice's job would have come before it.
      const barrier = await queueJob(bob);
      bobs.push(barrier.id);
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + 10_000;
        const check = () => {
          if (sub.events.some((e) => e.data?.myJobUpdates.id === barrier.id)) return resolve();
          if (Date.now() > deadline) return reject(new Error(`barrier not seen: ${JSON.stringify(sub.events)}`));
          setTimeout(check, 20);
        };
        check();
      });
      const ids = sub.events.map((e) => e.data!.myJobUpdates.id as string);
      expect(ids).not.toContain(job.id);
      expect(ids.every((id) => bobs.includes(id))).toBe(true);
      expect(ids.at(-1)).toBe(barrier.id);
      sub.unsubscribe();
    } finally {
      await client.dispose();
    }
  });

  it("an admin token can read, and cancel, another user's job", async () => {
    const aliceId = randomUUID();
    const alice = await server.userToken(aliceId);
    const admin = await server.userToken(randomUUID(), 'admin');
    const job = await queueJob(alice);
    const res = await gql(server.url, admin, GET, { id: job.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.job).toEqual({ id: job.id, status: 'queued', prompt: 'mine' });
    const client = wsClient(server.wsUrl, admin);
    try {
      const sub = collect(client, WATCH, { id: job.id });
      await sub.next(1);
      expect(sub.events[0].data!.jobUpdated).toEqual({ id: job.id, status: 'queued' });
      const cancel = await gql(server.url, admin, CANCEL, { id: job.id });
      expect(cancel.data!.cancelJob).toEqual({ id: job.id, status: 'cancelled' });
      await sub.completed();
      expect(sub.events.map((e) => e.data!.jobUpdated.status)).toEqual(['queued', 'cancelled']);
    } finally {
      await client.dispose();
    }
    // The refund goes to the owner, not to the admin.
    expect((await gql(server.url, alice, ME)).data!.me.credits).toBe(100);
    expect((await gql(server.url, admin, ME)).data!.me.credits).toBe(100);
  });
});

describe('websockets', () => {
  const SUB = `subscription { myJobUpdates { id } }`;

  async function subscribeError(token: string | null) {
    const client = wsClient(server.wsUrl, token);
    try {
      return await refusal(collect(client, SUB));
    } finally {
      await client.dispose();
    }
  }

  it.each([
    ['a garbage token', async () => 'garbage'],
    ['an alg:none token', async () => `${b64url({ alg: 'none' })}.${b64url({ sub: randomUUID(), exp: future() })}.`],
    ['an expired token', () => sign({ sub: randomUUID() }, TEST_JWT_SECRET, Math.floor(Date.now() / 1000) - 60)],
    ['a token signed with another secret', () => sign({ sub: randomUUID() }, 'x'.repeat(40), future())],
  ])('%s → UNAUTHENTICATED on subscribe', async (_name, make) => {
    const error = await subscribeError(await make());
    expect(error.map((e) => e.code)).toEqual(['UNAUTHENTICATED']);
    expect(error[0].message).toMatch(/token/);
  });

  it('no token → UNAUTHENTICATED on subscribe', async () => {
    const error = await subscribeError(null);
    expect(error.map((e) => e.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('a worker token → FORBIDDEN on subscribe', async () => {
    const error = await subscribeError(await server.workerToken());
    expect(error.map((e) => e.code)).toEqual(['FORBIDDEN']);
  });
});
