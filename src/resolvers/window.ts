import { and, asc, eq, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';
import { attemptPayload, recordTake } from './attempts.js';
import type { Deps } from './deps.js';
import { firstInOrder, rowsOf, untaken } from './fairOrder.js';

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
 * Locks. Passes of several instances never interleave: each transaction
 * holds a transaction-level advisory lock per queue. Recording the windowed
 * jobs gone from the list commits on its own, before the rewrite. The
 * rewrite locks the jobs it pushes, takes out or re-orders for the few
 * milliseconds it takes (an /rpop whose fair head is one of them waits that
 * long, bounded by one rewrite); it never waits for a row lock itself (SKIP
 * LOCKED: a row an /rpop holds is one it is taking, and is left in the list
 * for that /rpop's LREM), and records the hand-outs the rewrite discovers
 * last: no deadlock with pops, which wait for the pass's rows while holding
 * rows they passed over. Redis is
 * written before the commit: a failed write marks nothing, and a failed
 * commit leaves entries that the next pass takes out again, or windowed jobs
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
  const pass: WindowPass = { taken: [], rewritten: false, lost: 0, items: [], epoch: '' };
  // Hand-outs found in step 1 are committed first; a rewrite that finds more goes round again.
  for (let round = 0; round < 5; round++) {
    const reconciled = await reconcile(deps, queue, pass);
    if (reconciled === null) return null;
    const refilled = await refill(deps, queue, pass);
    if (refilled !== 'again') return refilled === null ? null : pass;
  }
  return pass;
}

const tryLock = async (tx: Tx, queue: string) =>
  rowsOf<{ ok: boolean }>(await tx.execute(sql`select pg_try_advisory_xact_lock(${LOCK_NAMESPACE}, hashtext(${queue})) as ok`))[0]?.ok === true;

/** Windowed jobs of `queue` (read without locks). */
const windowed = (tx: Tx, queue: string) =>
  tx
    .select()
    .from(jobs)
    .where(and(eq(jobs.queue, queue), isNotNull(jobs.dispatchedAt), untaken()))
    .orderBy(asc(jobs.dispatchedAt), asc(jobs.id));

/** Step 1: windowed jobs gone from the list were popped (or, under a new epoch, lost). Null: another instance's pass runs. */
async function reconcile(deps: Deps, queue: string, pass: WindowPass): Promise<boolean | null> {
  return deps.db.transaction(async (tx) => {
    if (!(await tryLock(tx, queue))) return null;
    const snapshot = await deps.queue.snapshot(queue);
    const inList = new Set(snapshot.items);
    const gone = (await windowed(tx, queue)).filter((r) => r.dispatchEpoch !== snapshot.epoch || !inList.has(attemptPayload(r)));
    if (gone.length === 0) return true;
    // Rows an /rpop is taking right now are locked: skipped here, and that /rpop settles them.
    const locked = await tx
      .select()
      .from(jobs)
      .where(and(inArray(jobs.id, gone.map((r) => r.id)), isNotNull(jobs.dispatchedAt), untaken()))
      .for('update', { skipLocked: true });
    const missing: JobRow[] = [];
    for (const row of locked) {
      if (row.dispatchEpoch !== snapshot.epoch) {
        await unwindow(tx, row.id);
        pass.lost++;
      } else if (!inList.has(attemptPayload(row))) {
        missing.push(row);
      }
    }
    // Missing: popped by a worker, unless we removed it ourselves (a failed claim or rewrite): then it waits again.
    const ours = await deps.queue.removedByUs(queue, missing.map(attemptPayload));
    for (const [i, row] of missing.entries()) {
      if (ours[i]) await unwindow(tx, row.id);
      else pass.taken.push(await recordTake(tx, row, 'redis'));
    }
    return true;
  });
}

/** Step 2: the list made equal to the fair order's head. 'again' when more hand-outs turned up first. */
async function refill(deps: Deps, queue: string, pass: WindowPass): Promise<boolean | 'again' | null> {
  const size = deps.settings.windowSize;
  return deps.db.transaction(async (tx) => {
    if (!(await tryLock(tx, queue))) return null;
    const snapshot = await deps.queue.snapshot(queue);
    Object.assign(pass, { items: snapshot.items, epoch: snapshot.epoch });
    const inList = new Set(snapshot.items);
    const win = await windowed(tx, queue);
    if (win.some((r) => r.dispatchEpoch !== snapshot.epoch || !inList.has(attemptPayload(r)))) return 'again';
    const present = win;

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

    // The fair order's head, as of now. Every job the rewrite touches (pushes, takes out, or puts back
    // in order) is locked while the list is rewritten; one another transaction holds (an /rpop taking
    // it) is left where it is, for that /rpop's LREM to settle.
    const head = await firstInOrder(tx, queue, size);
    const presentIds = new Set(present.map((r) => r.id));
    const adding = head.filter((id) => !presentIds.has(id));
    const added = adding.length
      ? await tx.select().from(jobs).where(and(inArray(jobs.id, adding), untaken(), sql`${jobs.dispatchedAt} is null`)).for('update', { skipLocked: true })
      : [];
    const held = new Set(
      present.length
        ? (await tx.select({ id: jobs.id }).from(jobs).where(and(inArray(jobs.id, [...presentIds]), untaken())).for('update', { skipLocked: true })).map((r) => r.id)
        : [],
    );
    const kept = present.filter((r) => held.has(r.id));
    const rowOf = new Map([...kept, ...added].map((r) => [r.id, r]));
    const chosen = head.filter((id) => rowOf.has(id)).map((id) => rowOf.get(id)!);
    const chosenIds = new Set(chosen.map((r) => r.id));
    const left = new Set(kept.filter((r) => !chosenIds.has(r.id)).map((r) => r.id));

    const listed = [...snapshot.items].reverse().filter((item) => known.has(item));
    const wanted = chosen.map(attemptPayload);
    const same = strays.length === 0 && stale.length === 0 && listed.length === wanted.length && listed.every((p, i) => p === wanted[i]);
    if (same) return true;

    const removable = [...kept, ...strays];
    const counts = await deps.queue.replace(queue, [...removable.map(attemptPayload), ...stale], wanted);
    pass.rewritten = true;
    const gone: JobRow[] = [];
    // 0: popped between the snapshot and the rewrite: taken, and not pushed again.
    // (-1: we had removed it already; it was pushed again if still wanted, like a present one.)
    for (const [i, row] of removable.entries()) if (counts[i] === 0) gone.push(row);
    const goneIds = new Set(gone.map((r) => r.id));
    for (const id of left) if (!goneIds.has(id)) await unwindow(tx, id);
    const base = Date.now();
    for (const [i, row] of chosen.entries()) {
      if (goneIds.has(row.id)) continue;
      await tx
        .update(jobs)
        .set({ dispatchedAt: new Date(base + i), dispatchEpoch: snapshot.epoch })
        .where(and(eq(jobs.id, row.id), untaken()));
    }
    // Last: recording a hand-out locks its queue line; nothing is waited for after that.
    if (gone.length) {
      const locked = await tx
        .select()
        .from(jobs)
        .where(and(inArray(jobs.id, [...goneIds]), untaken()))
        .for('update', { skipLocked: true });
      for (const row of locked) pass.taken.push(await recordTake(tx, row, 'redis'));
    }
    return true;
  });
}

async function unwindow(tx: Tx, id: string): Promise<void> {
  await tx.update(jobs).set({ dispatchedAt: null, dispatchEpoch: null }).where(and(eq(jobs.id, id), untaken()));
}

function payloadIdInItem(item: string): string | null {
  try {
    const id = (JSON.parse(item) as { id?: unknown }).id;
    return typeof id === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id) ? id.toLowerCase() : null;
  } catch {
    return null;
  }
}
