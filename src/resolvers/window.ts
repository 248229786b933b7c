import { and, asc, eq, isNotNull, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';
import { attemptPayload, recordTake } from './attempts.js';
import type { Deps } from './deps.js';
import { pickNext, rowsOf, untaken } from './fairOrder.js';

/**
 * The Redis window: for workers that RPOP the Redis list directly, the list
 * holds the first few jobs of the fair order (QUEUE_WINDOW_SIZE), never the
 * backlog, which waits in the database. A pass over one queue:
 *
 * 1. Reconcile. Windowed jobs missing from the list were popped by a worker
 *    (their attempt's clock starts now), unless the list's epoch changed
 *    (Redis restarted empty): then they simply wait again. Entries of ours
 *    the database does not know as windowed (a push whose commit failed, a
 *    pre-scheduler backlog) are taken out, and stale ones (cancelled,
 *    finished, superseded attempts) removed; others' payloads are left.
 * 2. Re-sort. The first QUEUE_WINDOW_SIZE jobs of the fair order are chosen
 *    now (new users, finished jobs change it), and if the list does not hold
 *    exactly them in that order it is rewritten in one atomic script that
 *    never pushes back an entry a popper took meanwhile.
 *
 * So a direct popper always gets the fair head as of the last pass (at most
 * a tick old), /rpop gets it as of now, and both agree on positions.
 *
 * Everything runs in one transaction holding the rows it windows (so /rpop
 * on any instance skips them) and a transaction-level advisory lock per
 * queue (passes of several instances never interleave). Redis is written
 * before the commit: a failed write marks nothing, and a failed commit
 * leaves entries that the next pass takes out again, or windowed jobs
 * missing from the list with our removal mark on them (queue.ts), which the
 * next pass puts back in line instead of counting them as popped.
 */
export interface WindowPass {
  /** Jobs found popped straight from Redis. */
  taken: JobRow[];
  /** Whether the list was rewritten. */
  rewritten: boolean;
  /** Windowed jobs the list lost (new epoch), back to waiting. */
  lost: number;
  /** The list's content and epoch as this pass found them, for the caller's "anything new?" check. */
  items: string[];
  epoch: string;
}

const LOCK_NAMESPACE = 731_042;
/** Strays handled per pass: each costs an LREM over the list. */
const MAX_STRAYS = 200;

export async function syncWindow(deps: Deps, queue: string): Promise<WindowPass | null> {
  const size = deps.settings.windowSize;
  return deps.db.transaction(async (tx) => {
    const [lock] = rowsOf<{ ok: boolean }>(
      await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${queue})) as ok`),
    );
    if (!lock?.ok) return null;
    const snapshot = await deps.queue.snapshot(queue);
    const inList = new Set(snapshot.items);
    const pass: WindowPass = { taken: [], rewritten: false, lost: 0, items: snapshot.items, epoch: snapshot.epoch };

    // Rows an /rpop is taking right now are locked: skipped here, and that /rpop settles them.
    const win = await tx
      .select()
      .from(jobs)
      .where(and(eq(jobs.queue, queue), isNotNull(jobs.dispatchedAt), untaken()))
      .orderBy(asc(jobs.dispatchedAt), asc(jobs.id))
      .for('update', { skipLocked: true });
    const present: JobRow[] = [];
    const missing: JobRow[] = [];
    for (const row of win) {
      if (row.dispatchEpoch !== snapshot.epoch) {
        await unwindow(tx, row.id);
        pass.lost++;
      } else if (inList.has(attemptPayload(row))) {
        present.push(row);
      } else {
        missing.push(row);
      }
    }
    // Missing: popped by a worker, unless we removed it ourselves (a failed claim or rewrite): then it waits again.
    const ours = await deps.queue.removedByUs(queue, missing.map(attemptPayload));
    for (const [i, row] of missing.entries()) {
      if (ours[i]) await unwindow(tx, row.id);
      else pass.taken.push(await recordTake(tx, row, 'redis'));
    }

    const known = new Set(win.map(attemptPayload));
    const strays: JobRow[] = [];
    const stale: string[] = [];
    for (const item of snapshot.items) {
      if (known.has(item) || strays.length + stale.length >= MAX_STRAYS) continue;
      const payloadId = payloadIdInItem(item);
      if (!payloadId) continue; // not one of ours
      const [current] = await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.payloadId, payloadId));
      if (current) {
        // Locked: an /rpop (or another pass) is settling it right now; leave the entry to it.
        const [job] = await tx.select().from(jobs).where(eq(jobs.id, current.id)).for('update', { skipLocked: true });
        if (!job || job.payloadId !== payloadId) continue;
        if (job.status === 'queued' && !job.pickedAt && attemptPayload(job) === item) {
          if (!job.dispatchedAt) strays.push(job); // windowed ones are another transaction's
        } else if (job.status !== 'queued' || job.pickedAt) {
          stale.push(item);
        }
      } else {
        const [old] = await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, payloadId));
        if (old) stale.push(item); // an earlier attempt's payload
      }
    }

    // The fair order's head, as of now.
    const chosen: JobRow[] = [];
    const extra = new Map<string, number>();
    for (let i = 0; i < size; i++) {
      const next = await pickNext(tx, queue, { exclude: chosen.map((r) => r.id), extra, skipLocked: true });
      if (!next) break;
      extra.set(next.userId, (extra.get(next.userId) ?? 0) + 1);
      const [row] = await tx.select().from(jobs).where(eq(jobs.id, next.id));
      chosen.push(row);
    }

    const listed = [...snapshot.items].reverse().filter((item) => present.some((r) => attemptPayload(r) === item));
    const wanted = chosen.map(attemptPayload);
    const same = strays.length === 0 && stale.length === 0 && listed.length === wanted.length && listed.every((p, i) => p === wanted[i]);
    if (same) return pass;

    const removable = [...present, ...strays];
    const counts = await deps.queue.replace(queue, [...removable.map(attemptPayload), ...stale], wanted);
    pass.rewritten = true;
    const gone = new Set<string>();
    for (const [i, row] of removable.entries()) {
      // 0: popped between the snapshot and the rewrite: taken, and not pushed again.
      // (-1: we had removed it already; it was pushed again if still wanted, like a present one.)
      if (counts[i] === 0) {
        gone.add(row.id);
        pass.taken.push(await recordTake(tx, row, 'redis'));
      }
    }
    const chosenIds = new Set(chosen.map((r) => r.id));
    for (const row of present) {
      if (!chosenIds.has(row.id) && !gone.has(row.id)) await unwindow(tx, row.id);
    }
    const base = Date.now();
    for (const [i, row] of chosen.entries()) {
      if (gone.has(row.id)) continue;
      await tx
        .update(jobs)
        .set({ dispatchedAt: new Date(base + i), dispatchEpoch: snapshot.epoch })
        .where(eq(jobs.id, row.id));
    }
    return pass;
  });
}

async function unwindow(tx: Tx, id: string): Promise<void> {
  await tx.update(jobs).set({ dispatchedAt: null, dispatchEpoch: null }).where(eq(jobs.id, id));
}

function payloadIdInItem(item: string): string | null {
  try {
    const id = (JSON.parse(item) as { id?: unknown }).id;
    return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}
