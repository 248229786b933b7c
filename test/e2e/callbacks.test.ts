import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { images, jobs, usageLogs, videos } from '../../src/db/schema.js';
import { collect, gql, wsClient, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';
import { newUser as newTestUser, type TestUser } from '../helpers/app.js';

/** The fleet's job-callback (worker-protocol.md §4) against a started server. */

const JOB = `id jobType status progress seed numImages generationTime errorMessage enhancedPrompt metadata
  startedAt completedAt assets { index bucket path url contentType }`;
const GET = `query($id: ID!) { job(id: $id) { ${JOB} } }`;

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

type User = TestUser;
const newUser = () => newTestUser(server);

async function queueJob(user: User, input: Record<string, unknown>) {
  const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { ${JOB} } } }`, { i: input });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job as Record<string, any>;
}

async function getJob(user: User, id: string) {
  const res = await gql(server.url, user.token, GET, { id });
  expect(res.errors).toBeUndefined();
  return res.data!.job as Record<string, any>;
}

async function credits(user: User): Promise<number> {
  return (await gql(server.url, user.token, `{ me { credits } }`)).data!.me.credits;
}

/** Queues a job and takes it off its queue as the worker would. */
async function started(user: User, input: Record<string, unknown>) {
  const job = await queueJob(user, input);
  const queue = String(input.jobType).startsWith('sdxl_') ? 'sdxl_queue' : 'wan_queue';
  for (let i = 0; i < 100; i++) {
    const payload = await worker.pop(queue);
    if (payload === null) break;
    if (payload.id === job.id) return { job, payload };
  }
  throw new Error(`job ${job.id} was not in ${queue}`);
}

/** Uploads n distinct PNG-ish files the way the SDXL worker names them; returns their bucket-relative paths. */
async function uploadImages(bucket: string, userId: string, jobId: string, n: number) {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const path = `${userId}/sdxl_${jobId}_1700000000_${i}.png`;
    const res = await worker.uploadRaw(bucket, path, new Uint8Array([137, 80, 78, 71, i]));
    expect(res.status).toBe(200);
    paths.push(path);
  }
  return paths;
}

async function imageRows(jobId: string) {
  return server.app.deps.db.select().from(images).where(eq(images.jobId, jobId)).orderBy(asc(images.imageIndex));
}

async function refundCount(userId: string) {
  const rows = await server.app.deps.db
    .select()
    .from(usageLogs)
    .where(and(eq(usageLogs.userId, userId), sql`${usageLogs.creditsConsumed} < 0`));
  return rows.length;
}

function expectSeedErrorShape(body: any, errorType?: string) {
  expect(body).toEqual({
    error: expect.any(String),
    success: false,
    details: expect.any(String),
    debug: { timestamp: expect.any(String), errorType: errorType ?? expect.any(String) },
  });
  expect(Number.isNaN(Date.parse(body.debug.timestamp))).toBe(false);
  expect(body.error.length).toBeGreaterThan(0);
  expect(body.details.length).toBeGreaterThan(0);
}

describe('processing and progress', () => {
  it('publishes processing and progress; progress never goes backwards and stays below 100 until completed', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_fast', prompt: 'progress' });
    const client = wsClient(server.wsUrl, user.token);
    try {
      const sub = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { status progress } }`, { id: job.id });
      await sub.next(1);
      const steps: Array<Record<string, unknown>> = [
        { status: 'processing' },
        { status: 'processing', progress: 10 },
        { status: 'processing', progress: 50 },
        { status: 'processing', progress: 30 }, // backwards: ignored
        { status: 'processing', progress: 50 }, // no change: not published
        { status: 'processing' }, // no progress: keeps 50
        { status: 'processing', progress: 70.4 },
        { status: 'processing', progress: 100 }, // not done until completed
      ];
      const seen: number[] = [];
      for (const step of steps) {
        const res = await worker.callback({ job_id: job.id, ...step });
        expect(res.status).toBe(200);
        seen.push((await getJob(user, job.id)).progress);
      }
      expect(seen).toEqual([0, 10, 50, 50, 50, 50, 70, 99]);
      const paths = await uploadImages('sdxl_image_fast', user.id, job.id, 1);
      expect((await worker.callback({ job_id: job.id, status: 'completed', assets: paths })).status).toBe(200);
      const events = (await sub.completed()).map((e) => e.data!.jobUpdated);
      expect(events).toEqual([
        { status: 'queued', progress: 0 },
        { status: 'processing', progress: 0 },
        { status: 'processing', progress: 10 },
        { status: 'processing', progress: 50 },
        { status: 'processing', progress: 70 },
        { status: 'processing', progress: 99 },
        { status: 'completed', progress: 100 },
      ]);
      const done = await getJob(user, job.id);
      expect(done.startedAt).not.toBeNull();
      expect(Date.parse(done.completedAt)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    } finally {
      await client.dispose();
    }
  });

  it('a progress callback takes a job no worker was seen taking; on a finished job it changes nothing', async () => {
    const user = await newUser();
    const job = await queueJob(user, { jobType: 'image_fast', prompt: 'taken by its first callback' });
    const row = async () => (await server.app.deps.db.select().from(jobs).where(eq(jobs.id, job.id)))[0]!;
    expect(await row()).toMatchObject({ status: 'queued', pickedAt: null, attempts: 0 });
    expect((await worker.callback({ job_id: job.id, status: 'processing', progress: 20 })).status).toBe(200);
    const taken = await row();
    expect(taken).toMatchObject({ status: 'processing', progress: 20, attempts: 1 });
    expect(taken.pickedAt).not.toBeNull();
    expect(taken.startedAt).not.toBeNull();
    expect((await worker.callback({ job_id: job.id, status: 'processing', progress: 40 })).status).toBe(200);
    const moved = await row();
    expect(moved).toMatchObject({ progress: 40, attempts: 1, version: taken.version + 1 });
    expect(moved.startedAt).toEqual(taken.startedAt);
    expect((await worker.callback({ job_id: job.id, status: 'failed', error_message: 'bad prompt' })).status).toBe(200);
    const failed = await row();
    const late = await worker.callback({ job_id: job.id, status: 'processing', progress: 90 });
    expect(late.status).toBe(200);
    expect(((await late.json()) as { message: string }).message).toMatch(/already failed/);
    expect(await row()).toEqual(failed);
  });

  it('progress out of 0..100 is a 400 and changes nothing', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'image_fast', prompt: 'bad progress' });
    for (const progress of [101, -1, '50']) {
      const res = await worker.callback({ job_id: job.id, status: 'processing', progress });
      expect(res.status).toBe(400);
      expectSeedErrorShape(await res.json());
    }
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', progress: 0 });
  });
});

