import { randomUUID } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { attempts, jobs, type JobRow } from '../db/schema.js';

/**
 * Attempts: each hand-out of a job to a worker. The payload a worker gets
 * carries the attempt's own id (the job id for the first attempt, a fresh
 * UUID for each later one), so its callbacks and upload paths name the
 * attempt, and a callback from an attempt that was superseded (its worker
 * vanished and the job was handed to another) can be told apart and ignored.
 */

export type TakenVia = 'rpop' | 'redis' | 'callback';
export type AttemptOutcome = 'completed' | 'failed' | 'retried' | 'abandoned' | 'cancelled';

/**
 * The exact list element for the job's current attempt. The first attempt's
 * is the stored payload verbatim; a later one's differs in `id` and, on the
 * WAN queue, in `video_id` (the WAN worker names its output file after it,
 * and uploads without upsert: a re-run must not collide with the vanished
 * attempt's file). Deterministic, so LREM can find what was pushed.
 */
export function attemptPayload(row: Pick<JobRow, 'id' | 'payloadId' | 'payload' | 'queue'>): string {
  if (row.payloadId === row.id) return row.payload;
  const payload = JSON.parse(row.payload) as Record<string, unknown>;
  payload.id = row.payloadId;
  if (row.queue === 'wan_queue') payload.video_id = row.payloadId;
  return JSON.stringify(payload);
}

/**
 * Records that a worker took the job's current attempt: its clock starts
 * now. The row must be locked by `tx` and not yet taken. The attempt row's
 * primary key is the payload id, so two paths noticing the same hand-out
 * (an /rpop that lost an LREM race, the window keeper) record it once.
 */
export async function recordTake(tx: Tx, row: JobRow, via: TakenVia, now = new Date()): Promise<JobRow> {
  const [updated] = await tx
    .update(jobs)
    .set({
      pickedAt: now,
      lastSeenAt: now,
      attempts: sql`${jobs.attempts} + 1`,
      dispatchedAt: null,
      dispatchEpoch: null,
      updatedAt: now,
      version: sql`${jobs.version} + 1`,
    })
    .where(and(eq(jobs.id, row.id), isNull(jobs.pickedAt)))
    .returning();
  if (!updated) return row;
  await tx
    .insert(attempts)
    .values({
      id: row.payloadId,
      jobId: row.id,
      number: updated.attempts,
      queue: row.queue,
      jobType: row.jobType,
      via,
      takenAt: now,
    })
    .onConflictDoNothing();
  return updated;
}

/** Ends the current attempt's row (when it has one: a job cancelled while waiting has none). */
export async function closeAttempt(tx: Tx, row: JobRow, outcome: AttemptOutcome, errorMessage: string | null, now = new Date()): Promise<void> {
  if (!row.pickedAt) return;
  await tx
    .update(attempts)
    .set({ endedAt: now, outcome, errorMessage })
    .where(and(eq(attempts.id, row.payloadId), isNull(attempts.endedAt)));
}

/**
 * Puts a taken job back in line for another attempt: a new payload id (so the
 * old attempt's late callbacks are superseded), the clock and window state
 * cleared, `queued_at` kept so it goes back to the front of its owner's line.
 * The caller checked that attempts remain and holds the row lock.
 */
export async function requeueForAnotherAttempt(
  tx: Tx,
  row: JobRow,
  outcome: 'retried' | 'abandoned',
  reason: string,
): Promise<JobRow> {
  const now = new Date();
  await closeAttempt(tx, row, outcome, reason, now);
  const [updated] = await tx
    .update(jobs)
    .set({
      status: 'queued',
      progress: 0,
      payloadId: randomUUID(),
      pickedAt: null,
      lastSeenAt: null,
      dispatchedAt: null,
      dispatchEpoch: null,
      startedAt: null,
      updatedAt: now,
      version: sql`${jobs.version} + 1`,
      metadata: { ...row.metadata, last_attempt: { number: row.attempts, outcome, reason, ended_at: now.toISOString() } },
    })
    .where(eq(jobs.id, row.id))
    .returning();
  return updated;
}
