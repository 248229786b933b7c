import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/tokens.js';
import { fleet, freePort, gql, TEST_JWT_SECRET } from '../helpers/app.js';
import { eventually, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { errorLines, spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';

/**
 * The scheduler with a real fleet's two ways of taking jobs at once: workers
 * popping the Redis list directly and workers popping through /rpop, on two
 * server processes sharing one PostgreSQL and one (private) Redis. Covers
 * the drill's faults: a job popped straight from Redis and abandoned is
 * noticed and re-run; a Redis restart is refilled at once, in fair order; an
 * instance killed between taking a job and recording it loses nothing and
 * runs nothing twice.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `genjob_sched_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const prefix = `sch${randomUUID().slice(0, 8)}:`;
const WINDOW = 3;
const auth = createAuth({ secret: TEST_JWT_SECRET });

let admin: postgres.Sql;
let db: postgres.Sql;
let dbUrl: string;
let redis: PrivateRedis;
let raw: Redis;
type Instance = { proc: ServerProcess; url: string; dataDir: string; env: Record<string, string> };
const instances: Instance[] = [];

async function startInstance(): Promise<Instance> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'genjob-sched-'));
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: dbUrl,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'warn',
    SWEEP_INTERVAL_MS: '200',
    JOB_TIMEOUT_GRACE: '1',
    QUEUE_WINDOW_SIZE: String(WINDOW),
    // The request limits are out of the way (their own suites test them).
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    DATA_DIR: dataDir,
  };
  const instance = { proc: spawnServer(env), url: `http://127.0.0.1:${port}`, dataDir, env };
  instances.push(instance);
  await waitReady(instance.url, instance.proc);
  return instance;
}

let A: Instance;
let B: Instance;

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  dbUrl = url.toString();
  redis = await startPrivateRedis();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  raw.on('error', () => {});
  A = await startInstance(); // applies the migrations
  B = await startInstance();
  db = postgres(dbUrl, { max: 2, onnotice: () => {} });
}, 90_000);

afterAll(async () => {
  await Promise.allSettled(instances.map((i) => i.proc.stop()));
  for (const i of instances) rmSync(i.dataDir, { recursive: true, force: true });
  raw?.disconnect();
  await db?.end();
  await redis?.kill();
  if (admin) {
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
    await admin.end();
  }
});

const key = (queue: string) => prefix + queue;
const idsIn = async (queue: string) => (await raw.lrange(key(queue), 0, -1)).map((p) => (JSON.parse(p) as { id: string }).id).reverse();

async function queueJobs(via: Instance, token: string, n: number, jobType = 'sdxl_image_fast'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await gql(via.url, token, `mutation($t: JobType!) { queueJob(input: { jobType: $t, prompt: "job ${i}" }) { job { id } } }`, { t: jobType });
    expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
    ids.push(res.data!.queueJob.job.id);
  }
  return ids;
}

/** Ends every job of earlier tests (their attempts would come back after their deadline) and waits for an empty window. */
async function reset(): Promise<void> {
  await db`update jobs set status = 'cancelled', completed_at = now() where status in ('queued', 'processing')`;
  await eventually('window emptied', async () => expect(await raw.llen(key('sdxl_queue'))).toBe(0), 10_000);
}

describe('direct Redis pops and /rpop pops, two instances', () => {
  beforeEach(reset);

  it('every job is handed out, never to two live attempts at once, and every hand-out is recorded with its clock started', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => auth.sign({ sub: randomUUID() })));
    const ids: string[] = [];
    for (const [n, token] of users.entries()) ids.push(...(await queueJobs(n % 2 ? B : A, token, 6)));
    await eventually('window filled', async () => expect((await idsIn('sdxl_queue')).length).toBe(WINDOW));

    const handed: Array<{ id: string; by: string }> = [];
    const workerToken = await auth.sign({ sub: 'gpu', role: 'service_role' });
    let done = false;
    const deadline = Date.now() + 30_000;
    const direct = async (name: string) => {
      while (!done && Date.now() < deadline) {
        const item = await raw.rpop(key('sdxl_queue'));
        if (item) handed.push({ id: (JSON.parse(item) as { id: string }).id, by: name });
        else await new Promise((r) => setTimeout(r, 20));
      }
    };
    const viaHttp = async (name: string, instance: Instance) => {
      const worker = fleet(instance.url, workerToken);
      while (!done && Date.now() < deadline) {
        const job = await worker.pop('sdxl_queue');
        if (job) handed.push({ id: job.id, by: name });
        else await new Promise((r) => setTimeout(r, 20));
      }
    };
    const watcher = (async () => {
      const everyJobTaken = async () =>
        handed.length >= ids.length &&
        (await db`select count(distinct job_id)::int as n from job_attempts where job_id = any(${ids}::uuid[])`)[0]!.n === ids.length;
      while (Date.now() < deadline && !(await everyJobTaken())) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500)); // anything handed twice would show up now
      done = true;
    })();
    await Promise.all([direct('redis-1'), direct('redis-2'), viaHttp('rpop-A', A), viaHttp('rpop-B', B), watcher]);

    // A payload is handed out once. Under load a job may outlive its deadline (5 s expected + 1 s
    // grace) before this test finishes draining: it is then abandoned and handed out again as a new
    // attempt with its own payload id — never to two workers as live attempts at once.
    const handedIds = handed.map((h) => h.id);
    expect(new Set(handedIds).size).toBe(handedIds.length); // no payload twice
    const attemptRows = await db`select id, job_id, number, taken_at, ended_at from job_attempts where job_id = any(${ids}::uuid[]) order by job_id, number`;
    const jobOf = new Map(attemptRows.map((a) => [a.id as string, a.job_id as string]));
    expect([...new Set(handedIds.map((id) => jobOf.get(id) ?? id))].sort()).toEqual([...ids].sort()); // nothing lost
    for (let i = 1; i < attemptRows.length; i++) {
      const [before, after] = [attemptRows[i - 1]!, attemptRows[i]!];
      if (before.job_id !== after.job_id) continue;
      expect(before.ended_at, JSON.stringify({ before, after })).not.toBeNull();
      expect(after.taken_at.getTime()).toBeGreaterThanOrEqual(before.ended_at.getTime());
    }
    expect(new Set(handed.map((h) => h.by.split('-')[0]))).toEqual(new Set(['redis', 'rpop']));

    // Every hand-out is an attempt with its clock started (the attempt's id is the payload id it handed out).
    await eventually('every hand-out recorded', async () => {
      const rows = await db`select id from job_attempts where taken_at is not null and id = any(${handedIds}::uuid[])`;
      expect(rows.map((r) => r.id as string).sort()).toEqual([...handedIds].sort());
    });
    const vias = await db`select via, count(*)::int as n from job_attempts where job_id = any(${ids}::uuid[]) group by via`;
    expect(vias.map((v) => v.via).sort()).toEqual(expect.arrayContaining(['redis', 'rpop']));
    for (const i of [A, B]) expect(errorLines(i.proc.stdout())).toEqual([]);
  }, 60_000);

  it('a job popped straight from Redis and abandoned is re-run after its deadline, with a new payload id', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const [id] = await queueJobs(A, token, 1);
    await eventually('windowed', async () => expect(await idsIn('sdxl_queue')).toEqual([id]));
    const popped = JSON.parse((await raw.rpop(key('sdxl_queue')))!) as { id: string };
    expect(popped.id).toBe(id);
    await eventually('the hand-out was noticed', async () => {
      const [row] = await db`select attempts, picked_at from jobs where id = ${id}`;
      expect(row.attempts).toBe(1);
      expect(row.picked_at).not.toBeNull();
    }, 5000);
    // 5 s expected + 1 s grace; then back in the window with another payload id.
    const again = await eventually('re-queued into the window', async () => {
      const items = await raw.lrange(key('sdxl_queue'), 0, -1);
      expect(items).toHaveLength(1);
      return JSON.parse(items[0]) as { id: string; prompt: string };
    }, 15_000);
    expect(again.id).not.toBe(id);
    expect(again.prompt).toBe('job 0');
    const worker = fleet(B.url, await auth.sign({ sub: 'gpu', role: 'worker' }));
    expect((await worker.pop('sdxl_queue'))?.id).toBe(again.id);
    const attempts = await db`select number, via, outcome from job_attempts where job_id = ${id} order by number`;
    const [job] = await db`select attempts, payload_id, picked_at, dispatched_at, status from jobs where id = ${id}`;
    expect(attempts.map((a) => [a.number, a.via, a.outcome]), JSON.stringify(job)).toEqual([
      [1, 'redis', 'abandoned'],
      [2, 'rpop', null],
    ]);
  }, 30_000);

  it('after a Redis restart (empty), the window is refilled at once with the fair order\'s head', async () => {
    const [heavy, light] = await Promise.all([auth.sign({ sub: randomUUID() }), auth.sign({ sub: randomUUID() })]);
    const h = await queueJobs(A, heavy, 8);
    const l = await queueJobs(B, light, 2);
    // Fair order: h0, l0, h1, l1, h2, ...; the window holds its first three.
    await eventually('window = head of the fair order', async () => expect(await idsIn('sdxl_queue')).toEqual([h[0], l[0], h[1]]));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 300));
    const restartedAt = Date.now();
    await redis.start();
    await raw.ping().catch(() => {});
    await eventually('refilled', async () => expect(await idsIn('sdxl_queue')).toEqual([h[0], l[0], h[1]]), 10_000);
    expect(Date.now() - restartedAt).toBeLessThan(5000);
    // Drain through /rpop, in the fair order, once A's own Redis connection is back (until then it
    // passes over windowed jobs, since a direct popper may hold them).
    await eventually('A ready', async () => expect((await fetch(`${A.url}/ready`)).status).toBe(200), 10_000);
    const worker = fleet(A.url, await auth.sign({ sub: 'gpu', role: 'worker' }));
    const order: string[] = [];
    for (let i = 0; i < 10; i++) order.push((await worker.pop('sdxl_queue'))!.id);
    expect(order).toEqual([h[0], l[0], h[1], l[1], h[2], h[3], h[4], h[5], h[6], h[7]]);
  }, 40_000);

  it('a windowed job removed by an /rpop claim that never recorded it (its answer timed out, or its commit failed) waits again at once, not until its deadline', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const [first, second] = await queueJobs(A, token, 2);
    await eventually('windowed', async () => expect(await idsIn('sdxl_queue')).toEqual([first, second]));
    // What such a claim left behind: the entry gone from the list, with our removal mark.
    const [entry] = (await raw.lrange(key('sdxl_queue'), -1, -1)) as [string];
    expect((JSON.parse(entry) as { id: string }).id).toBe(first);
    const script = `redis.call('LREM', KEYS[1], 0, ARGV[1]); redis.call('SET', KEYS[2], '1', 'EX', 86400)`;
    await raw.eval(script, 2, key('sdxl_queue'), `${prefix}genjob:unlisted:${first}`, entry);
    // The window keeper sees who removed it: nobody runs it, so it is put back first in line.
    await eventually('back in the window, first', async () => expect(await idsIn('sdxl_queue')).toEqual([first, second]), 10_000);
    const [row] = await db`select attempts, picked_at from jobs where id = ${first}`;
    expect([row.attempts, row.picked_at]).toEqual([0, null]);
    // A worker popping straight from Redis then takes it, and that hand-out is recorded.
    expect((JSON.parse((await raw.rpop(key('sdxl_queue')))!) as { id: string }).id).toBe(first);
    await eventually('the hand-out was noticed', async () => {
      const [taken] = await db`select attempts, picked_at from jobs where id = ${first}`;
      expect(taken.attempts).toBe(1);
      expect(taken.picked_at).not.toBeNull();
    }, 5000);
    const attempts = await db`select via from job_attempts where job_id = ${first}`;
    expect(attempts.map((a) => a.via)).toEqual(['redis']);
  }, 30_000);

  it('an instance killed between taking a windowed job and recording it loses nothing and runs nothing twice', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const [id] = await queueJobs(B, token, 1);
    await eventually('windowed', async () => expect(await idsIn('sdxl_queue')).toEqual([id]));
    const victim = await startInstance();
    // Hold the attempts table so the victim's /rpop stops after its LREM, before its commit.
    const blocker = postgres(dbUrl, { max: 1, onnotice: () => {} });
    const holding = blocker.begin(async (tx) => {
      await tx`lock table job_attempts in share mode`;
      await new Promise((r) => setTimeout(r, 2000));
    });
    await new Promise((r) => setTimeout(r, 200));
    const worker = fleet(victim.url, await auth.sign({ sub: 'gpu', role: 'worker' }));
    const answer = worker.pop('sdxl_queue').then(
      (v) => ({ ok: true as const, v }),
      () => ({ ok: false as const }),
    );
    await eventually('taken off the list', async () => expect(await idsIn('sdxl_queue')).toEqual([]), 5000);
    victim.proc.child.kill('SIGKILL');
    await victim.proc.exited;
    expect((await answer).ok).toBe(false); // the worker got nothing
    await holding;
    await blocker.end();

    // The survivors find the job gone from the list with the victim's removal mark on it: nobody
    // runs it, so it goes back in line at once (no deadline to wait out) and is handed out once.
    await eventually('back in the window', async () => expect(await idsIn('sdxl_queue')).toEqual([id]), 10_000);
    const survivor = fleet(A.url, await auth.sign({ sub: 'gpu', role: 'worker' }));
    expect((await survivor.pop('sdxl_queue'))?.id).toBe(id);
    expect(await survivor.pop('sdxl_queue')).toBeNull();
    const attempts = await db`select number, via, outcome from job_attempts where job_id = ${id} order by number`;
    expect(attempts.map((a) => [a.number, a.via, a.outcome])).toEqual([[1, 'rpop', null]]);
  }, 60_000);
});
