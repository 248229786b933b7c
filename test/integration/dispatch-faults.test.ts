import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, createBackends, fleet, gql, startOn, wsClient, type Backends, type TestServer } from '../helpers/app.js';
import { eventually, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';

/**
 * A running server whose Redis (a private redis-server this file starts,
 * kills and restarts) goes away: jobs are still accepted and kept `queued`,
 * /ready names the failing parts, and once Redis is back the dispatcher
 * pushes every waiting job exactly once and subscriptions resume.
 */

let redis: PrivateRedis;
let backends: Backends;
let server: TestServer;
let raw: Redis;
const prefix = `df${randomUUID().slice(0, 8)}:`;

beforeAll(async () => {
  [redis, backends] = await Promise.all([startPrivateRedis(), createBackends()]);
  server = await startOn(backends.env, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, SWEEP_INTERVAL_MS: '200' });
  raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  raw.on('error', () => {});
});

afterAll(async () => {
  redis?.freeze(false);
  raw?.disconnect();
  await server?.close();
  await backends?.close();
  await redis?.kill();
});

const JOB = `id status progress`;

async function ids(queue: string): Promise<string[]> {
  const items = await raw.lrange(prefix + queue, 0, -1);
  return items.map((p) => (JSON.parse(p) as { id: string }).id);
}

describe('Redis stops and comes back while the server runs', () => {
  it('queues, reports, re-pushes once each, and resumes subscriptions', async () => {
    const userId = randomUUID();
    const token = await server.userToken(userId);
    const worker = fleet(server.url, await server.workerToken());

    // Subscriptions opened while Redis is up; the first job proves they are live.
    const client = wsClient(server.wsUrl, token);
    const mine = collect(client, `subscription { myJobUpdates { ${JOB} } }`);
    // Registered with Redis before the first job is queued (a fixed sleep is too short on a busy machine).
    await eventually('subscription registered', async () => {
      const [, n] = (await raw.pubsub('NUMSUB', `${prefix}user:${userId}`)) as [string, number];
      expect(Number(n)).toBeGreaterThan(0);
    }, 10_000);
    const first = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "before" }) { job { id } } }`);
    const before: string = first.data!.queueJob.job.id;
    await mine.next(1);
    expect(mine.events[0].data!.myJobUpdates).toMatchObject({ id: before, status: 'queued' });
    const watch = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { ${JOB} } }`, { id: before });
    await watch.next(1);
    expect((await worker.pop('sdxl_queue'))?.id).toBe(before);

    await redis.kill();

    // queueJob still answers success; the jobs are stored and stay queued.
    const waiting: Record<string, string[]> = { sdxl_queue: [], wan_queue: [] };
    for (const [jobType, queue] of [['sdxl_image_fast', 'sdxl_queue'], ['video_fast', 'wan_queue'], ['sdxl_image_high', 'sdxl_queue']] as const) {
      const started = Date.now();
      const res = await gql(server.url, token, `mutation($t: JobType!) { queueJob(input: { jobType: $t, prompt: "while down" }) { job { ${JOB} } } }`, { t: jobType });
      expect(res.errors).toBeUndefined();
      expect(res.data!.queueJob.job.status).toBe('queued');
      expect(Date.now() - started).toBeLessThan(5000);
      waiting[queue].push(res.data!.queueJob.job.id);
    }
    for (const id of [...waiting.sdxl_queue, ...waiting.wan_queue]) {
      const read = await gql(server.url, token, `query($id: ID!) { job(id: $id) { status } }`, { id });
      expect(read.data!.job.status).toBe('queued');
    }

    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { failing: string[]; checks: Record<string, string> };
    expect(body.failing.sort()).toEqual(['events', 'queue']);
    expect(body.checks).toMatchObject({ database: 'ok', storage: 'ok' });

    // A few sweeps fail while Redis is down (and must not lose anything).
    await new Promise((r) => setTimeout(r, 700));

    await redis.start(); // same port, empty lists
    await raw.connect().catch(() => {});
    await eventually('waiting jobs pushed', async () => {
      expect(await ids('sdxl_queue')).toEqual(waiting.sdxl_queue.slice().reverse()); // LPUSH in creation order
      expect(await ids('wan_queue')).toEqual(waiting.wan_queue);
    }, 10_000);
    // Several more sweep intervals: still exactly once each.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ids('sdxl_queue')).toEqual(waiting.sdxl_queue.slice().reverse());
    expect(await ids('wan_queue')).toEqual(waiting.wan_queue);

    await eventually('ready again', async () => expect((await fetch(`${server.url}/ready`)).status).toBe(200));

    // The fleet takes them in FIFO order.
    expect((await worker.pop('sdxl_queue'))?.id).toBe(waiting.sdxl_queue[0]);
    expect((await worker.pop('sdxl_queue'))?.id).toBe(waiting.sdxl_queue[1]);
    expect((await worker.pop('wan_queue'))?.id).toBe(waiting.wan_queue[0]);

    // Subscriptions opened before the outage receive later changes. A message
    // published before the re-SUBSCRIBE lands may be lost, so keep reporting progress.
    let progress = 0;
    await eventually('subscriptions resumed', async () => {
      const res = await worker.callback({ job_id: before, status: 'processing', progress: ++progress });
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      const got = (events: typeof mine.events, field: string) =>
        events.some((e) => e.data?.[field]?.id === before && e.data[field].status === 'processing');
      if (!got(mine.events, 'myJobUpdates') || !got(watch.events, 'jobUpdated')) throw new Error('not yet');
    }, 10_000);
    expect(mine.error).toBeUndefined();
    expect(watch.done).toBe(false);
    await client.dispose();
  });

  it('a push whose answer timed out (Redis frozen) is not pushed a second time', async () => {
    const token = await server.userToken();
    const worker = fleet(server.url, await server.workerToken());
    expect(await worker.pop('sdxl_queue')).toBeNull();

    // Frozen, not dead: the LPUSH is written to the socket, times out on our
    // side, and still lands once Redis thaws.
    redis.freeze(true);
    let id: string;
    try {
      const res = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "frozen" }) { job { ${JOB} } } }`);
      expect(res.errors).toBeUndefined();
      id = res.data!.queueJob.job.id;
      // Long enough for the dispatcher to retry (each retry also times out).
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      redis.freeze(false);
    }
    await eventually('job pushed', async () => expect(await ids('sdxl_queue')).toContain(id), 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await ids('sdxl_queue')).toEqual([id]);

    // Taken by a worker straight from Redis (not through /rpop), it is not pushed again either.
    expect(JSON.parse((await raw.rpop(prefix + 'sdxl_queue'))!).id).toBe(id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await ids('sdxl_queue')).toEqual([]);
  });

  it('a job a worker already took is never pushed again, even if its push was not recorded', async () => {
    const token = await server.userToken();
    const worker = fleet(server.url, await server.workerToken());
    const res = await gql(server.url, token, `mutation { queueJob(input: { jobType: video_fast, prompt: "taken" }) { job { id } } }`);
    const id: string = res.data!.queueJob.job.id;
    expect((await worker.pop('wan_queue'))?.id).toBe(id);
    // What dispatchJob leaves behind when the push landed but the database
    // write recording it failed ("pushed a job but could not record it").
    await server.app.deps.db.execute(sql`update jobs set dispatched_at = null, dispatch_epoch = null where id = ${id}`);
    await new Promise((r) => setTimeout(r, 1000)); // five sweep intervals
    expect(await ids('wan_queue')).toEqual([]);
  });
});
