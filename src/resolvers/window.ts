import { and, asc, eq, sql } from 'drizzle-orm';
import { jobs, type JobRow } from '../db/schema.js';
import { attemptPayload, recordTake } from './attempts.js';
import type { Deps } from './deps.js';
import { pickNext, rowsOf, windowed } from './fairOrder.js';

/**
 * The Redis window: for workers that RPOP the Redis list directly, the list
 * holds the next few jobs in fair order (QUEUE_WINDOW_SIZE), never the whole
 * backlog, which waits in the database. One pass per queue:
 *
 * 1. Reconcile. Windowed jobs missing from the list were popped by a worker
 *    (their attempt's clock starts now), unless the list's epoch changed
 *    (Redis restarted empty): then they simply wait again. List entries the
 *    database does not know as windowed are adopted when they are their
 *    job's current untaken attempt (a push whose recording failed), removed
 *    when stale (cancelled, finished, superseded); others' payloads are left.
 * 2. Refill the free places with the fair order's next jobs, pushed with one
 *    LPUSH inside the transaction that marks them windowed: a failed push
 *    marks nothing, and a failed commit leaves entries that step 1 adopts.
 *
 * Passes for one queue are serialised across instances by a transaction-
 * level advisory lock (a busy lock means another instance is on it).
 */
export interface WindowPass {
  /** Jobs found popped straight from Redis. */
  taken: JobRow[];
  /** Jobs pushed into the window. */
  pushed: number;
  /** Windowed jobs the list lost (new epoch), back to waiting. */
  lost: number;
}

const LOCK_NAMESPACE = 731_042;

export async function syncWindow(deps: Deps, queue: string): Promise<WindowPass | null> {
  const size = deps.settings.windowSize;
  return deps.db.transaction(async (tx) => {
    const [lock] = rowsOf<{ ok: boolean }>(
      await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${queue})) as ok`),
    );
    if (!lock?.ok) return null;
    const snapshot = await deps.queue.snapshot(queue);
    const inList = new Set(snapshot.items);
    const pass: WindowPass = { taken: [], pushed: 0, lost: 0 };

    // Rows an /rpop is taking right now are locked: skipped here, and that /rpop settles them.
    const win = await tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.queue, queue), windowed()))
      .orderBy(asc(jobs.dispatchedAt), asc(jobs.id))
      .for('update', { skipLocked: true });
    let room = size;
    for (const row of win) {
      if (inList.has(attemptPayload(row)) && row.dispatchEpoch === snapshot.epoch) {
        room--;
        continue;
      }
      if (row.dispatchEpoch !== snapshot.epoch) {
        await tx.update(jobs).set({ dispatchedAt: null, dispatchEpoch: null }).where(eq(jobs.id, row.id));
        pass.lost++;
      } else {
        pass.taken.push(await recordTake(tx, row, 'redis'));
      }
    }

    const known = new Set(win.map(attemptPayload));
    for (const item of snapshot.items) {
      if (known.has(item)) continue;
      const payloadId = payloadIdOf(item);
      if (!payloadId) continue; // not one of ours
      const [job] = await tx.select().from(jobs).where(eq(jobs.payloadId, payloadId)).for('update', { skipLocked: true });
      if (!job) {
        const [old] = await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, payloadId));
        if (old) await deps.queue.remove(queue, item); // an earlier attempt's payload
        continue;
      }
      if (job.status === 'queued' && !job.pickedAt && !job.dispatchedAt && attemptPayload(job) === item) {
        await tx.update(jobs).set({ dispatchedAt: new Date(), dispatchEpoch: snapshot.epoch }).where(eq(jobs.id, job.id));
        room--;
      } else if (job.status !== 'queued' || job.pickedAt) {
        await deps.queue.remove(queue, item);
      }
    }

    const payloads: string[] = [];
    const base = Date.now();
    for (let i = 0; i < room; i++) {
      const id = await pickNext(tx, queue);
      if (!id) break;
      const [row] = await tx
        .update(jobs)
        .set({ dispatchedAt: new Date(base + i), dispatchEpoch: snapshot.epoch })
        .where(eq(jobs.id, id))
        .returning();
      payloads.push(attemptPayload(row));
    }
    if (payloads.length > 0) await deps.queue.pushMany(queue, payloads);
    pass.pushed = payloads.length;
    return pass;
  });
}

function payloadIdOf(item: string): string | null {
  try {
    const id = (JSON.parse(item) as { id?: unknown }).id;
    return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}