describe('completed', () => {
  it('turns the reported paths into assets; a repeated completed callback adds nothing', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_high', prompt: 'three', numImages: 3 });
    const paths = await uploadImages('sdxl_image_high', user.id, job.id, 3);
    const first = await worker.callback({ job_id: job.id, status: 'completed', assets: paths, metadata: { seed: 7, generation_time: 9.5, num_images: 3 } });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ success: true, debug: { job_id: job.id, jobStatus: 'completed', assetsProcessed: 3 } });
    const done = await getJob(user, job.id);
    expect(done.assets.map((a: any) => [a.index, a.bucket, a.path, a.contentType])).toEqual(
      paths.map((p, i) => [i, 'sdxl_image_high', p, 'image/png']),
    );
    const rowsBefore = await imageRows(job.id);
    expect(rowsBefore.map((r) => [r.imageIndex, r.status, r.path])).toEqual(paths.map((p, i) => [i, 'completed', p]));

    const extra = await uploadImages('sdxl_image_high', user.id, randomUUID(), 2);
    for (const assets of [paths, [...paths, ...extra], extra]) {
      const again = await worker.callback({ job_id: job.id, status: 'completed', assets, metadata: { seed: 99, generation_time: 1 } });
      expect(again.status).toBe(200);
      const body = await again.json();
      expect(body).toMatchObject({ success: true, debug: { jobStatus: 'completed', assetsProcessed: 0 } });
      expect(body.message).toMatch(/already completed/);
    }
    const after = await getJob(user, job.id);
    expect(after.assets.map((a: any) => a.path)).toEqual(paths);
    expect(after).toMatchObject({ seed: 7, generationTime: 9.5, status: 'completed' });
    expect(await imageRows(job.id)).toEqual(rowsBefore);
  });

  it('a late failed callback after completion answers 200 and changes nothing (no refund)', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_fast', prompt: 'late fail', numImages: 3 });
    const paths = await uploadImages('sdxl_image_fast', user.id, job.id, 3);
    expect((await worker.callback({ job_id: job.id, status: 'completed', assets: paths })).status).toBe(200);
    const creditsAfterCompletion = await credits(user);
    expect(creditsAfterCompletion).toBe(100 - 3);
    const rowsBefore = await imageRows(job.id);
    for (const status of ['failed', 'processing']) {
      const late = await worker.callback({ job_id: job.id, status, assets: [], error_message: 'CUDA out of memory', progress: 5 });
      expect(late.status).toBe(200);
      expect(await late.json()).toMatchObject({ success: true, debug: { jobStatus: 'completed' } });
    }
    const after = await getJob(user, job.id);
    expect(after).toMatchObject({ status: 'completed', progress: 100, errorMessage: null });
    expect(after.assets).toHaveLength(3);
    expect(await credits(user)).toBe(creditsAfterCompletion);
    expect(await refundCount(user.id)).toBe(0);
    expect(await imageRows(job.id)).toEqual(rowsBefore);
  });

  it('fewer assets than numImages: the assets are the reported ones, in the reported order', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_fast', prompt: 'six asked', numImages: 6 });
    const uploaded = await uploadImages('sdxl_image_fast', user.id, job.id, 2);
    const reported = [uploaded[1], uploaded[0]];
    const res = await worker.callback({ job_id: job.id, status: 'completed', assets: reported, metadata: { num_images: 2 } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ debug: { assetsProcessed: 2 } });
    const done = await getJob(user, job.id);
    expect(done.status).toBe('completed');
    expect(done.assets.map((a: any) => [a.index, a.path])).toEqual([
      [0, reported[0]],
      [1, reported[1]],
    ]);
    // Each asset URL serves the bytes of the file at that path.
    const bytes = await Promise.all(done.assets.map(async (a: any) => [...new Uint8Array(await (await fetch(a.url)).arrayBuffer())]));
    expect(bytes).toEqual([
      [137, 80, 78, 71, 1],
      [137, 80, 78, 71, 0],
    ]);
    const rows = await imageRows(job.id);
    expect(rows.map((r) => [r.imageIndex, r.status, r.path])).toEqual([
      [0, 'completed', reported[0]],
      [1, 'completed', reported[1]],
      [2, 'failed', null],
      [3, 'failed', null],
      [4, 'failed', null],
      [5, 'failed', null],
    ]);
  });

  it('a video job gets its one video asset', async () => {
    const user = await newUser();
    const { job, payload } = await started(user, { jobType: 'video_high', prompt: 'video' });
    const path = `${user.id}/${payload.video_id}.mp4`;
    expect((await worker.uploadMultipart('video_high', path, new Uint8Array([0, 0, 0, 24, 1]), 'video/mp4')).status).toBe(200);
    expect((await worker.callback({ job_id: job.id, status: 'completed', assets: [path] })).status).toBe(200);
    const done = await getJob(user, job.id);
    expect(done.assets.map((a: any) => [a.index, a.bucket, a.path, a.contentType])).toEqual([[0, 'video_high', path, 'video/mp4']]);
    const [video] = await server.app.deps.db.select().from(videos).where(eq(videos.jobId, job.id));
    expect(video).toMatchObject({ id: payload.video_id, status: 'completed', path });
    // The WAN worker sends no metadata: the seed stays the requested one (none), generation time unknown.
    expect(done).toMatchObject({ seed: null, generationTime: null });
  });

  it('stores metadata.seed and generation_time, and the enhanced prompt', async () => {
    const user = await newUser();
    const { job, payload } = await started(user, { jobType: 'image7b_fast_enhanced', prompt: 'a cat', seed: 42 });
    expect(job.seed).toBe(42);
    const path = `${user.id}/${payload.video_id}.png`;
    expect((await worker.uploadMultipart('image7b_fast_enhanced', path, new Uint8Array([137, 80, 78, 71]), 'image/png')).status).toBe(200);
    const res = await worker.callback({
      job_id: job.id,
      status: 'completed',
      assets: [path],
      metadata: { seed: 4000000000, generation_time: 15.5, num_images: 1 },
      enhancedPrompt: 'a fluffy ginger cat sitting on a windowsill, golden hour',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ debug: { isEnhanced: true, jobType: 'image7b_fast_enhanced' } });
    const done = await getJob(user, job.id);
    expect(done).toMatchObject({
      status: 'completed',
      seed: 4000000000,
      generationTime: 15.5,
      enhancedPrompt: 'a fluffy ginger cat sitting on a windowsill, golden hour',
    });
    expect(done.metadata).toMatchObject({ seed: 4000000000, generation_time: 15.5 });
    const [row] = await server.app.deps.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row).toMatchObject({ seed: 4000000000, generationTime: 15.5, enhancedPrompt: 'a fluffy ginger cat sitting on a windowsill, golden hour' });
    const [image] = await imageRows(job.id);
    expect(image.metadata).toMatchObject({ seed: 4000000000, generation_time: 15.5 });
  });
});

