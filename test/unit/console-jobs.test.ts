import { describe, expect, it } from 'vitest';
import { applyEvent, applyPage, applySnapshot, emptyJobs, type Job, type JobsState } from '../../console/src/jobs.js';

/** The console's merge rules for live events, snapshots and pages of jobs. */

let n = 0;
function job(over: Partial<Job> = {}): Job {
  n++;
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    jobType: 'sdxl_image_fast',
    format: 'image',
    status: 'queued',
    progress: 0,
    prompt: `job ${n}`,
    negativePrompt: null,
    seed: null,
    numImages: 1,
    queue: 'sdxl_queue',
    expectedGenerationTime: 5,
    generationTime: null,
    creditCost: 1,
    errorMessage: null,
    createdAt: new Date(Date.UTC(2026, 10, 29, 12, 0, n)).toISOString(),
    startedAt: null,
    completedAt: null,
    attempts: 0,
    maxAttempts: 2,
    queuePosition: null,
    estimatedStartAt: null,
    estimatedCompletionAt: null,
    references: [],
    assets: [],
    ...over,
  };
}

const ids = (s: JobsState) => s.jobs.map((j) => j.prompt);

describe('console job merging', () => {
  it('keeps jobs newest first and one entry per id', () => {
    const a = job();
    const b = job();
    let s = applyEvent(emptyJobs, a, 1);
    s = applyEvent(s, b, 2);
    s = applyEvent(s, { ...a, status: 'processing', progress: 25 }, 3);
    expect(ids(s)).toEqual([b.prompt, a.prompt]);
    expect(s.jobs[1]).toMatchObject({ status: 'processing', progress: 25 });
  });

  it('leaves a job older than every loaded one to paging when older pages remain', () => {
    const old = job();
    const page = [job(), job()].reverse();
    let s = applyPage(emptyJobs, { jobs: page, endCursor: 'c1', hasNextPage: true }, 0, true);
    s = applyEvent(s, { ...old, status: 'completed' }, 1);
    expect(s.jobs.map((j) => j.id)).not.toContain(old.id);
  });

  it('a page read before a live change does not undo it; one read after it does apply', () => {
    const a = job();
    let s = applyPage(emptyJobs, { jobs: [a], endCursor: 'c', hasNextPage: false }, 0, true);
    s = applyEvent(s, { ...a, status: 'completed', progress: 100 }, 10);
    // A refresh sent at 5 (before the event at 10) answers with the older state.
    const stale = applyPage(s, { jobs: [{ ...a, status: 'processing', progress: 50 }], endCursor: 'c', hasNextPage: false }, 5, true);
    expect(stale.jobs[0]).toMatchObject({ status: 'completed' });
    // One sent at 20 is newer than everything the console holds.
    const fresh = applyPage(s, { jobs: [{ ...a, status: 'failed', progress: 100 }], endCursor: 'c', hasNextPage: false }, 20, true);
    expect(fresh.jobs[0]).toMatchObject({ status: 'failed' });
  });

  it('a fresh first page keeps older pages already loaded and their cursor', () => {
    const [a, b, c, d] = [job(), job(), job(), job()];
    let s = applyPage(emptyJobs, { jobs: [d, c], endCursor: 'p1', hasNextPage: true }, 0, true);
    s = applyPage(s, { jobs: [b, a], endCursor: 'p2', hasNextPage: false }, 1, false);
    const e = job();
    s = applyPage(s, { jobs: [e, d], endCursor: 'p1b', hasNextPage: true }, 2, true);
    expect(ids(s)).toEqual([e, d, c, b, a].map((j) => j.prompt));
    expect(s.endCursor).toBe('p2');
    expect(s.hasNextPage).toBe(false);
  });

  it('a snapshot never takes a job back to an earlier state, but news moves it on', () => {
    const a = job();
    let s = applyEvent(emptyJobs, { ...a, status: 'processing', progress: 50 }, 1);
    expect(applySnapshot(s, a, 2).jobs[0]).toMatchObject({ status: 'processing', progress: 50 });
    expect(applySnapshot(s, { ...a, status: 'processing', progress: 25 }, 2).jobs[0]!.progress).toBe(50);
    s = applySnapshot(s, { ...a, status: 'completed', progress: 100 }, 3);
    expect(s.jobs[0]).toMatchObject({ status: 'completed' });
    // A retry is news, not a snapshot: failed → queued again is applied.
    s = applyEvent({ ...s, jobs: [{ ...s.jobs[0]!, status: 'failed' }] }, { ...a, status: 'queued', attempts: 1 }, 4);
    expect(s.jobs[0]).toMatchObject({ status: 'queued' });
  });
});
