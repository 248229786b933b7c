import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, jobs, usageLogs, users } from '../../src/db/schema.js';
import { getAccount } from '../../src/resolvers/account.js';
import { applyCallback, parseCallback } from '../../src/resolvers/callback.js';
import { cancelJob } from '../../src/resolvers/cancelJob.js';
import { DomainError } from '../../src/resolvers/errors.js';
import type { JobView } from '../../src/resolvers/jobView.js';
import { userTopic } from '../../src/resolvers/publish.js';
import { queueJob } from '../../src/resolvers/queueJob.js';
import { watchJob, watchUserJobs } from '../../src/resolvers/watchJobs.js';
import { createTestDeps, type TestDeps } from '../helpers/deps.js';
import { waitingCount } from '../../src/resolvers/fairOrder.js';

/**
 * The domain rules called directly, as a door would call them: a cloned
 * PGlite, the in-process queue and bus, local storage; no server.
 */

let t: TestDeps;
beforeAll(async () => {
  t = await createTestDeps();
});
afterAll(async () => {
  await t?.close();
});

const viewerOf = (id: string) => ({ id, admin: false });
/** Jobs waiting in the queue of record (the database; the Redis list is only a window onto it). */
const waiting = (queue: string) => waitingCount(t.deps.db, queue);
const sdxl = (numImages = 1) => ({ jobType: 'sdxl_image_fast', prompt: 'a lighthouse at dusk', numImages });

async function snapshot(userId: string) {
  const { db } = t.deps;
  return {
    users: await db.select().from(users).where(eq(users.id, userId)),
    jobs: await db.select().from(jobs).where(eq(jobs.userId, userId)),
    images: await db.select().from(images).where(eq(images.userId, userId)),
    usage: await db.select().from(usageLogs).where(eq(usageLogs.userId, userId)),
    queued: [await waiting('sdxl_queue'), await waiting('wan_queue')],
  };
}

/** A worker's full report for a job: processing, then completed with one output per image in the owner's folder. */
async function complete(job: JobView): Promise<string[]> {
  const paths = Array.from({ length: job.numImages }, (_, i) => `${job.userId}/${job.id}_${i}.png`);
  await applyCallback(t.deps, parseCallback({ job_id: job.id, status: 'processing' }));
  await applyCallback(t.deps, parseCallback({ job_id: job.id, status: 'completed', assets: paths, metadata: { seed: 7 } }));
  return paths;
}

describe('queueJob', () => {
  it('debits the price, writes the job, its placeholder images and a usage log, queues it and announces it', async () => {
    const userId = randomUUID();
    const news = await t.deps.events.subscribe<JobView>([userTopic(userId)]);
    const before = await waiting('sdxl_queue');
    const { job, queueLength, entry } = await queueJob(t.deps, userId, sdxl(3));
    expect(job).toMatchObject({ userId, status: 'queued', numImages: 3, creditCost: 3 * entry.creditCost, version: 1 });
    expect(queueLength).toBe(before + 1);
    expect((await getAccount(t.deps, userId)).credits).toBe(100 - 3 * entry.creditCost);
    const rows = await snapshot(userId);
    expect(rows.jobs).toHaveLength(1);
    expect(rows.images.map((i) => [i.imageIndex, i.status])).toEqual([
      [0, 'queued'],
      [1, 'queued'],
      [2, 'queued'],
    ]);
    expect(rows.usage.map((u) => [u.action, u.creditsConsumed])).toEqual([['queue_job', 3 * entry.creditCost]]);
    expect((await news.next()).value).toMatchObject({ id: job.id, status: 'queued' });
    await news.return();
  });

  it('refuses a job the credits do not cover and changes nothing', async () => {
    const userId = randomUUID();
    // 100 starting credits: twelve 8-credit jobs fit, the thirteenth does not.
    for (let i = 0; i < 12; i++) await queueJob(t.deps, userId, { jobType: 'video7b_high_enhanced', prompt: `take ${i}` });
    const before = await snapshot(userId);
    const err = await queueJob(t.deps, userId, { jobType: 'video7b_high_enhanced', prompt: 'one more' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('INSUFFICIENT_CREDITS');
    expect(await snapshot(userId)).toEqual(before);
  });
});

describe('applyCallback', () => {
  it('turns a completed callback into completed image rows with the worker paths; a repeated callback changes nothing', async () => {
    const userId = randomUUID();
    const { job } = await queueJob(t.deps, userId, sdxl(3));
    const paths = await complete(job);
    const rows = await t.deps.db.select().from(images).where(eq(images.jobId, job.id)).orderBy(asc(images.imageIndex));
    expect(rows.map((r) => [r.path, r.status])).toEqual(paths.map((p) => [p, 'completed']));
    const again = await applyCallback(t.deps, parseCallback({ job_id: job.id, status: 'failed', error_message: 'late' }));
    expect(again).toMatchObject({ changed: false, job: { status: 'completed', seed: 7 } });
  });
});

describe('cancelJob', () => {
  it('cancels once, refunds once and takes the job off the queue', async () => {
    const userId = randomUUID();
    const { job } = await queueJob(t.deps, userId, sdxl(1));
    const queued = await waiting('sdxl_queue');
    const cancelled = await cancelJob(t.deps, viewerOf(userId), job.id);
    expect(cancelled.status).toBe('cancelled');
    expect(await waiting('sdxl_queue')).toBe(queued - 1);
    expect((await getAccount(t.deps, userId)).credits).toBe(100);
    const before = await snapshot(userId);
    const err = await cancelJob(t.deps, viewerOf(userId), job.id).catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('BAD_USER_INPUT');
    expect(await snapshot(userId)).toEqual(before);
  });

  it("answers someone else's job as not found", async () => {
    const { job } = await queueJob(t.deps, randomUUID(), sdxl(1));
    const err = await cancelJob(t.deps, viewerOf(randomUUID()), job.id).catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('NOT_FOUND');
  });
});

describe('watchJob and watchUserJobs', () => {
  it('watchJob yields the current state, then each change, and ends after the terminal one', async () => {
    const userId = randomUUID();
    const { job } = await queueJob(t.deps, userId, sdxl(1));
    const watch = await watchJob(t.deps, viewerOf(userId), job.id);
    const first = await watch.next();
    expect(first.value).toMatchObject({ id: job.id, status: 'queued' });
    const seen: string[] = [];
    const done = (async () => {
      for await (const v of watch) seen.push(v.status);
    })();
    await complete(job);
    await done;
    expect(seen).toEqual(['processing', 'completed']);
    expect(t.events.subscriberCount(`job:${job.id}`)).toBe(0);
  });

  it("watchJob refuses someone else's job as not found and holds no subscription", async () => {
    const { job } = await queueJob(t.deps, randomUUID(), sdxl(1));
    const err = await watchJob(t.deps, viewerOf(randomUUID()), job.id).catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('NOT_FOUND');
    expect(t.events.subscriberCount(`job:${job.id}`)).toBe(0);
  });

  it('watchUserJobs sees only the viewer’s jobs and releases its subscription when ended while waiting', async () => {
    const userId = randomUUID();
    const watch = await watchUserJobs(t.deps, viewerOf(userId));
    await queueJob(t.deps, randomUUID(), sdxl(1));
    const { job } = await queueJob(t.deps, userId, sdxl(1));
    expect((await watch.next()).value).toMatchObject({ id: job.id, userId });
    const waiting = watch.next();
    await watch.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(t.events.subscriberCount(userTopic(userId))).toBe(0);
  });
});
