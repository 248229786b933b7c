import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/client.js';
import { images, jobs, usageLogs, users, videos, type JobRow } from '../db/schema.js';
import { closeAttempt, type AttemptOutcome } from './attempts.js';
import { refundUsageMetadata } from './legacyMetadata.js';

/**
 * Ends a job as failed or cancelled and gives its credits back. Must run in
 * the transaction that locked the job row; `refundedAt` makes the refund
 * happen at most once whatever calls this.
 */
export async function endWithRefund(
  tx: Tx,
  row: JobRow,
  status: 'failed' | 'cancelled',
  errorMessage: string | null,
  extraMetadata: Record<string, unknown> = {},
  attemptOutcome: AttemptOutcome = status,
): Promise<JobRow> {
  const now = new Date();
  await closeAttempt(tx, row, attemptOutcome, errorMessage, now);
  const refund = row.refundedAt === null && row.creditCost > 0;
  // The user's row before the job's update: that update locks the job's line in its queue (a
  // trigger), and queueJob locks the user before the line. One order everywhere (job row, user,
  // line) cannot deadlock.
  if (refund) {
    await tx
      .update(users)
      .set({ credits: sql`${users.credits} + ${row.creditCost}` })
      .where(eq(users.id, row.userId));
    await tx.insert(usageLogs).values({
      id: randomUUID(),
      userId: row.userId,
      action: status === 'failed' ? 'refund_failed_job' : 'refund_cancelled_job',
      creditsConsumed: -row.creditCost,
      metadata: refundUsageMetadata(row, errorMessage, now),
    });
  }
  const [updated] = await tx
    .update(jobs)
    .set({
      status,
      errorMessage,
      completedAt: now,
      updatedAt: now,
      refundedAt: row.refundedAt ?? now,
      version: sql`${jobs.version} + 1`,
      metadata: { ...row.metadata, ...extraMetadata },
    })
    .where(eq(jobs.id, row.id))
    .returning();
  const outputs = row.format === 'video' ? videos : images;
  await tx.update(outputs).set({ status, updatedAt: now }).where(eq(outputs.jobId, row.id));
  return updated;
}
