import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, webhookDeliveries } from '../../src/db/schema.js';
import { fleet, gql, newUser, startTestServer, type TestServer, type TestUser } from '../helpers/app.js';
import { startReceiver, verifies, type Receiver } from '../helpers/webhook-receiver.js';

/**
 * Webhooks end to end: a real server (both backends) POSTs to a real HTTP
 * receiver on loopback (hence WEBHOOK_ALLOW_PRIVATE=true), and every
 * delivery's signature is checked with `standardwebhooks`, the reference
 * implementation a receiver would use.
 */

const JOB = `id status progress webhook webhookEvents assets { index bucket path url expiresAt }
  webhookDeliveries { id event status attempts responseStatus lastAttemptAt nextAttemptAt lastError }`;

let server: TestServer;
let receiver: Receiver;
let worker: ReturnType<typeof fleet>;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer(
    {
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // Fast retries and a short answer deadline, so schedules run within a test.
      WEBHOOK_RETRY_BASE_SECONDS: '0.01',
      WEBHOOK_TIMEOUT_SECONDS: '1',
      SWEEP_INTERVAL_MS: '200',
      JOB_TIMEOUT_GRACE: '1',
      // One attempt per job: a silent or failing job fails at once instead of being re-run (the scheduler's tests cover re-runs).
      MAX_ATTEMPTS: '1',
    },
    {
      // hooks.test names the receiver's loopback address: proves the sender connects to the address it resolved and checked.
      webhookLookup: async (host) => (host === 'hooks.test' ? [{ address: '127.0.0.1', family: 4 }] : []),
    },
  );
  worker = fleet(server.url, await server.workerToken());
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

/** Each test gets its own path on the receiver, so tests can tell their deliveries apart. */
let paths = 0;
function hookUrl(host = '127.0.0.1'): { url: string; path: string } {
  const path = `/hook/${++paths}`;
  return { url: `http://${host}:${receiver.port}${path}`, path };
}
const at = (path: string) => receiver.received.filter((r) => r.path === path);

async function queue(user: TestUser, input: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { ${JOB} } } }`, {
    i: { jobType: 'image_fast', prompt: 'a lighthouse at dusk', ...input },
  });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job;
}

async function job(user: TestUser, id: string): Promise<Record<string, any>> {
  const res = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { ${JOB} } }`, { id });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.job;
}

async function secretOf(user: TestUser): Promise<string> {
  const res = await gql(server.url, user.token, '{ webhookSigningSecret }');
  expect(res.errors).toBeUndefined();
  return res.data!.webhookSigningSecret;
}

async function complete(user: TestUser, jobId: string): Promise<void> {
  const path = `${user.id}/${jobId}.png`;
  expect((await worker.uploadRaw('image_fast', path, Buffer.from(`png of ${jobId}`))).status).toBe(200);
  expect((await worker.callback({ job_id: jobId, status: 'completed', assets: [path] })).status).toBe(200);
}

