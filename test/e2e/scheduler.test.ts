import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempts, jobs, usageLogs } from '../../src/db/schema.js';
import { collect, fleet, gql, newUser as newTestUser, production, startTestServer, wsClient, type TestServer, type TestUser } from '../helpers/app.js';

/**
 * The scheduler end to end: fair order, positions, attempts that survive
 * vanished workers, fencing of superseded attempts, transient retries,
 * retryJob, the queues overview, cancel. Runs on both backends (PGlite +
 * in-process queue; PostgreSQL + Redis, where /rpop and the Redis window
 * work together).
 */

const JOB = `id status progress attempts maxAttempts queuePosition estimatedStartAt estimatedCompletionAt errorMessage
  startedAt completedAt assets { path }`;

let server: TestServer;
let worker: ReturnType<typeof fleet>;

beforeAll(async () => {
  // A short grace so silent attempts are abandoned within the test; a fast sweep.
  server = await startTestServer({ JOB_TIMEOUT_GRACE: '1', SWEEP_INTERVAL_MS: '100', MAX_ATTEMPTS: '2', STARTING_CREDITS: '1000' });
  worker = fleet(server.url, await server.workerToken());
});
afterAll(async () => {
  await server?.close();
});

const newUser = () => newTestUser(server);
const db = () => server.app.deps.db;

async function queue(user: TestUser, input: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { ${JOB} } } }`, { i: input });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job;
}
const sdxl = (user: TestUser, prompt = 'a lighthouse') => queue(user, { jobType: 'sdxl_image_fast', prompt });

async function getJob(user: TestUser, id: string): Promise<Record<string, any>> {
  const res = await gql(server.url, user.token, `query($id: ID!) { job(id: $id) { ${JOB} } }`, { id });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.job;
}

async function credits(user: TestUser): Promise<number> {
  return (await gql(server.url, user.token, `{ me { credits } }`)).data!.me.credits;
}

/** Pops everything left in a queue (earlier tests' leftovers), answering nothing. */
async function drain(name: string): Promise<void> {
  await db().execute(sql`update jobs set status = 'cancelled', completed_at = now() where queue = ${name} and status in ('queued', 'processing')`);
  while ((await worker.pop(name)) !== null);
}

/** Makes the job's current attempt look silent for an hour (the sweeper runs every 100 ms). */
async function silence(id: string): Promise<void> {
  await db().execute(sql`update jobs set last_seen_at = now() - interval '1 hour', picked_at = now() - interval '1 hour' where id = ${id}`);
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function attemptRows(jobId: string) {
  return db().select().from(attempts).where(eq(attempts.jobId, jobId)).orderBy(asc(attempts.number));
}

describe('fair order', () => {
  it('a user with many waiting jobs and users with few alternate; positions 1..n match the pop order', async () => {
    await drain('sdxl_queue');
    const [heavy, light, third] = [await newUser(), await newUser(), await newUser()];
    const h = [];
    for (let i = 0; i < 5; i++) h.push((await sdxl(heavy, `heavy ${i}`)).id);
    const l = (await sdxl(light, 'light')).id;
    const t = [(await sdxl(third, 'third 0')).id, (await sdxl(third, 'third 1')).id];

    // Nothing runs yet: each user's first job, oldest first, then the second round, and so on.
    const expected = [h[0], l, t[0], h[1], t[1], h[2], h[3], h[4]];
    const owner = new Map<string, TestUser>([...h.map((id) => [id, heavy] as const), [l, light], ...t.map((id) => [id, third] as const)]);
    const positions = await Promise.all(expected.map(async (id) => (await getJob(owner.get(id)!, id)).queuePosition));
    expect(positions).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const page = await gql(server.url, heavy.token, `{ jobs(first: 10) { edges { node { id queuePosition estimatedStartAt } } } }`);
    const byId = new Map(page.data!.jobs.edges.map((e: any) => [e.node.id, e.node]));
    expect(h.map((id) => (byId.get(id) as any).queuePosition)).toEqual([1, 4, 6, 7, 8]);
    // Later positions start later.
    const starts = h.map((id) => Date.parse((byId.get(id) as any).estimatedStartAt));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);

    const popped: string[] = [];
    for (let i = 0; i < expected.length; i++) popped.push((await worker.pop('sdxl_queue'))!.id);
    expect(popped).toEqual(expected);
    expect(await worker.pop('sdxl_queue')).toBeNull();
    const taken = await getJob(heavy, h[0]);
    expect(taken).toMatchObject({ status: 'queued', attempts: 1, queuePosition: null, estimatedStartAt: null });
    expect(taken.estimatedCompletionAt).not.toBeNull();
  });

  it('running jobs count against their user until they finish; ties go to the oldest job', async () => {
    await drain('sdxl_queue');
    const [a, b] = [await newUser(), await newUser()];
    const a1 = (await sdxl(a)).id;
    expect((await worker.pop('sdxl_queue'))!.id).toBe(a1); // a has one running
    const a2 = (await sdxl(a)).id;
    const b1 = (await sdxl(b)).id;
    const b2 = (await sdxl(b)).id;
    // b has none running: b1 first although a2 is older; then a2 and b2 tie at one, a2 older.
    expect((await getJob(b, b1)).queuePosition).toBe(1);
    expect((await getJob(a, a2)).queuePosition).toBe(2);
    expect((await getJob(b, b2)).queuePosition).toBe(3);
    // a's running job fails for good: a has none running, so a2 is next.
    expect((await worker.callback({ job_id: a1, status: 'failed', error_message: 'bad prompt' })).status).toBe(200);
    expect((await getJob(a, a2)).queuePosition).toBe(1);
    expect((await worker.pop('sdxl_queue'))!.id).toBe(a2);
    expect((await worker.pop('sdxl_queue'))!.id).toBe(b1);
    expect((await worker.pop('sdxl_queue'))!.id).toBe(b2);
  });

  it('a jobUpdated subscriber sees its position go down as jobs ahead are taken', async () => {
    await drain('sdxl_queue');
    const [a, b] = [await newUser(), await newUser()];
    const ahead = [(await sdxl(a)).id, (await sdxl(a)).id];
    const mine = (await sdxl(b)).id;
    // a's first, then b's first (b has none running), then a's second.
    expect((await getJob(b, mine)).queuePosition).toBe(2);
    const client = wsClient(server.wsUrl, b.token);
    try {
      const sub = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { id status queuePosition } }`, { id: mine });
      await sub.next(1);
      expect(sub.events[0].data!.jobUpdated.queuePosition).toBe(2);
      expect((await worker.pop('sdxl_queue'))!.id).toBe(ahead[0]);
      await sub.next(2);
      expect(sub.events[1].data!.jobUpdated).toMatchObject({ id: mine, status: 'queued', queuePosition: 1 });
    } finally {
      await client.dispose();
    }
  });
});

