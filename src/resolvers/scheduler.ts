import { QUEUES } from './catalog.js';
import type { Deps, SchedulerHooks } from './deps.js';
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
}

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

  const pass = (queue: string): void => {
    if (!windowOn || closed) return;
    if (running.has(queue)) {
      again.add(queue);
      return;
    }
    const p = (async () => {
      try {
        const result = await syncWindow(deps, queue);
        lastError = '';
        if (result?.taken.length) again.add(queue); // their places are free: refill now, not at the next tick
        if (result && (result.lost > 0 || result.taken.length > 0)) {
          deps.logger.debug({ queue, ...result, taken: result.taken.length }, 'window reconciled');
        }
      } catch (err) {
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

  return {
    changed(queue) {
      pass(queue);
    },
    polled(queue, worker) {
      sightings.polled(queue, worker);
    },
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await Promise.all(running.values());
    },
  };
}