async function waitDeliveries(user: TestUser, jobId: string, pred: (d: Record<string, any>[]) => boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const d = (await job(user, jobId)).webhookDeliveries as Record<string, any>[];
    if (pred(d)) return d;
    if (Date.now() > deadline) throw new Error(`deliveries never matched: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('events', () => {
  it('sends processing and completed, signed, with the job as GraphQL returns it (signed asset URLs)', async () => {
    const user = await newUser(server);
    const secret = await secretOf(user);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(await secretOf(user)).toBe(secret); // created once, then read
    const hook = hookUrl();
    const queued = await queue(user, { webhook: hook.url, webhookEvents: ['processing', 'completed', 'failed', 'cancelled'] });
    expect(queued.webhook).toBe(hook.url);
    expect(queued.webhookEvents).toEqual(['processing', 'completed', 'failed', 'cancelled']);
    expect(queued.webhookDeliveries).toEqual([]);

    expect((await worker.callback({ job_id: queued.id, status: 'processing', progress: 10 })).status).toBe(200);
    // Progress within processing is not a new event.
    expect((await worker.callback({ job_id: queued.id, status: 'processing', progress: 50 })).status).toBe(200);
    await complete(user, queued.id);
    const got = await receiver.until(() => at(hook.path).length >= 2);
    const mine = at(hook.path);
    expect(mine.map((r) => r.body.type)).toEqual(['job.processing', 'job.completed']);
    for (const r of mine) {
      expect(verifies(r, secret)).toBe(true);
      expect(r.headers['content-type']).toBe('application/json');
      expect(new Date(r.body.timestamp).toISOString()).toBe(r.body.timestamp);
      expect(r.body.data.id).toBe(queued.id);
    }
    expect(mine[0].body.data.status).toBe('processing');
    expect(mine[0].body.data.progress).toBe(10);
    expect(mine[0].body.data.assets).toEqual([]);

    const data = mine[1].body.data;
    const now = await job(user, queued.id);
    expect(data.status).toBe('completed');
    // The same shape and values as the API's own answer (fields the test's query named).
    for (const key of ['id', 'status', 'progress', 'webhook', 'webhookEvents']) expect(data[key]).toEqual(now[key]);
    expect(data).toMatchObject({ jobType: 'image_fast', format: 'image', prompt: 'a lighthouse at dusk', creditCost: expect.any(Number) });
    expect(data.webhookDeliveries).toBeUndefined();
    expect(data.assets).toHaveLength(1);
    const asset = data.assets[0];
    expect(asset.path).toBe(`${user.id}/${queued.id}.png`);
    expect(new Date(asset.expiresAt).getTime() - Date.now()).toBeGreaterThan(3600 * 1000 - 60_000); // ≥ SIGNED_URL_TTL (default 3600)
    const download = await fetch(asset.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe(`png of ${queued.id}`);

    // Job.webhookDeliveries: one per event, the ids being the webhook-id headers.
    const deliveries = await waitDeliveries(user, queued.id, (d) => d.every((x) => x.status === 'delivered'));
    expect(deliveries.map((d) => [d.event, d.status, d.attempts, d.responseStatus, d.nextAttemptAt])).toEqual([
      ['processing', 'delivered', 1, 200, null],
      ['completed', 'delivered', 1, 200, null],
    ]);
    expect(deliveries.map((d) => d.id)).toEqual(mine.map((r) => r.id));
    expect(got.length).toBeGreaterThanOrEqual(2);
  });

  it('sends failed (worker failure, and the sweeper ending a stuck job) and cancelled', async () => {
    const user = await newUser(server);
    const secret = await secretOf(user);
    const hook = hookUrl();
    const all = ['processing', 'completed', 'failed', 'cancelled'];
    const failing = await queue(user, { webhook: hook.url, webhookEvents: all });
    const cancelled = await queue(user, { webhook: hook.url, webhookEvents: all });
    // sdxl_image_fast expects 5 s; JOB_TIMEOUT_GRACE is 1 s, so the sweeper fails it about 6 s after it starts.
    const stuck = await queue(user, { jobType: 'sdxl_image_fast', webhook: hook.url, webhookEvents: ['failed'] });

    expect((await worker.callback({ job_id: failing.id, status: 'failed', error_message: 'CUDA out of memory' })).status).toBe(200);
    const cancel = await gql(server.url, user.token, 'mutation($id: ID!) { cancelJob(id: $id) { status } }', { id: cancelled.id });
    expect(cancel.errors).toBeUndefined();
    expect((await worker.callback({ job_id: stuck.id, status: 'processing', progress: 5 })).status).toBe(200);

    await receiver.until(() => at(hook.path).length >= 3, 20_000);
    const byJob = new Map(at(hook.path).map((r) => [r.body.data.id, r]));
    expect(byJob.get(failing.id)!.body).toMatchObject({ type: 'job.failed', data: { status: 'failed', errorMessage: 'CUDA out of memory' } });
    expect(byJob.get(cancelled.id)!.body).toMatchObject({ type: 'job.cancelled', data: { status: 'cancelled' } });
    expect(byJob.get(stuck.id)!.body).toMatchObject({ type: 'job.failed', data: { status: 'failed' } });
    expect(byJob.get(stuck.id)!.body.data.errorMessage).toMatch(/No result from the worker/);
    for (const r of at(hook.path)) expect(verifies(r, secret)).toBe(true);
    expect(at(hook.path)).toHaveLength(3); // stuck's processing was not subscribed
  });

  it('sends only the subscribed events; completed, failed and cancelled by default', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    const byDefault = await queue(user, { webhook: hook.url });
    expect(byDefault.webhookEvents).toEqual(['completed', 'failed', 'cancelled']);
    const onlyFailed = await queue(user, { webhook: hook.url, webhookEvents: ['failed'] });
    const none = await queue(user, {});
    expect(none.webhook).toBeNull();
    expect(none.webhookEvents).toBeNull();
    for (const j of [byDefault, onlyFailed, none]) {
      expect((await worker.callback({ job_id: j.id, status: 'processing', progress: 1 })).status).toBe(200);
      await complete(user, j.id);
    }
    await receiver.until(() => at(hook.path).length >= 1);
    // Give any wrongly-sent delivery time to arrive.
    await new Promise((r) => setTimeout(r, 500));
    expect(at(hook.path).map((r) => [r.body.data.id, r.body.type])).toEqual([[byDefault.id, 'job.completed']]);
    expect((await job(user, onlyFailed.id)).webhookDeliveries).toEqual([]);
    expect((await job(user, none.id)).webhookDeliveries).toEqual([]);
  });

  it('connects to the address it resolved and checked, sending the URL\'s own Host', async () => {
    const user = await newUser(server);
    const hook = hookUrl('hooks.test');
    const j = await queue(user, { webhook: hook.url });
    await complete(user, j.id);
    const [r] = await receiver.until(() => at(hook.path).length >= 1).then(() => at(hook.path));
    expect(r.headers.host).toBe(`hooks.test:${receiver.port}`);
    expect(verifies(r, await secretOf(user))).toBe(true);
  });
});

describe('the outbox is written with the job change', () => {
  it('a rolled-back status change leaves no delivery; a committed one, by any code path, leaves exactly one', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    const j = await queue(user, { webhook: hook.url, webhookEvents: ['cancelled'] });
    const db = server.app.deps.db;
    await expect(
      db.transaction(async (tx) => {
        await tx.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, j.id));
        // Inside the transaction the delivery exists alongside the change…
        expect(await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, j.id))).toHaveLength(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    // …and goes with it.
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, j.id))).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(at(hook.path)).toHaveLength(0);

    // A bare UPDATE stands for any code path (a future one included): the delivery comes with it.
    await db.update(jobs).set({ status: 'cancelled' }).where(eq(jobs.id, j.id));
    const [r] = await receiver.until(() => at(hook.path).length >= 1).then(() => at(hook.path));
    expect(r.body).toMatchObject({ type: 'job.cancelled', data: { id: j.id, status: 'cancelled' } });
    expect(await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.jobId, j.id))).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries after 5xx answers with the same webhook-id until a 2xx', async () => {
    const user = await newUser(server);
    const secret = await secretOf(user);
    const hook = hookUrl();
    let calls = 0;
    receiver.answer = (r) => (r.path === hook.path && ++calls <= 2 ? 503 : 200);
    const j = await queue(user, { webhook: hook.url });
    await complete(user, j.id);
    await receiver.until(() => at(hook.path).length >= 3);
    const mine = at(hook.path);
    expect(new Set(mine.map((r) => r.id)).size).toBe(1);
    // The same event each time (asset URLs are signed afresh per attempt, so only they may differ).
    expect(new Set(mine.map((r) => JSON.stringify([r.body.type, r.body.timestamp, r.body.data.status, r.body.data.completedAt]))).size).toBe(1);
    for (const r of mine) expect(verifies(r, secret)).toBe(true);
    const [d] = await waitDeliveries(user, j.id, (d) => d[0]?.status === 'delivered');
    expect(d).toMatchObject({ id: mine[0].id, attempts: 3, responseStatus: 200, lastError: null, nextAttemptAt: null });
    await new Promise((r) => setTimeout(r, 300));
    expect(at(hook.path)).toHaveLength(3);
    receiver.answer = () => 200;
  });

  it('retries after no answer within the timeout, and after a redirect (never followed)', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    const elsewhere = hookUrl();
    let calls = 0;
    receiver.answer = (r) => {
      if (r.path !== hook.path) return 200;
      calls++;
      if (calls === 1) return { status: 200, delayMs: 2500 }; // past WEBHOOK_TIMEOUT_SECONDS=1
      if (calls === 2) return { status: 302, headers: { location: `http://127.0.0.1:${receiver.port}${elsewhere.path}` } };
      return 204;
    };
    const j = await queue(user, { webhook: hook.url });
    await complete(user, j.id);
    await receiver.until(() => at(hook.path).length >= 3);
    const mine = at(hook.path);
    expect(new Set(mine.map((r) => r.id)).size).toBe(1);
    const [d] = await waitDeliveries(user, j.id, (d) => d[0]?.status === 'delivered');
    expect(d).toMatchObject({ attempts: 3, responseStatus: 204 });
    expect(at(elsewhere.path)).toHaveLength(0);
    receiver.answer = () => 200;
  });

  it('shows the failing state, then gives up as failed after the schedule; redelivery sends it again now', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    receiver.answer = (r) => (r.path === hook.path ? 500 : 200);
    const j = await queue(user, { webhook: hook.url });
    await complete(user, j.id);
    const [pending] = await waitDeliveries(user, j.id, (d) => d[0]?.attempts >= 1 && d[0]?.status === 'pending');
    expect(pending).toMatchObject({ responseStatus: 500, lastError: 'answered 500' });
    expect(pending.nextAttemptAt).not.toBeNull();
    expect(pending.lastAttemptAt).not.toBeNull();
    // 10 attempts; with a 0.01 s base the nine waits add up to about 5 s.
    const [failed] = await waitDeliveries(user, j.id, (d) => d[0]?.status === 'failed', 20_000);
    expect(failed).toMatchObject({ attempts: 10, responseStatus: 500, nextAttemptAt: null });
    expect(at(hook.path)).toHaveLength(10);

    receiver.answer = () => 200;
    const other = await newUser(server);
    const refused = await gql(server.url, other.token, 'mutation($id: ID!) { redeliverWebhook(id: $id) { id } }', { id: failed.id });
    expect(refused.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    await new Promise((r) => setTimeout(r, 300));
    expect(at(hook.path)).toHaveLength(10);

    const again = await gql(server.url, user.token, 'mutation($id: ID!) { redeliverWebhook(id: $id) { id status attempts nextAttemptAt } }', {
      id: failed.id,
    });
    expect(again.errors).toBeUndefined();
    expect(again.data!.redeliverWebhook).toMatchObject({ id: failed.id, status: 'pending', attempts: 10 });
    await receiver.until(() => at(hook.path).length >= 11);
    expect(at(hook.path)[10].id).toBe(failed.id);
    expect(verifies(at(hook.path)[10], await secretOf(user))).toBe(true);
    const [done] = await waitDeliveries(user, j.id, (d) => d[0]?.status === 'delivered');
    expect(done).toMatchObject({ attempts: 11, responseStatus: 200 });

    // A delivered one can be sent again too.
    const once = await gql(server.url, user.token, 'mutation($id: ID!) { redeliverWebhook(id: $id) { id } }', { id: failed.id });
    expect(once.errors).toBeUndefined();
    await receiver.until(() => at(hook.path).length >= 12);
    const missing = await gql(server.url, user.token, 'mutation { redeliverWebhook(id: "00000000-0000-4000-8000-000000000000") { id } }');
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });
});

