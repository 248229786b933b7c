import type { JobFieldsFragment } from './gql/graphql.js';

export type Job = JobFieldsFragment;

/** The viewer's jobs as the console holds them: newest first, one entry per id. */
export interface JobsState {
  jobs: Job[];
  /** Cursor of the last page loaded; null before the first load. */
  endCursor: string | null;
  hasNextPage: boolean;
  /** When each job was last changed by a subscription event (ms, performance.now()). */
  touched: Map<string, number>;
}

export const emptyJobs: JobsState = { jobs: [], endCursor: null, hasNextPage: false, touched: new Map() };

const newestFirst = (a: Job, b: Job) =>
  a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1;

/** A live event (subscription or mutation answer) wins over what the console held. */
export function applyEvent(state: JobsState, job: Job, at: number): JobsState {
  const touched = new Map(state.touched).set(job.id, at);
  const i = state.jobs.findIndex((j) => j.id === job.id);
  if (i >= 0) {
    const jobs = state.jobs.slice();
    jobs[i] = job;
    return { ...state, jobs, touched };
  }
  // A job older than everything loaded belongs to a page not fetched yet; paging will bring it.
  const last = state.jobs.at(-1);
  if (state.hasNextPage && last && newestFirst(job, last) > 0) return { ...state, touched };
  return { ...state, jobs: [...state.jobs, job].sort(newestFirst), touched };
}

const RANK: Record<Job['status'], number> = { queued: 0, processing: 1, completed: 2, failed: 2, cancelled: 2 };

/**
 * A job's state read at some moment (the first message of a jobUpdated
 * stream): it may be older than a change the console already applied from
 * another stream, so it never takes a job back to an earlier state.
 */
export function applySnapshot(state: JobsState, job: Job, at: number): JobsState {
  const cur = state.jobs.find((j) => j.id === job.id);
  if (cur && (RANK[job.status] < RANK[cur.status] || (job.status === cur.status && job.progress < cur.progress))) return state;
  return applyEvent(state, job, at);
}

/**
 * Merges a page of `jobs(...)` fetched at `sentAt`. A job changed by a live
 * event after the request left keeps the event's version: the page may have
 * been read before that change happened. `first` replaces the head (after a
 * reload or reconnection); otherwise the page is appended (paging).
 */
export function applyPage(
  state: JobsState,
  page: { jobs: Job[]; endCursor: string | null; hasNextPage: boolean },
  sentAt: number,
  first: boolean,
): JobsState {
  const byId = new Map(state.jobs.map((j) => [j.id, j]));
  const fresh = (j: Job) => ((state.touched.get(j.id) ?? -1) > sentAt ? byId.get(j.id) ?? j : j);
  if (!first) {
    const merged = new Map(byId);
    for (const j of page.jobs) merged.set(j.id, fresh(j));
    return { ...state, jobs: [...merged.values()].sort(newestFirst), endCursor: page.endCursor, hasNextPage: page.hasNextPage };
  }
  // A fresh head: keep older pages already loaded (beyond this page's oldest job), and jobs created after it was read.
  const head = page.jobs.map(fresh);
  const oldest = head.at(-1);
  const ids = new Set(head.map((j) => j.id));
  const kept = state.jobs.filter((j) => !ids.has(j.id) && (!oldest || newestFirst(j, oldest) > 0 || (state.touched.get(j.id) ?? -1) > sentAt));
  const loadedMore = state.endCursor !== null && kept.some((j) => oldest && newestFirst(j, oldest) > 0);
  return {
    ...state,
    jobs: [...head, ...kept].sort(newestFirst),
    endCursor: loadedMore ? state.endCursor : page.endCursor,
    hasNextPage: loadedMore ? state.hasNextPage : page.hasNextPage,
  };
}

export const isActive = (j: Job) => j.status === 'queued' || j.status === 'processing';
export const canRetry = (j: Job) => j.status === 'failed' || j.status === 'cancelled';
export const isTerminal = (j: Job) => !isActive(j);