describe('attempts', () => {
  it('a silent worker is given up on after expected time + grace; the job runs again with a new payload id; the late callback changes nothing', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user, 'vanishing worker');
    const first = (await worker.pop('sdxl_queue'))!;
    expect(first.id).toBe(job.id); // the first attempt keeps the job's id
    expect((await getJob(user, job.id)).attempts).toBe(1);
    // sdxl_image_fast: 5 s expected + 1 s grace, measured from the hand-out, really waited for.
    const requeued = await until('re-queued', async () => {
      const j = await getJob(user, job.id);
      return j.status === 'queued' && j.queuePosition === 1 && j;
    }, 15_000);
    expect(requeued.attempts).toBe(1);
    const second = (await worker.pop('sdxl_queue'))!;
    expect(second.id).not.toBe(job.id);
    expect(second.prompt).toBe('vanishing worker');
    expect((await getJob(user, job.id)).attempts).toBe(2);

    // The vanished worker comes back late: acknowledged, ignored, whatever it says.
    const late = await worker.callback({ job_id: first.id, status: 'completed', assets: [`${user.id}/sdxl_${first.id}_1_0.png`] });
    expect(late.status).toBe(200);
    expect(((await late.json()) as any).message).toMatch(/superseded/);
    expect((await worker.callback({ job_id: first.id, status: 'failed', error_message: 'late' })).status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', attempts: 2, errorMessage: null });

    // The current attempt completes: its assets, and only its.
    const path = `${user.id}/sdxl_${second.id}_2_0.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([137, 80, 78, 71]))).status).toBe(200);
    expect((await worker.callback({ job_id: second.id, status: 'completed', assets: [path] })).status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'completed', attempts: 2, assets: [{ path }] });
    expect((await attemptRows(job.id)).map((a) => [a.number, a.id === job.id, a.outcome])).toEqual([
      [1, true, 'abandoned'],
      [2, false, 'completed'],
    ]);
  });

  it('a report from an attempt given up on, while the job waits for its next one, is adopted: the work is kept, the next attempt never handed out', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user, 'late report');
    const first = (await worker.pop('sdxl_queue'))!;
    expect(first.id).toBe(job.id);
    // Its reports are lost (a PostgreSQL outage): the sweeper gives up on the attempt and queues the job again.
    await silence(job.id);
    await until('re-queued', async () => {
      const [row] = await db().select().from(jobs).where(eq(jobs.id, job.id));
      // On Redis the next attempt also enters the window for direct poppers.
      return row.status === 'queued' && row.pickedAt === null && row.payloadId !== job.id && (!production || row.dispatchedAt !== null) && row;
    });
    // Then the worker's report arrives after all.
    const path = `${user.id}/sdxl_${first.id}_1_0.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([137, 80, 78, 71]))).status).toBe(200);
    const res = await worker.callback({ job_id: first.id, status: 'completed', assets: [path] });
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).message).not.toMatch(/superseded/);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'completed', attempts: 1, assets: [{ path }] });
    expect((await attemptRows(job.id)).map((a) => [a.number, a.id, a.outcome])).toEqual([[1, job.id, 'completed']]);
    // The next attempt's payload is gone from the queue: nobody runs the job again.
    await new Promise((r) => setTimeout(r, 300));
    expect(await worker.pop('sdxl_queue')).toBeNull();
    if (production) expect(await server.app.deps.queue.length('sdxl_queue')).toBe(0);
  });

  it('a report from an attempt given up on is ignored once the next attempt was handed out', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user, 'late report, too late');
    const first = (await worker.pop('sdxl_queue'))!;
    await silence(job.id);
    await until('re-queued', async () => (await getJob(user, job.id)).status === 'queued' && (await getJob(user, job.id)).queuePosition === 1);
    const second = (await worker.pop('sdxl_queue'))!;
    expect(second.id).not.toBe(first.id);
    const res = await worker.callback({ job_id: first.id, status: 'failed', error_message: 'late' });
    expect(((await res.json()) as any).message).toMatch(/superseded/);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', attempts: 2 });
    expect((await worker.callback({ job_id: second.id, status: 'failed', error_message: 'done' })).status).toBe(200);
  });

  it('a processing callback is a sign of life that restarts the clock', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user);
    await worker.pop('sdxl_queue');
    await silence(job.id);
    expect((await worker.callback({ job_id: job.id, status: 'processing', progress: 10 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500)); // five sweeps
    expect(await getJob(user, job.id)).toMatchObject({ status: 'processing', attempts: 1, progress: 10 });
  });

  it('attempts exhausted: failed and refunded exactly once', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const before = await credits(user);
    const job = await sdxl(user);
    expect(await credits(user)).toBe(before - 1);
    for (let n = 1; n <= 2; n++) {
      expect((await worker.pop('sdxl_queue'))).not.toBeNull();
      await silence(job.id);
      if (n === 1) await until('re-queued', async () => (await getJob(user, job.id)).queuePosition === 1);
    }
    const failed = await until('failed', async () => {
      const j = await getJob(user, job.id);
      return j.status === 'failed' && j;
    });
    expect(failed.attempts).toBe(2);
    expect(failed.errorMessage).toMatch(/2 attempts.*refunded/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await credits(user)).toBe(before);
    const refunds = await db().select().from(usageLogs).where(and(eq(usageLogs.userId, user.id), eq(usageLogs.action, 'refund_failed_job')));
    expect(refunds).toHaveLength(1);
    expect(await worker.pop('sdxl_queue')).toBeNull();
  });

  it('a transient failure (CUDA out of memory) is retried while attempts remain; then it is final', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const before = await credits(user);
    const job = await sdxl(user);
    const first = (await worker.pop('sdxl_queue'))!;
    expect((await worker.callback({ job_id: first.id, status: 'failed', error_message: 'RuntimeError: CUDA out of memory' })).status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', attempts: 1, queuePosition: 1 });
    expect(await credits(user)).toBe(before - 1);
    const second = (await worker.pop('sdxl_queue'))!;
    expect(second.id).not.toBe(first.id);
    expect((await worker.callback({ job_id: second.id, status: 'failed', error_message: 'Connection reset by peer' })).status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'failed', attempts: 2, errorMessage: 'Connection reset by peer' });
    expect(await credits(user)).toBe(before);
    expect((await attemptRows(job.id)).map((a) => a.outcome)).toEqual(['retried', 'failed']);
  });

  it('a non-transient failure is final at once', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user);
    await worker.pop('sdxl_queue');
    await worker.callback({ job_id: job.id, status: 'failed', error_message: 'Prompt rejected by the model' });
    expect(await getJob(user, job.id)).toMatchObject({ status: 'failed', attempts: 1 });
  });
});

