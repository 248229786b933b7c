import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/tokens.js';
import { collect, fleet, freePort, gql, TEST_JWT_SECRET, untilSubscribed, wsClient } from '../helpers/app.js';
import { eventually, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { startS3Server, type S3Server } from '../helpers/s3server.js';
import { errorLines, spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';

/**
 * Two real server processes on one PostgreSQL, one Redis and one S3 store,
 * as behind a load balancer. The database starts EMPTY and both processes
 * boot at the same moment, so they also race to apply the migrations.
 * Redis is a private redis-server (so the dispatcher test can stop it for
 * both instances at once); PostgreSQL is the machine's, with a database
 * this file creates and drops.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `genjob_inst_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const prefix = `inst${randomUUID().slice(0, 8)}:`;
const auth = createAuth({ secret: TEST_JWT_SECRET });

let admin: postgres.Sql;
let dbUrl: string;
let redis: PrivateRedis;
let s3: S3Server;
let raw: Redis;
const instances: Array<{ proc: ServerProcess; url: string; wsUrl: string; dataDir: string }> = [];
let A: (typeof instances)[number];
let B: (typeof instances)[number];

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  dbUrl = url.toString();
  [redis, s3] = await Promise.all([startPrivateRedis(), startS3Server()]);
  raw = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  raw.on('error', () => {});

  const ports = [await freePort(), await freePort()];
  for (const port of ports) {
    const dataDir = mkdtempSync(join(tmpdir(), 'genjob-instance-'));
    const proc = spawnServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      DATABASE_URL: dbUrl,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      JWT_SECRET: TEST_JWT_SECRET,
      LOG_LEVEL: 'warn',
      SWEEP_INTERVAL_MS: '100',
      DATA_DIR: dataDir,
    });
    instances.push({ proc, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/graphql`, dataDir });
  }
  [A, B] = instances;
  await Promise.all(instances.map((i) => waitReady(i.url, i.proc)));
}, 90_000);

afterAll(async () => {
  redis?.freeze(false);
  await Promise.allSettled(instances.map((i) => i.proc.stop()));
  for (const i of instances) rmSync(i.dataDir, { recursive: true, force: true });
  raw?.disconnect();
  await Promise.allSettled([redis?.kill(), s3?.close()]);
  if (admin) {
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
    await admin.end();
  }
});

const JOB = `id status progress assets { path url }`;

async function listed(queue: string): Promise<string[]> {
  return (await raw.lrange(prefix + queue, 0, -1)).map((p) => (JSON.parse(p) as { id: string }).id);
}

describe('two instances', () => {
  it('booted together on an empty database: the migrations ran once, without errors', async () => {
    const journal = JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] };
    const db = postgres(dbUrl, { max: 1, onnotice: () => {} });
    try {
      const rows = await db`select hash from drizzle.__drizzle_migrations`;
      expect(rows).toHaveLength(journal.entries.length);
      expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);
    } finally {
      await db.end();
    }
    for (const i of instances) {
      expect(i.proc.child.exitCode).toBeNull();
      expect(i.proc.stderr()).toBe('');
      expect(errorLines(i.proc.stdout())).toEqual([]);
      expect((await fetch(`${i.url}/ready`)).status).toBe(200);
    }
  });

  it('a job queued on A is popped through B; A\'s subscriber sees the progress and completion B handled', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const workerB = fleet(B.url, await auth.sign({ sub: 'worker', role: 'service_role' }));
    const queued = await gql(A.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "two instances" }) { job { id } } }`);
    expect(queued.errors).toBeUndefined();
    const id: string = queued.data!.queueJob.job.id;

    const client = wsClient(A.wsUrl, token);
    try {
      const sub = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { ${JOB} } }`, { id });
      await sub.next(1);
      expect(sub.events[0].data!.jobUpdated.status).toBe('queued');

      const payload = await workerB.pop('sdxl_queue');
      expect(payload?.id).toBe(id);
      expect(await workerB.pop('sdxl_queue')).toBeNull();

      expect((await workerB.callback({ job_id: id, status: 'processing', progress: 30 })).status).toBe(200);
      await sub.next(2);
      expect(sub.events[1].data!.jobUpdated).toMatchObject({ status: 'processing', progress: 30 });

      const path = `${payload!.user_id}/sdxl_${id}_1700000000_0.png`;
      const bytes = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 42]);
      expect((await workerB.uploadRaw('sdxl_image_fast', path, bytes)).status).toBe(200);
      expect((await workerB.callback({ job_id: id, status: 'completed', assets: [path] })).status).toBe(200);

      const events = await sub.completed();
      const last = events.at(-1)!.data!.jobUpdated;
      expect(last).toMatchObject({ status: 'completed', progress: 100, assets: [{ path }] });
      const download = await fetch(last.assets[0].url);
      expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    } finally {
      await client.dispose();
    }
  });

  it('Query.queues counts active workers across the fleet: workers polling A and workers polling B, on both', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const workers = async (url: string) => {
      const res = await gql(url, token, `{ queues { name activeWorkers } }`);
      expect(res.errors).toBeUndefined();
      return res.data!.queues.find((q: { name: string }) => q.name === 'wan_queue').activeWorkers as number;
    };
    const before = await workers(A.url);
    const tag = randomUUID().slice(0, 8);
    await fleet(A.url, await auth.sign({ sub: `gpu-a-${tag}`, role: 'worker' })).pop('wan_queue');
    await fleet(B.url, await auth.sign({ sub: `gpu-b-${tag}`, role: 'worker' })).pop('wan_queue');
    await fleet(B.url, await auth.sign({ sub: `gpu-b-${tag}`, role: 'worker' })).pop('wan_queue'); // the same worker again
    // Each instance caches its figures for 2 s.
    await eventually('A counts both', async () => expect(await workers(A.url)).toBe(before + 2), 10_000);
    await eventually('B counts both', async () => expect(await workers(B.url)).toBe(before + 2), 10_000);
  });

  it('myJobUpdates on A sees a job queued on B', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const client = wsClient(A.wsUrl, token);
    try {
      const mine = collect(client, `subscription { myJobUpdates { ${JOB} } }`);
      await untilSubscribed(A.url, 1);
      const queued = await gql(B.url, token, `mutation { queueJob(input: { jobType: video_fast, prompt: "from B" }) { job { id } } }`);
      const id: string = queued.data!.queueJob.job.id;
      await mine.next(1);
      expect(mine.events[0].data!.myJobUpdates).toMatchObject({ id, status: 'queued' });
      // Taken through A, so the queue is empty for the next test.
      const workerA = fleet(A.url, await auth.sign({ sub: 'worker', role: 'worker' }));
      expect((await workerA.pop('wan_queue'))?.id).toBe(id);
    } finally {
      await client.dispose();
    }
  });

  it('jobs queued on both while Redis is down fill the Redis window exactly once when it returns, though both instances keep it', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    expect(await listed('sdxl_queue')).toEqual([]);
    await redis.kill();
    const ids: string[] = [];
    for (let n = 0; n < 6; n++) {
      const via = n % 2 ? B : A;
      const res = await gql(via.url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "outage ${n}" }) { job { id status } } }`);
      expect(res.errors).toBeUndefined();
      expect(res.data!.queueJob.job.status).toBe('queued');
      ids.push(res.data!.queueJob.job.id);
    }
    await new Promise((r) => setTimeout(r, 500)); // both sweepers fail a few times
    await redis.start();

    // The list holds the head of the fair order (QUEUE_WINDOW_SIZE, 4 by default; one user: queue order);
    // the rest wait in the database.
    const head = ids.slice(0, 4);
    await eventually('window filled', async () => expect((await listed('sdxl_queue')).sort()).toEqual([...head].sort()), 15_000);
    // Many more passes of both instances: still exactly once each.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await listed('sdxl_queue');
    expect(after.sort()).toEqual([...head].sort());
    expect(await raw.llen(prefix + 'sdxl_queue')).toBe(head.length);
    const workerA = fleet(A.url, await auth.sign({ sub: 'worker', role: 'worker' }));
    expect(await workerA.llen('sdxl_queue')).toBe(ids.length);

    for (const i of instances) {
      await eventually('ready again', async () => expect((await fetch(`${i.url}/ready`)).status).toBe(200));
      expect(i.proc.child.exitCode).toBeNull();
      expect(errorLines(i.proc.stdout())).toEqual([]);
    }
  });
});
