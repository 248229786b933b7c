import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/tokens.js';
import { createBackends, fleet, freePort, gql, production, startOn, TEST_JWT_SECRET, type Backends } from '../helpers/app.js';
import { spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';
import { startReceiver, verifies, type Receiver } from '../helpers/webhook-receiver.js';

/**
 * The outbox is durable: deliveries live in the database, so a server that
 * stops (SIGTERM) or dies (SIGKILL) in the middle of a retry schedule, or in
 * the middle of a send, loses none. The next process sends them, with the
 * same webhook-id. Real server processes, on both backends.
 */

const auth = createAuth({ secret: TEST_JWT_SECRET });
let backends: Backends;
let receiver: Receiver;
let port: number;
const procs: ServerProcess[] = [];

beforeAll(async () => {
  backends = await createBackends();
  receiver = await startReceiver();
  port = await freePort();
});
afterAll(async () => {
  for (const p of procs) await p.stop(500);
  await receiver?.close();
  await backends?.close();
});

async function start(): Promise<{ url: string; proc: ServerProcess }> {
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnServer({
    ...backends.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_BASE_SECONDS: '0.5',
    WEBHOOK_TIMEOUT_SECONDS: '1',
    SWEEP_INTERVAL_MS: '200',
  });
  procs.push(proc);
  await waitReady(url, proc, 60_000);
  return { url, proc };
}

async function queueAndFinish(url: string, token: string, path: string): Promise<string> {
  const res = await gql(url, token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }', {
    i: { jobType: 'image_fast', prompt: 'p', webhook: `${receiver.url}${path}` },
  });
  expect(res.errors).toBeUndefined();
  const id = res.data!.queueJob.job.id as string;
  const worker = fleet(url, await auth.sign({ sub: 'w', role: 'service_role' }));
  expect((await worker.callback({ job_id: id, status: 'failed', error_message: 'boom' })).status).toBe(200);
  return id;
}

async function deliveries(url: string, token: string, id: string) {
  const res = await gql(url, token, 'query($id: ID!) { job(id: $id) { webhookDeliveries { id status attempts responseStatus } } }', { id });
  expect(res.errors).toBeUndefined();
  return res.data!.job.webhookDeliveries as Array<{ id: string; status: string; attempts: number; responseStatus: number | null }>;
}

describe('the outbox across restarts', () => {
  it('a stop (SIGTERM) in the middle of the retry schedule loses nothing', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const path = '/sigterm';
    receiver.answer = (r) => (r.path === path ? 500 : 200);
    const first = await start();
    const secret = (await gql(first.url, token, '{ webhookSigningSecret }')).data!.webhookSigningSecret as string;
    const jobId = await queueAndFinish(first.url, token, path);
    await receiver.until((rs) => rs.filter((r) => r.path === path).length >= 1);
    await first.proc.stop();
    const before = receiver.received.filter((r) => r.path === path);
    const [pending] = await (async () => {
      receiver.answer = () => 200;
      const second = await start();
      await receiver.until((rs) => rs.filter((r) => r.path === path).length > before.length, 20_000);
      for (;;) {
        const d = await deliveries(second.url, token, jobId);
        if (d[0].status === 'delivered') {
          await second.proc.stop();
          return d;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const mine = receiver.received.filter((r) => r.path === path);
    expect(new Set(mine.map((r) => r.id))).toEqual(new Set([pending.id]));
    for (const r of mine) expect(verifies(r, secret)).toBe(true);
    expect(pending.attempts).toBe(mine.length);
    expect(pending.responseStatus).toBe(200);
  });

  it('a SIGKILL while a retry is in flight loses nothing: the next process sends it once the lease runs out', async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const path = '/sigkill';
    let calls = 0;
    // First attempt: 500. Second: held open, and the server is killed while it waits.
    receiver.answer = (r) => (r.path !== path ? 200 : ++calls === 1 ? 500 : calls === 2 ? { status: 200, delayMs: 30_000 } : 200);
    const first = await start();
    const secret = (await gql(first.url, token, '{ webhookSigningSecret }')).data!.webhookSigningSecret as string;
    const jobId = await queueAndFinish(first.url, token, path);
    await receiver.until((rs) => rs.filter((r) => r.path === path).length >= 2, 20_000);
    first.proc.child.kill('SIGKILL');
    await first.proc.exited;

    const second = await start();
    try {
      await receiver.until((rs) => rs.filter((r) => r.path === path).length >= 3, 30_000);
      let d = await deliveries(second.url, token, jobId);
      for (let i = 0; i < 100 && d[0].status !== 'delivered'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        d = await deliveries(second.url, token, jobId);
      }
      const mine = receiver.received.filter((r) => r.path === path);
      expect(mine.map((r) => r.id)).toEqual([d[0].id, d[0].id, d[0].id]);
      for (const r of mine) expect(verifies(r, secret)).toBe(true);
      // The attempt cut off by the kill is not counted: 500, then the one that delivered.
      expect(d[0]).toMatchObject({ status: 'delivered', attempts: 2, responseStatus: 200 });
    } finally {
      await second.proc.stop();
    }
  });
});

describe('two instances on one database', () => {
  // PGlite is one process's database: only the production backend can have two instances.
  it.runIf(production)('send each delivery once: claims are leased', async () => {
    const a = await startOn(backends.env, { WEBHOOK_ALLOW_PRIVATE: 'true', SWEEP_INTERVAL_MS: '50' });
    const b = await startOn(backends.env, { WEBHOOK_ALLOW_PRIVATE: 'true', SWEEP_INTERVAL_MS: '50' });
    try {
      const token = await auth.sign({ sub: randomUUID() });
      const path = '/two-instances';
      receiver.answer = () => 200;
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await queueAndFinish(i % 2 ? a.url : b.url, token, path));
      await receiver.until((rs) => rs.filter((r) => r.path === path).length >= 20);
      await new Promise((r) => setTimeout(r, 500));
      const mine = receiver.received.filter((r) => r.path === path);
      expect(mine).toHaveLength(20);
      expect(new Set(mine.map((r) => r.id)).size).toBe(20);
      expect(new Set(mine.map((r) => r.body.data.id))).toEqual(new Set(ids));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