describe('ordering', () => {
  it('never sends a job\'s completed before its processing was delivered, even while processing is being retried', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    let processingCalls = 0;
    receiver.answer = (r) => (r.path === hook.path && r.body.type === 'job.processing' && ++processingCalls <= 3 ? 500 : 200);
    const j = await queue(user, { webhook: hook.url, webhookEvents: ['processing', 'completed'] });
    expect((await worker.callback({ job_id: j.id, status: 'processing', progress: 1 })).status).toBe(200);
    await complete(user, j.id);
    await receiver.until(() => at(hook.path).some((r) => r.body.type === 'job.completed'));
    expect(at(hook.path).map((r) => r.body.type)).toEqual(['job.processing', 'job.processing', 'job.processing', 'job.processing', 'job.completed']);
    receiver.answer = () => 200;
  });
});

describe('secrets', () => {
  it('rotation: the new secret signs every later delivery, the old one none', async () => {
    const user = await newUser(server);
    const old = await secretOf(user);
    const rotated = await gql(server.url, user.token, 'mutation { rotateWebhookSigningSecret }');
    expect(rotated.errors).toBeUndefined();
    const fresh = rotated.data!.rotateWebhookSigningSecret as string;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    expect(await secretOf(user)).toBe(fresh);
    const hook = hookUrl();
    const j = await queue(user, { webhook: hook.url });
    await complete(user, j.id);
    const [r] = await receiver.until(() => at(hook.path).length >= 1).then(() => at(hook.path));
    expect(verifies(r, fresh)).toBe(true);
    expect(verifies(r, old)).toBe(false);
  });

  it('isolation: users have their own secrets, and cannot see or redeliver each other\'s deliveries', async () => {
    const alice = await newUser(server);
    const bob = await newUser(server);
    const [aliceSecret, bobSecret] = [await secretOf(alice), await secretOf(bob)];
    expect(aliceSecret).not.toBe(bobSecret);
    const hook = hookUrl();
    const j = await queue(alice, { webhook: hook.url });
    await complete(alice, j.id);
    const [r] = await receiver.until(() => at(hook.path).length >= 1).then(() => at(hook.path));
    expect(verifies(r, aliceSecret)).toBe(true);
    expect(verifies(r, bobSecret)).toBe(false);
    expect((await gql(server.url, bob.token, 'query($id: ID!) { job(id: $id) { id } }', { id: j.id })).data!.job).toBeNull();
    const steal = await gql(server.url, bob.token, 'mutation($id: ID!) { redeliverWebhook(id: $id) { id } }', { id: r.id });
    expect(steal.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gql(server.url, null, '{ webhookSigningSecret }')).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const workerAsks = await gql(server.url, await server.workerToken(), '{ webhookSigningSecret }');
    expect(workerAsks.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    await new Promise((r) => setTimeout(r, 200));
    expect(at(hook.path)).toHaveLength(1);
  });
});

describe('the REST queue-job door', () => {
  it('takes webhook and webhook_events', async () => {
    const user = await newUser(server);
    const hook = hookUrl();
    const res = await fetch(`${server.url}/functions/v1/queue-job`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jobType: 'image_fast', metadata: { prompt: 'a harbour' }, webhook: hook.url, webhook_events: ['processing'] }),
    });
    expect(res.status).toBe(200);
    const id = ((await res.json()) as { job: { id: string } }).job.id;
    expect(await job(user, id)).toMatchObject({ webhook: hook.url, webhookEvents: ['processing'] });
    expect((await worker.callback({ job_id: id, status: 'processing', progress: 3 })).status).toBe(200);
    const [r] = await receiver.until(() => at(hook.path).length >= 1).then(() => at(hook.path));
    expect(r.body.type).toBe('job.processing');
    expect(verifies(r, await secretOf(user))).toBe(true);

    const bad = await fetch(`${server.url}/functions/v1/queue-job`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jobType: 'image_fast', metadata: { prompt: 'a harbour' }, webhook: hook.url, webhook_events: ['finished'] }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { debug: { field: string } }).debug.field).toBe('webhook_events');
  });
});

describe('metrics', () => {
  it('the app\'s metrics registry (what /metrics serves) counts attempts by outcome and has the delivery-latency histogram', async () => {
    const text = await server.app.deps.metrics.render();
    const value = (status: string) => Number(new RegExp(`^genjob_webhook_deliveries_total\\{status="${status}"\\} (\\d+)`, 'm').exec(text)?.[1]);
    // Earlier tests in this file delivered many, retried several and gave one up.
    expect(value('delivered')).toBeGreaterThan(10);
    expect(value('retrying')).toBeGreaterThan(5);
    expect(value('failed')).toBeGreaterThanOrEqual(1);
    expect(Number(/^genjob_webhook_delivery_latency_seconds_count (\d+)/m.exec(text)?.[1])).toBe(value('delivered'));
  });
});
