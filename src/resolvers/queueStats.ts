import { sql } from 'drizzle-orm';
import type { JobType } from '../vocabulary.js';
import { CATALOG, QUEUES } from './catalog.js';
import type { Deps } from './deps.js';
import { positionsOf, rowsOf } from './fairOrder.js';
import type { JobView, ScheduleView } from './jobView.js';

/**
 * What a queue looks like to someone deciding when to queue, and the
 * estimates behind `estimatedStartAt` / `estimatedCompletionAt`.
 *
 * The history is the attempts table: attempts that ended (completed, failed,
 * or failed and retried) in the last 15 minutes give the throughput; the
 * last 50 completed attempts of a job type give its run time. Until there is
 * history, the catalog's expected time and the number of workers stand in.
 */
export interface QueueStats {
  name: string;
  waiting: number;
  running: number;
  activeWorkers: number;
  throughputPerMinute: number;
  /** Wait for a job queued now; null without throughput history. */
  estimatedWaitSeconds: number | null;
  /** Measured run time per job type, seconds. */
  runSeconds: Partial<Record<JobType, number>>;
  /** Hand-outs per second this queue sustains, for the ETAs (never 0). */
  rate: number;
  hasHistory: boolean;
  at: number;
}

const WINDOW_MINUTES = 15;
const CACHE_MS = 2000;
/** Ended attempts needed before the measured throughput replaces the fallback. */
const MIN_HISTORY = 3;

/** A worker counts as active for this long after its last poll. */
const ACTIVE_MS = 5 * 60_000;
/** A polling worker is written to the shared sightings at most this often (a poll loop runs many times a second). */
const ANNOUNCE_MS = 10_000;

/**
 * Workers seen polling, per queue (only where their tokens tell them apart),
 * counted fleet-wide: each instance writes its pollers to the queue
 * backend's sightings (a Redis sorted set per queue, or in-process on the
 * embedded defaults), and counts everyone's. While Redis is away, the
 * instance's own pollers are counted.
 */
export class WorkerSightings {
  private readonly announced = new Map<string, Map<string, number>>();
  constructor(private readonly deps: Pick<Deps, 'queue'>) {}

  polled(queue: string, worker: string): void {
    const now = Date.now();
    let m = this.announced.get(queue);
    if (!m) this.announced.set(queue, (m = new Map()));
    const last = m.get(worker);
    if (last !== undefined && now - last < ANNOUNCE_MS) return;
    m.set(worker, now);
    if (m.size > 10_000) for (const [k, t] of m) if (now - t > ACTIVE_MS) m.delete(k);
    this.deps.queue.sighted(queue, worker, now, ACTIVE_MS).catch(() => {
      if (m.get(worker) === now) m.delete(worker); // written again on its next poll
    });
  }

  async count(queue: string): Promise<number> {
    const since = Date.now() - ACTIVE_MS;
    try {
      return await this.deps.queue.workersSince(queue, since);
    } catch {
      let n = 0;
      for (const t of this.announced.get(queue)?.values() ?? []) if (t >= since) n++;
      return n;
    }
  }
}

const sightings = new WeakMap<Deps, WorkerSightings>();
export function workerSightings(deps: Deps): WorkerSightings {
  let s = sightings.get(deps);
  if (!s) sightings.set(deps, (s = new WorkerSightings(deps)));
  return s;
}

const cache = new WeakMap<Deps, Map<string, Promise<QueueStats>>>();

/** The queue's figures, computed at most every 2 s per process. */
export function queueStats(deps: Deps, queue: string): Promise<QueueStats> {
  let m = cache.get(deps);
  if (!m) cache.set(deps, (m = new Map()));
  const hit = m.get(queue);
  if (hit) return hit;
  const fresh = computeStats(deps, queue);
  m.set(queue, fresh);
  const forget = () => setTimeout(() => m.get(queue) === fresh && m.delete(queue), CACHE_MS).unref();
  fresh.then(forget, () => m.delete(queue));
  return fresh;
}

export function allQueueStats(deps: Deps): Promise<QueueStats[]> {
  return Promise.all(QUEUES.map((q) => queueStats(deps, q)));
}

async function computeStats(deps: Deps, queue: string): Promise<QueueStats> {
  const [counts] = rowsOf<{ waiting: string | number; running: string | number }>(
    await deps.db.execute(sql`select
        count(*) filter (where status = 'queued' and picked_at is null) as waiting,
        count(*) filter (where picked_at is not null) as running
      from jobs where status in ('queued', 'processing') and queue = ${queue}`),
  );
  const [history] = rowsOf<{ n: string | number; span: string | number | null }>(
    await deps.db.execute(sql`select count(*) as n, extract(epoch from now() - min(taken_at)) as span
      from job_attempts
      where queue = ${queue} and ended_at > now() - interval '15 minutes' and outcome in ('completed', 'failed', 'retried')`),
  );
  const runs = rowsOf<{ job_type: string; secs: string | number }>(
    await deps.db.execute(sql`select job_type, avg(secs) as secs from (
        select job_type, extract(epoch from ended_at - taken_at) as secs,
          row_number() over (partition by job_type order by ended_at desc) as rn
        from job_attempts
        where queue = ${queue} and outcome = 'completed' and ended_at > now() - interval '1 day'
      ) t where rn <= 50 group by job_type`),
  );
  const waiting = Number(counts?.waiting ?? 0);
  const running = Number(counts?.running ?? 0);
  const activeWorkers = Math.max(running, await workerSightings(deps).count(queue));
  const runSeconds: Partial<Record<JobType, number>> = {};
  for (const r of runs) runSeconds[r.job_type as JobType] = Math.max(0.1, Number(r.secs));

  const n = Number(history?.n ?? 0);
  // The throughput over the time the queue was actually worked in the last 15 minutes (at least a minute).
  const spanSeconds = Math.min(WINDOW_MINUTES * 60, Math.max(60, Number(history?.span ?? 0)));
  const measured = n / spanSeconds;
  const hasHistory = n >= MIN_HISTORY;
  const typical = typicalRunSeconds(queue, runSeconds);
  // Busy workers finish jobs at running / run time: when the recent throughput
  // understates what the fleet does now (it just grew), trust the fleet.
  const capacity = running > 0 ? running / typical : 0;
  const fallback = Math.max(1, activeWorkers) / typical;
  const rate = hasHistory ? Math.max(measured, capacity) : Math.max(capacity, fallback);
  const stats: QueueStats = {
    name: queue,
    waiting,
    running,
    activeWorkers,
    throughputPerMinute: Math.round((n / (spanSeconds / 60)) * 100) / 100,
    estimatedWaitSeconds: null,
    runSeconds,
    rate,
    hasHistory,
    at: Date.now(),
  };
  if (hasHistory) stats.estimatedWaitSeconds = Math.round(waitSeconds(stats, waiting + 1));
  return stats;
}

