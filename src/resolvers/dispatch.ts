import { and, eq, isNotNull, isNull, lt, ne, or } from 'drizzle-orm';
import { jobs, type JobRow } from '../db/schema.js';
import { CATALOG } from './catalog.js';
import type { Deps } from './deps.js';

const LEASE_MS = 30_000;

/**
 * Pushes a job's payload to its worker queue and records that it is there.
 * The caller must hold the job's dispatch lease. Resolves to the queue's new
 * length, or null when the push failed: the job then stays `queued` and owed,
 * and the sweeper pushes it later. Never throws.
 *
 * `replace`: first remove any copy of the payload already in the queue. A
 * push that failed by timing out may still have landed (Redis was slow or
 * frozen, not gone), so every re-push replaces instead of adding; on one
 * connection the LREM is ordered after that earlier LPUSH.
 */
export async function dispatchJob(
  deps: Deps,
  row: Pick<JobRow, 'id' | 'jobType' | 'payload'>,
  opts: { replace?: boolean } = {},
): Promise<number | null> {
  const queue = CATALOG[row.jobType].queue;
  let length: number;
  let epoch: string;
  try {
    if (opts.replace) await deps.queue.remove(queue, row.payload);
    [length, epoch] = await Promise.all([deps.queue.push(queue, row.payload), deps.queue.epoch()]);
  } catch (err) {
    deps.logger.warn({ err: String(err), jobId: row.id, queue }, 'worker queue push failed; the job stays queued and will be pushed when the queue is back');
    await deps.db
      .update(jobs)
      .set({ dispatchLeaseUntil: null })
      .where(eq(jobs.id, row.id))
      .catch(() => {});
    return null;
  }
  try {
    await deps.db
      .update(jobs)
      .set({ dispatchedAt: new Date(), dispatchEpoch: epoch, dispatchLeaseUntil: null })
      .where(eq(jobs.id, row.id));
  } catch (err) {
    // The payload is in the queue but we could not record it. The lease keeps
    // other dispatchers off for LEASE_MS; pop-time checks drop any duplicate.
    deps.logger.error({ err: String(err), jobId: row.id }, 'pushed a job but could not record it');
  }
  return length;
}

/**
 * Pushes jobs whose earlier push failed. Safe with several instances: each
 * job is claimed with a conditional UPDATE (a lease) before it is pushed, so
 * only one instance pushes it.
 */
export async function dispatchOwedJobs(deps: Deps, limit = 100): Promise<number> {
  const now = new Date();
  const claimable = and(
    eq(jobs.status, 'queued'),
    isNull(jobs.dispatchedAt),
    // A worker already took it (its push landed but was not recorded): pushing again would run it twice.
    isNull(jobs.pickedAt),
    or(isNull(jobs.dispatchLeaseUntil), lt(jobs.dispatchLeaseUntil, now)),
  );
  const candidates = await deps.db
    .select({ id: jobs.id })
    .from(jobs)
    .where(claimable)
    .orderBy(jobs.createdAt)
    .limit(limit);
  let pushed = 0;
  for (const { id } of candidates) {
    const [claimed] = await deps.db
      .update(jobs)
      .set({ dispatchLeaseUntil: new Date(Date.now() + LEASE_MS) })
      .where(and(eq(jobs.id, id), claimable))
      .returning({ id: jobs.id, jobType: jobs.jobType, payload: jobs.payload });
    if (!claimed) continue;
    if ((await dispatchJob(deps, claimed, { replace: true })) === null) break; // queue still down: try again next sweep
    pushed++;
  }
  return pushed;
}

/**
 * A queue that lost its contents (an in-process queue after a restart, a
 * Redis without persistence that restarted empty) has a new epoch. Jobs
 * pushed under an older epoch that no worker took are owed again, so the
 * next dispatch pass pushes them: a queue outage never loses a job.
 */
export async function requeueLostJobs(deps: Deps): Promise<number> {
  const epoch = await deps.queue.epoch();
  const lost = await deps.db
    .update(jobs)
    .set({ dispatchedAt: null, dispatchLeaseUntil: null })
    .where(
      and(
        eq(jobs.status, 'queued'),
        isNotNull(jobs.dispatchedAt),
        isNull(jobs.pickedAt),
        or(isNull(jobs.dispatchEpoch), ne(jobs.dispatchEpoch, epoch)),
      ),
    )
    .returning({ id: jobs.id });
  if (lost.length) deps.logger.warn({ count: lost.length }, 'the worker queue lost jobs (restarted empty); pushing them again');
  return lost.length;
}
