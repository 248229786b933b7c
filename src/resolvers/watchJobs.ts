import type { EventSubscription } from '../pubsub/events.js';
import { TERMINAL_STATUSES } from '../vocabulary.js';
import type { Deps } from './deps.js';
import { notFound } from './errors.js';
import type { JobView } from './jobView.js';
import { jobTopic, userTopic } from './publish.js';
import { scheduleAt } from './queueStats.js';
import { getJob } from './readJobs.js';
import type { Viewer } from './viewer.js';

/**
 * Live views of jobs: plain async iterables over the event bus that any door
 * can expose (the GraphQL subscriptions do). Ending one early (`return()`)
 * releases its bus subscription at once, even while it waits for news.
 */

/**
 * The job's current state at once, then every change, ending after a
 * terminal state. Rejects with NOT_FOUND when the job does not exist or is
 * not the viewer's (the two are indistinguishable).
 */
export async function watchJob(deps: Deps, viewer: Viewer, id: string): Promise<AsyncIterableIterator<JobView>> {
  const jobId = id.toLowerCase();
  // Subscribe before reading, so no change can fall between the read and the stream.
  const sub = await deps.events.subscribe<JobView>([jobTopic(jobId)]);
  try {
    const current = await getJob(deps, viewer, jobId);
    if (!current) throw notFound(`Job ${id} not found. Check the id; you can only watch your own jobs.`);
    return stream(sub, current, () => true, deps, 'job');
  } catch (err) {
    await sub.return();
    throw err;
  }
}

/** Every change to any of the viewer's jobs, for as long as the caller listens. */
export async function watchUserJobs(deps: Deps, viewer: Viewer): Promise<AsyncIterableIterator<JobView>> {
  const sub = await deps.events.subscribe<JobView>([userTopic(viewer.id)]);
  return stream(sub, null, (job) => job.userId === viewer.id, deps, 'user');
}

/**
 * Reads a bus subscription. With a `first` view (one job): starts with it,
 * drops news that is not newer than what was last emitted (stale or
 * duplicate events), and ends after a terminal state; while the job waits,
 * it also shows the job's queue position going down as jobs ahead are taken
 * (the scheduler's throttled position updates, at most one a second).
 */
function stream(
  sub: EventSubscription<JobView>,
  first: JobView | null,
  accept: (job: JobView) => boolean,
  deps: Deps,
  kind: 'job' | 'user',
): AsyncIterableIterator<JobView> {
  const live = deps.metrics.subscriptionsActive.labels(kind);
  live.inc();
  let pending = first;
  let version = -1;
  let finished = false;
  let latest: JobView | null = null;
  let unwatch = () => {};
  const moved: JobView[] = [];
  let wake: (() => void) | null = null;
  let news: Promise<IteratorResult<JobView>> | null = null;
  const finish = async (): Promise<IteratorResult<JobView>> => {
    if (!finished) live.dec();
    finished = true;
    unwatch();
    wake?.();
    await sub.return();
    return { value: undefined, done: true };
  };
  const emit = (job: JobView): IteratorResult<JobView> => {
    version = job.version;
    latest = job;
    unwatch();
    if (first && job.status === 'queued' && job.takenAt === null) {
      unwatch = deps.scheduler.watchPosition(job, (position) => {
        void scheduleAt(deps, job, position).then(
          (schedule) => {
            if (latest !== job || finished) return;
            moved.push({ ...job, schedule });
            wake?.();
          },
          () => {},
        );
      });
    }
    // One job's stream ends once it has shown a final state.
    if (first && TERMINAL_STATUSES.has(job.status)) void finish();
    return { value: job, done: false };
  };
  return {
    async next() {
      if (finished) return { value: undefined, done: true };
      if (pending) {
        const job = pending;
        pending = null;
        return emit(job);
      }
      for (;;) {
        const update = moved.shift();
        if (update) return { value: update, done: false }; // same version: only its place changed
        news ??= sub.next();
        const woken = new Promise<null>((resolve) => (wake = () => resolve(null)));
        const got = await Promise.race([news, woken]);
        wake = null;
        if (finished) return { value: undefined, done: true };
        if (got === null) continue;
        news = null;
        if (got.done) return finish();
        const job = got.value;
        if (first && job.version <= version) continue; // stale or duplicate news
        if (accept(job)) return emit(job);
      }
    },
    // Not queued behind a pending next() (unlike an async generator's): ending the
    // subscription wakes that next(), which then reports done.
    return: finish,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