describe('retryJob', () => {
  const RETRY = `mutation($id: ID!) { retryJob(id: $id) { ${JOB} } }`;

  it('queues a failed job again with the same id, a new attempt, charged again', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const start = await credits(user);
    const job = await sdxl(user);
    const first = (await worker.pop('sdxl_queue'))!;
    await worker.callback({ job_id: first.id, status: 'failed', error_message: 'bad luck' });
    expect(await credits(user)).toBe(start);

    const res = await gql(server.url, user.token, RETRY, { id: job.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.retryJob).toMatchObject({ id: job.id, status: 'queued', attempts: 1, maxAttempts: 3, queuePosition: 1, errorMessage: null });
    expect(await credits(user)).toBe(start - 1);
    const second = (await worker.pop('sdxl_queue'))!;
    expect(second.id).not.toBe(first.id);
    // The earlier attempt's report changes nothing.
    await worker.callback({ job_id: first.id, status: 'failed', error_message: 'echo' });
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', attempts: 2 });
    const path = `${user.id}/sdxl_${second.id}_1_0.png`;
    await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([1, 2, 3]));
    await worker.callback({ job_id: second.id, status: 'completed', assets: [path] });
    expect(await getJob(user, job.id)).toMatchObject({ status: 'completed', assets: [{ path }] });
    expect(await credits(user)).toBe(start - 1);
  });

  it('retries a cancelled job', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const job = await sdxl(user);
    await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { id } }`, { id: job.id });
    const res = await gql(server.url, user.token, RETRY, { id: job.id });
    expect(res.data!.retryJob).toMatchObject({ status: 'queued', attempts: 0, queuePosition: 1 });
    const payload = (await worker.pop('sdxl_queue'))!;
    expect(payload.prompt).toBe('a lighthouse');
    expect(payload.id).not.toBe(job.id);
  });

  it('refuses completed, queued and other users\' jobs, and changes nothing', async () => {
    await drain('sdxl_queue');
    const [user, other] = [await newUser(), await newUser()];
    const waiting = await sdxl(user);
    // The job row minus its Redis-window bookkeeping, which the scheduler may rewrite meanwhile.
    const snapshot = async () => ({
      credits: await credits(user),
      job: (await db().select().from(jobs).where(eq(jobs.id, waiting.id))).map(({ dispatchedAt: _d, dispatchEpoch: _e, ...row }) => row)[0],
      logs: (await db().select().from(usageLogs).where(eq(usageLogs.userId, user.id))).length,
    });
    const before = await snapshot();
    const queued = await gql(server.url, user.token, RETRY, { id: waiting.id });
    expect(queued.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(queued.errors?.[0].message).toMatch(/still queued/);
    const foreign = await gql(server.url, other.token, RETRY, { id: waiting.id });
    expect(foreign.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect(await snapshot()).toEqual(before);

    const payload = (await worker.pop('sdxl_queue'))!;
    const path = `${user.id}/sdxl_${payload.id}_1_0.png`;
    await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([1]));
    await worker.callback({ job_id: payload.id, status: 'completed', assets: [path] });
    const done = await snapshot();
    const completed = await gql(server.url, user.token, RETRY, { id: waiting.id });
    expect(completed.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(completed.errors?.[0].message).toMatch(/completed.*Queue a new job/);
    expect(await snapshot()).toEqual(done);
    expect(await worker.pop('sdxl_queue')).toBeNull();
  });

  it('refuses without enough credits, and changes nothing', async () => {
    await drain('wan_queue');
    const user = await newUser();
    const job = await queue(user, { jobType: 'video_high', prompt: 'waves' });
    await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { id } }`, { id: job.id });
    await db().execute(sql`update users set credits = 1 where id = ${user.id}`);
    const res = await gql(server.url, user.token, RETRY, { id: job.id });
    expect(res.errors?.[0].extensions?.code).toBe('INSUFFICIENT_CREDITS');
    expect(await getJob(user, job.id)).toMatchObject({ status: 'cancelled' });
    expect(await credits(user)).toBe(1);
    expect(await worker.pop('wan_queue')).toBeNull();
  });
});

