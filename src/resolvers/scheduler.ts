import { QUEUES } from './catalog.js';
import type { Deps, SchedulerHooks } from './deps.js';
import { positionsOf } from './fairOrder.js';
import { observeWait } from './pop.js';
import { workerSightings } from './queueStats.js';
import { syncWindow } from './window.js';

export interface Scheduler extends SchedulerHooks {
  close(): Promise<void>;
}

export interface SchedulerOptions {
  /**
   * How often the Redis window is reconciled and refilled even when nothing
   * was announced: direct RPOPs are only visible this way. Default 250 ms.
   */
  windowIntervalMs?: number;
  /** Least time between two position refreshes of one queue. Default 1000 ms. */
  positionIntervalMs?: number;
}

/** The event-bus topic on which every instance says "this queue moved". */
export const queueTopic = (queue: string) => `queue:${queue}`;

/**
 * The scheduler's running part, one per process: keeps each queue's Redis
 * window reconciled and full (when the queue is Redis and the window is on),
 * and counts polling workers. Everything it decides is in the database, so
 * any number of instances run one each.
 */
export function startScheduler(deps: Deps, opts: SchedulerOptions = {}): Scheduler {
  const sightings = workerSightings(deps);
  const windowOn = deps.settings.windowSize > 0 && deps.queue.kind === 'redis';
  const interval = opts.windowIntervalMs ?? 250;
  let closed = false;
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  let lastError = '';

  // A tick with nothing announced and the list as the last pass left it
  // (no direct pop, no restart) costs one LRANGE and no database work.
  const stale = new Set<string>(QUEUES);
  const leftAs = new Map<string, string>();
  const lastFull = new Map<string, number>();

  const pass = (queue: string): void => {
    if (!windowOn || closed) return;
    if (running.has(queue)) {
      again.add(queue);
      return;
    }
    const p = (async () => {
      try {
        // At least once a second a full pass anyway: the database may have changed under an
        // unchanged list (another instance's rollback, a row a pass had to skip while locked).
        if (!stale.has(queue) && Date.now() - (lastFull.get(queue) ?? 0) < 1000) {
          const { items, epoch } = await deps.queue.snapshot(queue);
          if (leftAs.get(queue) === epoch + JSON.stringify(items)) return;
        }
        lastFull.set(queue, Date.now());
        stale.delete(queue);
        const result = await syncWindow(deps, queue);
        lastError = '';
        if (!result) {
          stale.add(queue); // another instance holds the queue's pass: look again next tick
          return;
        }
        for (const row of result.taken) observeWait(deps, row);
        if (result.taken.length || result.rewritten) {
          stale.add(queue); // verify (and refill) at once rather than at the next tick
          again.add(queue);
        } else {
          leftAs.set(queue, result.epoch + JSON.stringify(result.items));
        }
      } catch (err) {
        stale.add(queue);
        // Redis or the database is away; the next tick tries again. Logged once per distinct failure.
        const message = String(err);
        if (message !== lastError) deps.logger.warn({ err: message, queue }, 'could not sync the Redis window; retrying');
        lastError = message;
      } finally {
        running.delete(queue);
        if (again.delete(queue)) pass(queue);
      }
    })();
    running.set(queue, p);
  };

  const timer = windowOn ? setInterval(() => QUEUES.forEach(pass), interval) : null;
  timer?.unref();
  QUEUES.forEach(pass);

  // Position updates for the jobs watched through this process. A change
  // anywhere (this process, or another instance's "queue moved" message)
  // marks the queue dirty; a dirty queue with watchers is recomputed at most
  // once per interval, in one pass for all its watched jobs: the cost per
  // taken job is one small message, not a pass over the waiting jobs.
  const positionEvery = opts.positionIntervalMs ?? 1000;
  const watchers = new Map<string, Map<string, { listener: (p: number) => void; last: number | null }>>();
  const dirty = new Set<string>();
  const refreshTimers = new Map<string, NodeJS.Timeout>();
  const lastRefresh = new Map<string, number>();
  const announced = new Map<string, number>();

  const refreshSoon = (queue: string): void => {
    dirty.add(queue);
    if (closed || refreshTimers.has(queue) || !watchers.get(queue)?.size) return;
    const wait = Math.max(0, (lastRefresh.get(queue) ?? 0) + positionEvery - Date.now());
    const t = setTimeout(() => {
      refreshTimers.delete(queue);
      void refresh(queue);
    }, wait);
    t.unref();
    refreshTimers.set(queue, t);
  };

  const refresh = async (queue: string): Promise<void> => {
    const watched = watchers.get(queue);
    if (!watched?.size || !dirty.delete(queue)) return;
    lastRefresh.set(queue, Date.now());
    try {
      const positions = await positionsOf(deps.db, queue, [...watched.keys()]);
      for (const [id, w] of watched) {
        const p = positions.get(id) ?? null;
        if (p === null || p === w.last) continue; // taken (its own news follows) or unchanged
        w.last = p;
        w.listener(p);
      }
    } catch (err) {
      deps.logger.warn({ err: String(err), queue }, 'could not refresh queue positions; trying again on the next change');
    }
  };

  let ticks: AsyncIterator<unknown> & { return(): Promise<IteratorResult<unknown>> } | null = null;
  void deps.events
    .subscribe<{ queue: string }>(QUEUES.map(queueTopic))
    .then(async (sub) => {
      if (closed) return void (await sub.return());
      ticks = sub;
      for await (const tick of sub) if (tick && typeof tick.queue === 'string') refreshSoon(tick.queue);
    })
    .catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'queue position updates from other instances are off until restart'));

  /** Tells the other instances, at most every 200 ms per queue (their own refresh is throttled anyway). */
  const announce = (queue: string): void => {
    const now = Date.now();
    if (now - (announced.get(queue) ?? 0) < 200) return;
    announced.set(queue, now);
    deps.events.publish(queueTopic(queue), { queue }).catch(() => {});
  };

  return {
    changed(queue) {
      stale.add(queue);
      pass(queue);
      refreshSoon(queue);
      announce(queue);
    },
    watchPosition(job, listener) {
      let m = watchers.get(job.queue);
      if (!m) watchers.set(job.queue, (m = new Map()));
      const entry = { listener, last: null as number | null };
      m.set(job.id, entry);
      return () => {
        if (watchers.get(job.queue)?.get(job.id) === entry) watchers.get(job.queue)!.delete(job.id);
      };
    },
    polled(queue, worker) {
      sightings.polled(queue, worker);
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      for (const t of refreshTimers.values()) clearTimeout(t);
      await ticks?.return();
      await Promise.all(running.values());
    },
  };
}
