import { eq } from 'drizzle-orm';
import { jobs, type JobRow } from '../db/schema.js';
import { isUuid } from '../vocabulary.js';
import { attemptPayload, recordTake } from './attempts.js';
import type { Deps } from './deps.js';
import { pickNext, waitingHeads } from './fairOrder.js';

/**
 * The fleet's `/rpop/<queue>`: hands the worker the next job in fair order
 * and records the hand-out (the attempt's clock starts) in the same
 * transaction, so a job is never handed out unrecorded. The fair head is
 * locked (a concurrent pop on any instance waits a few milliseconds, then
 * re-checks it and moves on; the window keeper holds only jobs it is pushing
 * or taking out of the list, for the moment it takes). When it is in the
 * Redis window it is LREM'd inside the transaction: LREM is the arbiter between this endpoint and workers popping
 * Redis directly (LREM = 0: a direct popper has it; that hand-out is
 * recorded and the next job is tried).
 *
 * Failure modes: if the database is unreachable nothing was removed from
 * Redis and nothing is handed out (the worker sees "no job"). If Redis is
 * unreachable, windowed jobs are passed over (a direct popper may hold
 * them) and the rest served; an LREM whose answer timed out may still have
 * run: its removal mark (queue.ts) tells the window keeper that nobody
 * took the entry, so the job waits again rather than counting as popped.
 * If the commit fails after an LREM, the payload is pushed back where it
 * was before the error is reported. If the process dies between the LREM
 * and the commit, the window keeper finds the windowed job gone from the
 * list with our removal mark, so nobody runs it: it goes back in line at
 * once. Lost never, run twice never.
 */
export async function popJob(deps: Deps, queue: string): Promise<string | null> {
  // One transaction per candidate: a windowed job a direct popper took is recorded and committed
  // before the next is tried.
  const exclude: string[] = [];
  for (let tries = 0; tries < 10; tries++) {
    const claim: { removed: string | null } = { removed: null };
    let outcome: { row: JobRow; handOut: boolean } | 'again' | null;
    try {
      outcome = await deps.db.transaction(async (tx) => {
        const row = await pickNext(tx, queue, exclude);
        if (!row) return (await waitingHeads(tx, queue, exclude)) ? 'again' : null;
        if (!row.dispatchedAt) return { row: await recordTake(tx, row, 'rpop'), handOut: true };
        const payload = attemptPayload(row);
        const n = await deps.queue.remove(queue, payload).catch(() => null);
        if (n === null) {
          exclude.push(row.id); // Redis is away: a direct popper may hold it; serve the others meanwhile
          return { row, handOut: false };
        }
        if (n > 0) claim.removed = payload;
        // n = 0: a worker popping Redis directly took it a moment ago; record that hand-out.
        // n = -1: gone because we removed it earlier (a claim that failed, or timed out and ran anyway): nobody runs it, hand it out.
        return { row: await recordTake(tx, row, n === 0 ? 'redis' : 'rpop'), handOut: n !== 0 };
      });
    } catch (err) {
      if (claim.removed !== null) {
        // The claim was not recorded: put the payload back at the popping end, as if never popped.
        await deps.queue.pushBack(queue, claim.removed).catch((pushErr: unknown) => {
          deps.logger.error({ err: String(pushErr), queue }, 'could not put a payload back after a failed claim; the window keeper puts the job back in line (its removal mark says nobody runs it)');
        });
      }
      // Two pops that each hold a row they passed over (taken meanwhile) can wait on each other:
      // PostgreSQL ends one, and that one simply tries again.
      if (isDeadlock(err) && tries < 9) continue;
      throw err;
    }
    if (!outcome) break;
    // The head another pop took while this one waited for it: look at the lines again.
    if (outcome === 'again' || !outcome.handOut) continue;
    observeWait(deps, outcome.row);
    // Not published: the job is still `queued` to its owner until the worker reports (the next
    // news is its `processing` callback); the position notifier tells the others they moved up.
    deps.scheduler.changed(queue);
    return attemptPayload(outcome.row);
  }
  return popForeign(deps, queue);
}

/**
 * Nothing of ours waits in the database. The Redis list may still hold
 * payloads pushed by another producer: those are handed over untouched, as
 * before this server existed. Payloads of ours found there (a window push
 * whose recording failed) go only if they are their job's current, untaken
 * attempt; anything else is stale and dropped.
 */
async function popForeign(deps: Deps, queue: string): Promise<string | null> {
  if (deps.queue.kind !== 'redis') return null;
  for (let i = 0; i < 10; i++) {
    const payload = await deps.queue.pop(queue);
    if (payload === null) return null;
    let id: unknown;
    try {
      id = (JSON.parse(payload) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    if (typeof id !== 'string' || !isUuid(id)) return payload;
    const row = await deps.db.transaction(async (tx) => {
      const [job] = await tx.select().from(jobs).where(eq(jobs.payloadId, id.toLowerCase())).for('update');
      return job && job.status === 'queued' && !job.pickedAt ? recordTake(tx, job, 'rpop') : null;
    });
    if (row) {
      observeWait(deps, row);
      deps.scheduler.changed(queue);
      return payload;
    }
    const [known] = await deps.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, id.toLowerCase()));
    if (!known) {
      const [byAttempt] = await deps.db.select({ id: jobs.id }).from(jobs).where(eq(jobs.payloadId, id.toLowerCase()));
      if (!byAttempt) return payload;
    }
    deps.logger.info({ payloadId: id }, 'dropped a stale payload (its job was cancelled, finished, taken or re-queued as another attempt)');
  }
  return null;
}

/** `genjob_job_wait_seconds`: queued (or re-queued for another attempt, or retried) → taken. */
export function observeWait(deps: Pick<Deps, 'metrics'>, row: Pick<JobRow, 'queuedAt' | 'pickedAt'>): void {
  const taken = row.pickedAt?.getTime() ?? Date.now();
  deps.metrics.jobWaitSeconds.observe(Math.max(0, (taken - row.queuedAt.getTime()) / 1000));
}

function isDeadlock(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e.code === '40P01') return true;
  return false;
}