describe('cancel', () => {
  it('a cancelled waiting job is never handed out; a cancelled running job ignores its late callbacks', async () => {
    await drain('sdxl_queue');
    const user = await newUser();
    const before = await credits(user);
    const [w, r] = [await sdxl(user, 'waiting'), await sdxl(user, 'running')];
    // Take r (second in line) by taking w first and putting w's turn aside: cancel w after r is taken.
    const firstOut = (await worker.pop('sdxl_queue'))!;
    expect(firstOut.id).toBe(w.id);
    const third = await sdxl(user, 'third');
    await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { id } }`, { id: third.id });
    expect((await worker.pop('sdxl_queue'))!.id).toBe(r.id);
    expect(await worker.pop('sdxl_queue')).toBeNull();

    const cancel = await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: r.id });
    expect(cancel.data!.cancelJob.status).toBe('cancelled');
    await worker.callback({ job_id: r.id, status: 'processing', progress: 50 });
    await worker.callback({ job_id: r.id, status: 'completed', assets: [`${user.id}/x.png`] });
    expect(await getJob(user, r.id)).toMatchObject({ status: 'cancelled', progress: 0, assets: [] });
    expect((await attemptRows(r.id)).map((a) => a.outcome)).toEqual(['cancelled']);
    expect(await credits(user)).toBe(before - 1); // w still runs; r and third refunded
  });
});

describe('queues', () => {
  it('reports waiting, running, workers, throughput and expected wait per queue', async () => {
    await drain('wan_queue');
    await drain('sdxl_queue');
    const user = await newUser();
    await new Promise((r) => setTimeout(r, 2100)); // the figures are cached for 2 s
    const res0 = await gql(server.url, user.token, `{ queues { name waiting running activeWorkers throughputPerMinute estimatedWaitSeconds } }`);
    expect(res0.errors).toBeUndefined();
    expect(res0.data!.queues.map((q: any) => q.name)).toEqual(['sdxl_queue', 'wan_queue']);
    const wan0 = res0.data!.queues[1];
    expect(wan0).toMatchObject({ waiting: 0, running: 0 });

    for (let i = 0; i < 3; i++) await queue(user, { jobType: 'video_fast', prompt: `clip ${i}` });
    const taken = (await worker.pop('wan_queue'))!;
    await new Promise((r) => setTimeout(r, 2100)); // the figures are cached for 2 s
    const res = await gql(server.url, user.token, `{ queues { name waiting running activeWorkers throughputPerMinute estimatedWaitSeconds } }`);
    const wan = res.data!.queues.find((q: any) => q.name === 'wan_queue');
    expect(wan).toMatchObject({ waiting: 2, running: 1, activeWorkers: 1 });
    expect(wan.throughputPerMinute).toBe(0);
    expect(wan.estimatedWaitSeconds).toBeNull();
    await worker.callback({ job_id: taken.id, status: 'failed', error_message: 'x' });
    const unauth = await gql(server.url, null, `{ queues { name } }`);
    expect(unauth.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });
});
