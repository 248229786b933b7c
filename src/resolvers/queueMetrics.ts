import { and, inArray, isNotNull, sql } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { ACTIVE_STATUSES } from '../vocabulary.js';
import { CATALOG, QUEUES } from './catalog.js';
import type { Deps } from './deps.js';
import { waitingCount } from './fairOrder.js';

/**
 * Sets `genjob_queue_waiting` and `genjob_queue_running` at every scrape, from
 * the source of truth, the database (the queue of record; the Redis list is
 * only the short window of the fair order's head): untaken jobs, and
 * taken-but-unfinished jobs. Read at scrape time rather
 * than tracked, so the figures stay right across instances and restarts.
 */
export function registerQueueGauges(deps: Pick<Deps, 'db' | 'queue' | 'metrics'>): void {
  deps.metrics.onScrape(async () => {
    const [lengths, running] = await Promise.all([
      Promise.all(QUEUES.map((q) => waitingCount(deps.db, q))),
      deps.db
        .select({ jobType: jobs.jobType, n: sql<number>`count(*)::int` })
        .from(jobs)
        .where(and(inArray(jobs.status, ACTIVE_STATUSES), isNotNull(jobs.pickedAt)))
        .groupBy(jobs.jobType),
    ]);
    QUEUES.forEach((q, i) => deps.metrics.queueWaiting.set({ queue: q }, lengths[i]));
    const perQueue = new Map<string, number>(QUEUES.map((q) => [q, 0]));
    for (const r of running) {
      const queue = CATALOG[r.jobType]?.queue;
      if (queue) perQueue.set(queue, (perQueue.get(queue) ?? 0) + Number(r.n));
    }
    for (const [queue, n] of perQueue) deps.metrics.queueRunning.set({ queue }, n);
  });
}