describe('failed', () => {
  it('marks the job failed with the message and refunds exactly once', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_high', prompt: 'will fail', numImages: 3 });
    expect(await credits(user)).toBe(100 - 6);
    // Not a transient infrastructure error (those are retried: scheduler tests).
    const res = await worker.callback({ job_id: job.id, status: 'failed', assets: [], error_message: 'Unsupported sampler settings' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, debug: { jobStatus: 'failed' } });
    const failed = await getJob(user, job.id);
    expect(failed).toMatchObject({ status: 'failed', errorMessage: 'Unsupported sampler settings', assets: [] });
    expect(failed.completedAt).not.toBeNull();
    expect(await credits(user)).toBe(100);
    expect(await refundCount(user.id)).toBe(1);
    expect((await imageRows(job.id)).map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);

    const again = await worker.callback({ job_id: job.id, status: 'failed', error_message: 'second report' });
    expect(again.status).toBe(200);
    expect(await credits(user)).toBe(100);
    expect(await refundCount(user.id)).toBe(1);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'failed', errorMessage: 'Unsupported sampler settings' });

    // And a late completion does not resurrect it.
    const paths = await uploadImages('sdxl_image_high', user.id, job.id, 1);
    expect((await worker.callback({ job_id: job.id, status: 'completed', assets: paths })).status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'failed', assets: [] });
    expect(await credits(user)).toBe(100);
  });

  it('concurrent failed callbacks refund once', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'video_fast', prompt: 'race' });
    expect(await credits(user)).toBe(97);
    const results = await Promise.all(
      Array.from({ length: 4 }, (_, n) => worker.callback({ job_id: job.id, status: 'failed', error_message: `boom ${n}` })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(await credits(user)).toBe(100);
    expect(await refundCount(user.id)).toBe(1);
    expect((await getJob(user, job.id)).errorMessage).toMatch(/^boom \d$/);
  });

  it('a completed callback without assets fails the job and refunds it', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'video_fast', prompt: 'nothing came out' });
    expect(await credits(user)).toBe(97);
    const res = await worker.callback({ job_id: job.id, status: 'completed', assets: [] });
    expect(res.status).toBe(200);
    const failed = await getJob(user, job.id);
    expect(failed).toMatchObject({ status: 'failed', assets: [] });
    expect(failed.errorMessage).toMatch(/without any assets/);
    expect(await credits(user)).toBe(100);
    expect(await refundCount(user.id)).toBe(1);
  });

  it('NUL characters in the free text of a callback are dropped, not the outcome', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'image_fast', prompt: 'nul' });
    const res = await worker.callback({ job_id: job.id, status: 'failed', error_message: 'bad\u0000 thing', metadata: { trace: 'x\u0000y' } });
    expect(res.status).toBe(200);
    expect(await getJob(user, job.id)).toMatchObject({ status: 'failed', errorMessage: 'bad thing' });
    expect(await credits(user)).toBe(100);

    const done = await started(user, { jobType: 'image7b_high_enhanced', prompt: 'nul enhanced' });
    const path = `${user.id}/${done.payload.video_id}.png`;
    expect((await worker.uploadMultipart('image7b_high_enhanced', path, new Uint8Array([137, 80]), 'image/png')).status).toBe(200);
    const ok = await worker.callback({
      job_id: done.job.id,
      status: 'completed',
      assets: [path],
      enhancedPrompt: 'a\u0000b',
      metadata: { seed: 5, note: 'n\u0000', ['k\u0000']: ['v\u0000'] },
    });
    expect(ok.status).toBe(200);
    const completed = await getJob(user, done.job.id);
    expect(completed).toMatchObject({ status: 'completed', enhancedPrompt: 'ab', seed: 5 });
    expect(completed.metadata.worker_metadata).toEqual({ seed: 5, note: 'n', k: ['v'] });
    expect(completed.assets.map((a: any) => a.path)).toEqual([path]);
  });

  it('a failure without a message gets one a person can read', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'image_fast', prompt: 'silent' });
    expect((await worker.callback({ job_id: job.id, status: 'failed', assets: [], error_message: null })).status).toBe(200);
    const failed = await getJob(user, job.id);
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toMatch(/\w+ \w+/);
    expect(await credits(user)).toBe(100);
  });
});