/** Mean run time of the queue's job types: measured where known, the catalog otherwise. */
function typicalRunSeconds(queue: string, measured: Partial<Record<JobType, number>>): number {
  const values = Object.values(measured).filter((v): v is number => typeof v === 'number');
  if (values.length > 0) return values.reduce((a, b) => a + b, 0) / values.length;
  const types = Object.values(CATALOG).filter((e) => e.queue === queue);
  return types.reduce((a, e) => a + e.expectedGenerationTime, 0) / types.length;
}

/**
 * Seconds until the job at `position` is taken: idle workers take the first
 * jobs at once; after that a place frees up every 1/rate seconds, and the
 * job in front is on average half way through its wait for one.
 */
export function waitSeconds(stats: QueueStats, position: number): number {
  const idle = Math.max(0, stats.activeWorkers - stats.running);
  if (position <= idle) return 0;
  return (position - idle - 0.5) / stats.rate;
}

export function runSecondsOf(stats: QueueStats, job: Pick<JobView, 'jobType' | 'expectedGenerationTime'>): number {
  return stats.runSeconds[job.jobType] ?? job.expectedGenerationTime;
}

/** Position and estimates for jobs of one queue, in one pass over the queue. */
export async function schedulesOf(deps: Deps, queue: string, views: JobView[]): Promise<Map<string, ScheduleView>> {
  const out = new Map<string, ScheduleView>();
  const waiting = views.filter((v) => v.status === 'queued' && v.takenAt === null);
  const [stats, positions] = await Promise.all([
    queueStats(deps, queue),
    positionsOf(
      deps.db,
      queue,
      waiting.map((v) => v.id),
    ),
  ]);
  const now = Date.now();
  for (const v of views) {
    const run = runSecondsOf(stats, v) * 1000;
    if (v.status === 'queued' && v.takenAt === null) {
      const position = positions.get(v.id) ?? null;
      const start = position === null ? null : now + waitSeconds(stats, position) * 1000;
      out.set(v.id, {
        queuePosition: position,
        estimatedStartAt: start === null ? null : new Date(start).toISOString(),
        estimatedCompletionAt: start === null ? null : new Date(start + run).toISOString(),
      });
    } else if (v.status === 'queued' || v.status === 'processing') {
      const taken = Date.parse(v.takenAt ?? v.startedAt ?? v.createdAt);
      out.set(v.id, { queuePosition: null, estimatedStartAt: null, estimatedCompletionAt: new Date(Math.max(now, taken + run)).toISOString() });
    } else {
      out.set(v.id, { queuePosition: null, estimatedStartAt: null, estimatedCompletionAt: null });
    }
  }
  return out;
}

/**
 * Batches the schedule reads of one GraphQL request: every Job field
 * resolved in the same tick shares one pass per queue.
 */
export function createScheduleLoader(deps: Deps): (view: JobView) => Promise<ScheduleView> {
  let pending: Array<{ view: JobView; resolve: (s: ScheduleView) => void; reject: (e: unknown) => void }> = [];
  const done = new Map<string, Promise<ScheduleView>>();
  const flush = async () => {
    const batch = pending;
    pending = [];
    done.clear(); // within one tick only: a long-lived context (a subscription) must not see stale places
    const byQueue = new Map<string, JobView[]>();
    for (const { view } of batch) byQueue.set(view.queue, [...(byQueue.get(view.queue) ?? []), view]);
    try {
      const results = new Map<string, ScheduleView>();
      for (const [queue, views] of byQueue) for (const [id, s] of await schedulesOf(deps, queue, views)) results.set(id, s);
      for (const b of batch) b.resolve(results.get(b.view.id)!);
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  };
  return (view) => {
    if (view.schedule) return Promise.resolve(view.schedule);
    const key = `${view.id}:${view.version}`;
    let p = done.get(key);
    if (!p) {
      p = new Promise<ScheduleView>((resolve, reject) => {
        if (pending.length === 0) setImmediate(() => void flush());
        pending.push({ view, resolve, reject });
      });
      done.set(key, p);
    }
    return p;
  };
}

/** The schedule of a waiting job whose position is known (the position notifier's updates). */
export async function scheduleAt(deps: Deps, view: JobView, position: number): Promise<ScheduleView> {
  const stats = await queueStats(deps, view.queue);
  const start = Date.now() + waitSeconds(stats, position) * 1000;
  return {
    queuePosition: position,
    estimatedStartAt: new Date(start).toISOString(),
    estimatedCompletionAt: new Date(start + runSecondsOf(stats, view) * 1000).toISOString(),
  };
}
