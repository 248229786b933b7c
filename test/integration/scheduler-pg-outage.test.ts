import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tcpRelay } from '../helpers/tcp-relay.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, freePort, gql, startOn, TEST_JWT_SECRET, type TestServer } from '../helpers/app.js';
import { eventually, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';

/**
 * The drill: during a PostgreSQL outage, /rpop used to remove a payload from
 * Redis and then fail to record the claim, and 1–3 acknowledged jobs
 * vanished per run. Here PostgreSQL goes away (a TCP relay dropped) again
 * and again while workers pop through /rpop and straight from Redis as fast
 * as they can. Afterwards every job must have been handed out exactly once:
 * none lost, none twice.
 */


const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `genjob_rpopfault_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const prefix = `rf${randomUUID().slice(0, 8)}:`;
let server: TestServer;
let proxy: ReturnType<typeof tcpRelay>;
let redis: PrivateRedis;
let raw: Redis;
let dataDir: string;

beforeAll(async () => {
  const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  await admin.end();
  const port = await freePort();
  proxy = tcpRelay(port);
  await proxy.up();
  redis = await startPrivateRedis();
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  dataDir = mkdtempSync(join(tmpdir(), 'genjob-rpopfault-'));
  server = await startOn({
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/${dbName}`,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
    QUEUE_WINDOW_SIZE: '3',
    // The request limits are out of the way (their own suites test them).
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    // A hand-out whose commit succeeded but whose answer was lost with the connection reaches no
    // worker: it comes back after 5 s + 10 s of silence. (Long enough for the test's reports,
    // retried through the outages, to land first.)
    JOB_TIMEOUT_GRACE: '10',
    SWEEP_INTERVAL_MS: '200',
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await proxy?.down();
  raw?.disconnect();
  await redis?.kill();
  const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL goes away while workers pop', () => {
  it('no job is lost and none is handed out twice, through /rpop or straight from Redis', async () => {
    const ids: string[] = [];
    for (let u = 0; u < 4; u++) {
      const token = await server.userToken();
      for (let i = 0; i < 10; i++) {
        const res = await gql(server.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "outage ${u}.${i}" }) { job { id } } }`);
        expect(res.errors).toBeUndefined();
        ids.push(res.data!.queueJob.job.id);
      }
    }
    const worker = fleet(server.url, await server.workerToken());
    const handed: string[] = [];
    let stop = false;
    // Each job received is finished at once (the report retried until it lands: this test is about
    // claims, not callbacks), so a job received twice would be a job handed to two workers.
    const finish = async (id: string) => {
      for (let i = 0; i < 200; i++) {
        const res = await worker.callback({ job_id: id, status: 'failed', error_message: 'done' }).catch(() => null);
        if (res?.status === 200) return;
        seen.push(`callback ${id} ${res?.status ?? 'no answer'} ${Date.now()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const finishing: Promise<void>[] = [];
    const seen: string[] = [];
    const viaRpop = async () => {
      while (!stop) {
        try {
          const job = await worker.pop('sdxl_queue');
          if (job) {
            handed.push(job.id);
            seen.push(`rpop ${job.id} ${Date.now()}`);
            finishing.push(finish(job.id));
          }
        } catch {
          // a 500 while the database is away counts as "no job", as the fleet treats it
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const direct = async () => {
      while (!stop) {
        const item = await raw.rpop(prefix + 'sdxl_queue').catch(() => null);
        if (item) {
          const id = (JSON.parse(item) as { id: string }).id;
          handed.push(id);
          seen.push(`redis ${id} ${Date.now()}`);
          finishing.push(finish(id));
        }
        await new Promise((r) => setTimeout(r, 40));
      }
    };
    const loops = [viaRpop(), viaRpop(), viaRpop(), direct()];
    try {
      for (let cycle = 0; cycle < 6; cycle++) {
        await new Promise((r) => setTimeout(r, 150));
        await proxy.down();
        await new Promise((r) => setTimeout(r, 400));
        await proxy.up();
      }
      await eventually('every job handed out', async () => expect(new Set(handed).size).toBeGreaterThanOrEqual(ids.length), 45_000);
      await new Promise((r) => setTimeout(r, 1000)); // anything handed twice would show up now
    } finally {
      stop = true;
      await Promise.all(loops);
      await Promise.all(finishing);
    }
    // Payload ids: the job's own for a first attempt, a new one for a re-run.
    const db = postgres(`${ADMIN.replace(/\/[^/]*$/, '')}/${dbName}`, { max: 1, onnotice: () => {} });
    const jobOf = new Map<string, string>();
    let attemptRows: unknown[] = [];
    try {
      attemptRows = [...(await db`select id, job_id, number, via, outcome, taken_at, ended_at from job_attempts order by job_id, number`)];
      for (const a of await db`select id, job_id from job_attempts`) jobOf.set(a.id, a.job_id);
    } finally {
      await db.end();
    }
    const jobsHanded = handed.map((id) => jobOf.get(id) ?? id);
    // Every job was handed out. A job may be handed out again only as a new attempt after the
    // earlier one ended (a worker whose report was lost in the outage is abandoned and its job
    // re-run): never to two workers as live attempts at once.
    expect([...new Set(jobsHanded)].sort()).toEqual([...ids].sort());
    const byJob = new Map<string, Array<{ number: number; taken_at: Date; ended_at: Date | null }>>();
    for (const a of attemptRows as Array<{ job_id: string; number: number; taken_at: Date; ended_at: Date | null }>) {
      byJob.set(a.job_id, [...(byJob.get(a.job_id) ?? []), a]);
    }
    for (const [job, attempts] of byJob) {
      for (let i = 1; i < attempts.length; i++) {
        const before = attempts[i - 1]!;
        expect(before.ended_at, JSON.stringify({ job, attempts })).not.toBeNull();
        expect(attempts[i]!.taken_at.getTime(), JSON.stringify({ job, attempts })).toBeGreaterThanOrEqual(before.ended_at!.getTime());
      }
    }
    // Each hand-out the fleet saw is one recorded attempt. A failure names the payloads seen twice, how
    // each was taken and when, and their attempts.
    const twice = new Set(handed.filter((id, i) => handed.indexOf(id) !== i));
    const story = { seen: seen.filter((line) => [...twice].some((id) => line.includes(id))), attempts: attemptRows.filter((a) => twice.has((a as { id: string }).id)) };
    expect(handed.length, JSON.stringify(story)).toBe(new Set(handed).size);
  }, 150_000);
});