describe('races between the user and the worker', () => {
  const CANCEL = `mutation($id: ID!) { cancelJob(id: $id) { id status } }`;

  it('cancel racing a failed callback ends the job once, with exactly one refund', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await newUser();
      const { job } = await started(user, { jobType: 'sdxl_image_high', prompt: `race ${round}`, numImages: 3 });
      expect((await worker.callback({ job_id: job.id, status: 'processing', progress: 20 })).status).toBe(200);
      const [cancel, cb] = await Promise.all([
        gql(server.url, user.token, CANCEL, { id: job.id }),
        worker.callback({ job_id: job.id, status: 'failed', error_message: 'boom' }),
      ]);
      expect(cb.status).toBe(200);
      const final = await getJob(user, job.id);
      expect(['cancelled', 'failed']).toContain(final.status);
      // The cancel either won, or lost and said so.
      if (cancel.errors) expect(cancel.errors[0].extensions?.code).toBe('BAD_USER_INPUT');
      else expect(cancel.data!.cancelJob.status).toBe('cancelled');
      expect(final.status === 'cancelled').toBe(!cancel.errors);
      expect(await credits(user)).toBe(100);
      expect(await refundCount(user.id)).toBe(1);
    }
  });

  it('cancel racing a completed callback: either cancelled and refunded, or completed and charged', async () => {
    for (let round = 0; round < 3; round++) {
      const user = await newUser();
      const { job } = await started(user, { jobType: 'sdxl_image_fast', prompt: `race ${round}`, numImages: 3 });
      const paths = await uploadImages('sdxl_image_fast', user.id, job.id, 3);
      const [cancel, cb] = await Promise.all([
        gql(server.url, user.token, CANCEL, { id: job.id }),
        worker.callback({ job_id: job.id, status: 'completed', assets: paths }),
      ]);
      expect(cb.status).toBe(200);
      const final = await getJob(user, job.id);
      if (final.status === 'cancelled') {
        expect(cancel.errors).toBeUndefined();
        expect(final.assets).toEqual([]);
        expect(await credits(user)).toBe(100);
        expect(await refundCount(user.id)).toBe(1);
      } else {
        expect(final.status).toBe('completed');
        expect(cancel.errors![0].extensions?.code).toBe('BAD_USER_INPUT');
        expect(final.assets.map((a: any) => a.path)).toEqual(paths);
        expect(await credits(user)).toBe(97);
        expect(await refundCount(user.id)).toBe(0);
      }
    }
  });
});

