import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { images, jobs, usageLogs, users, videos } from '../../src/db/schema.js';
import { gql, newUser, serverForFile, type TestServer, type TestUser } from '../helpers/app.js';

/**
 * queueJob calls that arrive together are written by one transaction (the
 * group commit, src/resolvers/queueCommit.ts). Fired at once, each request
 * must still get exactly its own answer, and a refused one must change
 * nothing, whatever the others in its group did.
 */
let server: TestServer;
serverForFile((s) => (server = s), { STARTING_CREDITS: '10', MAX_ACTIVE_JOBS_PER_USER: '3' });

const QUEUE = `mutation($input: QueueJobInput!) { queueJob(input: $input) { job { id creditCost } } }`;
const queue = (user: TestUser, input: Record<string, unknown>) => gql(server.url, user.token, QUEUE, { input });
const sdxl = (prompt: string, extra: Record<string, unknown> = {}) => ({ jobType: 'sdxl_image_fast', prompt, numImages: 1, ...extra });

function restQueue(user: TestUser, body: unknown) {
  return fetch(`${server.url}/functions/v1/queue-job`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function state(userId: string) {
  const { db } = server.app.deps;
  const [u] = await db.select({ credits: users.credits }).from(users).where(eq(users.id, userId));
  return {
    credits: u?.credits ?? null,
    jobs: (await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.userId, userId))).map((r) => r.id).sort(),
    images: (await db.select({ id: images.id }).from(images).where(eq(images.userId, userId))).length,
    videos: (await db.select({ id: videos.id }).from(videos).where(eq(videos.userId, userId))).length,
    usage: (await db.select({ id: usageLogs.id }).from(usageLogs).where(eq(usageLogs.userId, userId))).length,
  };
}

const codeOf = (r: Awaited<ReturnType<typeof gql>>) => r.errors?.[0]?.extensions?.code;

describe('queueJob calls committed together', () => {
  it('each request gets its own answer; the refused ones change nothing', async () => {
    const plain = await Promise.all(Array.from({ length: 6 }, () => newUser(server)));
    const [poor, replayer, full, policy, reuser, pair] = await Promise.all(Array.from({ length: 6 }, () => newUser(server)));

    // Before: poor has 2 credits left, replayer has a job under key k1, full has 3 active jobs,
    // and an image id is in use.
    expect(codeOf(await queue(poor, { jobType: 'video7b_high_enhanced', prompt: 'waves' }))).toBeUndefined();
    const first = await queue(replayer, sdxl('first', { idempotencyKey: 'k1' }));
    const replayedId = first.data!.queueJob.job.id as string;
    for (let i = 0; i < 3; i++) expect(codeOf(await queue(full, sdxl(`take ${i}`)))).toBeUndefined();
    const usedImageId = randomUUID();
    expect((await restQueue(reuser, { jobType: 'sdxl_image_fast', metadata: { prompt: 'cat' }, imageId: usedImageId })).status).toBe(200);

    const refusedUsers = [poor, replayer, full, policy, reuser];
    const before = new Map(await Promise.all(refusedUsers.map(async (u) => [u.id, await state(u.id)] as const)));

    const [plainResults, poorR, replayR, fullR, policyR, reuseR, pairR] = await Promise.all([
      Promise.all(plain.map((u, i) => queue(u, sdxl(`plain ${i}`)))),
      queue(poor, { jobType: 'video_fast', prompt: 'costs 3' }),
      queue(replayer, sdxl('second', { idempotencyKey: 'k1' })),
      queue(full, sdxl('a fourth')),
      queue(policy, sdxl('child, nude')),
      restQueue(reuser, { jobType: 'sdxl_image_fast', metadata: { prompt: 'cat again' }, imageId: usedImageId }),
      // Two of one user's calls at once: both fit (10 credits, 3 places).
      Promise.all([queue(pair, { jobType: 'video_high', prompt: 'one' }), queue(pair, { jobType: 'video_high', prompt: 'two' })]),
    ]);

    for (const [i, r] of plainResults.entries()) {
      expect(r.errors, `plain ${i}`).toBeUndefined();
      expect(await state(plain[i]!.id)).toEqual({ credits: 9, jobs: [r.data!.queueJob.job.id], images: 1, videos: 0, usage: 1 });
    }
    expect(poorR.errors?.[0]?.extensions).toMatchObject({ code: 'INSUFFICIENT_CREDITS', required: 3, available: 2 });
    expect(replayR.errors).toBeUndefined();
    expect(replayR.data!.queueJob.job.id).toBe(replayedId);
    expect(fullR.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 3, active: 3 });
    expect(codeOf(policyR)).toBe('CONTENT_POLICY');
    expect(reuseR.status).toBe(400);
    expect((await reuseR.json()).details).toMatch(new RegExp(`imageId ${usedImageId} is already in use`));
    for (const u of refusedUsers) expect(await state(u.id), u === poor ? 'poor' : u.id).toEqual(before.get(u.id));

    expect(pairR.map(codeOf)).toEqual([undefined, undefined]);
    const pairState = await state(pair.id);
    expect(pairState).toMatchObject({ credits: 0, videos: 2, usage: 2 });
    expect(pairState.jobs).toHaveLength(2);
  });

  it('holds the active-job limit and the credits exactly under many concurrent calls of one user', async () => {
    const user = await newUser(server);
    // Ten calls of 2 credits each: the limit (3) binds before the credits (10) do.
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => queue(user, { jobType: 'sdxl_image_high', prompt: `n ${i}` })));
    const ok = results.filter((r) => !r.errors);
    expect(ok).toHaveLength(3);
    expect(results.filter((r) => codeOf(r) === 'RATE_LIMITED')).toHaveLength(7);
    const s = await state(user.id);
    expect(s).toMatchObject({ credits: 4, images: 3, usage: 3 });
    expect(s.jobs).toEqual(ok.map((r) => r.data!.queueJob.job.id as string).sort());
  });

  it('a call whose statement fails does not fail the calls written with it', async () => {
    // Concurrent REST calls, half of them reusing one image id: the reusers each get the field error,
    // the others their job, and nothing of the reusers is written.
    const owner = await newUser(server);
    const imageId = randomUUID();
    expect((await restQueue(owner, { jobType: 'sdxl_image_fast', metadata: { prompt: 'owner' }, imageId })).status).toBe(200);
    const callers = await Promise.all(Array.from({ length: 8 }, () => newUser(server)));
    const answers = await Promise.all(
      callers.map((u, i) => restQueue(u, { jobType: 'sdxl_image_fast', metadata: { prompt: `p ${i}` }, ...(i % 2 ? { imageId } : {}) })),
    );
    for (const [i, res] of answers.entries()) {
      const s = await state(callers[i]!.id);
      if (i % 2) {
        expect(res.status, `caller ${i}`).toBe(400);
        expect(s).toEqual({ credits: null, jobs: [], images: 0, videos: 0, usage: 0 });
      } else {
        expect(res.status, `caller ${i}`).toBe(200);
        expect(s).toMatchObject({ credits: 9, images: 1, usage: 1 });
      }
    }
  });
});