describe('bad callbacks', () => {
  it.each([
    ['a random UUID', randomUUID()],
    ['a non-UUID', 'job-123'],
    ['an empty-looking id', '00000000-0000-0000-0000-000000000000'],
  ])('an unknown job_id (%s) → 404 with the seed error shape', async (_name, jobId) => {
    const res = await worker.callback({ job_id: jobId, status: 'completed', assets: ['x/y.png'] });
    expect(res.status).toBe(404);
    const body = await res.json();
    expectSeedErrorShape(body, 'NOT_FOUND');
    expect(body.error).toBe('Job not found');
    expect(body.details).toContain(jobId);
  });

  it('an invalid body → 400 with the seed error shape, and the job is unchanged', async () => {
    const user = await newUser();
    const { job } = await started(user, { jobType: 'sdxl_image_fast', prompt: 'invalid' });
    const bodies: unknown[] = [
      { job_id: job.id, status: 'done' },
      { job_id: job.id },
      { status: 'completed', assets: [] },
      { job_id: job.id, status: 'completed', assets: 'one.png' },
      { job_id: job.id, status: 'completed', assets: ['a.png'], metadata: { seed: -5 } },
      { job_id: job.id, status: 'completed', assets: [`${user.id}/../../etc/passwd`] },
      [],
      'completed',
    ];
    for (const body of bodies) {
      const res = await worker.callback(body as Record<string, unknown>);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expectSeedErrorShape(await res.json());
    }
    const raw = await fetch(`${server.url}/functions/v1/job-callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.workerToken()}`, 'content-type': 'application/json' },
      body: '{"job_id": ',
    });
    expect(raw.status).toBe(400);
    expectSeedErrorShape(await raw.json());
    expect(await getJob(user, job.id)).toMatchObject({ status: 'queued', progress: 0, assets: [] });
    expect(await credits(user)).toBe(99);
  });
});
