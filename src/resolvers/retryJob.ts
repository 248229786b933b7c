import { randomUUID } from 'node:crypto';
import { and, eq, gte, sql } from 'drizzle-orm';
import { images, jobs, usageLogs, users, videos } from '../db/schema.js';
import { checkContentPolicy } from './contentPolicy.js';
import type { Deps } from './deps.js';
import { DomainError, notFound } from './errors.js';
import type { Viewer } from './viewer.js';
import { viewOf, type JobView } from './jobView.js';
import { publishJob } from './publish.js';
import { refuseWhenFull } from './queueJob.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Queues a failed or cancelled job again, keeping its id: a new attempt with
 * a new payload id (so anything still arriving from earlier attempts is
 * ignored), a fresh MAX_ATTEMPTS budget, its outputs reset, its cost charged
 * again (it was refunded when it ended) under the same rules as queueJob: the
 * content policy as it stands now, the active-job limit, and enough credits. It joins the back of
 * its owner's line (`queued_at` = now), like a new job.
 */
export async function retryJob(deps: Deps, viewer: Viewer, id: string): Promise<JobView> {
  const missing = () => notFound(`Job ${id} not found. Check the id; you can only retry your own jobs.`);
  if (!UUID.test(id)) throw missing();
  const jobId = id.toLowerCase();
  const [owner] = await deps.db.select({ userId: jobs.userId }).from(jobs).where(eq(jobs.id, jobId));
  // The owner's MAX_ACTIVE_JOBS_PER_USER, as for queueJob (a job of someone else's is refused as not found below).
  if (owner && (viewer.admin || owner.userId === viewer.id)) await refuseWhenFull(deps, owner.userId);
  const row = await deps.db.transaction(async (tx) => {
    const [job] = await tx
      .select()
      .from(jobs)
      .where(viewer.admin ? eq(jobs.id, jobId) : and(eq(jobs.id, jobId), eq(jobs.userId, viewer.id)))
      .for('update');
    if (!job) throw missing();
    if (job.status !== 'failed' && job.status !== 'cancelled') {
      throw new DomainError(
        'BAD_USER_INPUT',
        job.status === 'completed'
          ? `Job ${id} completed; only failed or cancelled jobs can be retried. Queue a new job to generate again.`
          : `Job ${id} is still ${job.status}; only failed or cancelled jobs can be retried.`,
        { status: job.status },
      );
    }
    const policy = checkContentPolicy(job.prompt);
    if (!policy.allowed) throw new DomainError('CONTENT_POLICY', policy.reason, { rule: policy.rule });

    const cost = job.creditCost;
    const [debited] = await tx
      .update(users)
      .set({ credits: sql`${users.credits} - ${cost}` })
      .where(and(eq(users.id, job.userId), gte(users.credits, cost)))
      .returning({ credits: users.credits });
    if (!debited) {
      const [u] = await tx.select({ credits: users.credits }).from(users).where(eq(users.id, job.userId));
      const available = u?.credits ?? 0;
      throw new DomainError(
        'INSUFFICIENT_CREDITS',
        `Retrying this job costs ${cost} credits and you have ${available}. Add credits, or queue a cheaper job.`,
        { required: cost, available },
      );
    }
    const now = new Date();
    await tx.insert(usageLogs).values({
      id: randomUUID(),
      userId: job.userId,
      action: 'retry_job',
      creditsConsumed: cost,
      metadata: { job_id: job.id, job_type: job.jobType, previous_status: job.status, usage_timestamp: now.toISOString() },
    });
    const outputs = job.format === 'video' ? videos : images;
    await tx.update(outputs).set({ status: 'queued', path: null, updatedAt: now }).where(eq(outputs.jobId, job.id));
    const { cancelled_at: _c, timed_out: _t, ...metadata } = job.metadata as Record<string, unknown>;
    const [updated] = await tx
      .update(jobs)
      .set({
        status: 'queued',
        progress: 0,
        errorMessage: null,
        refundedAt: null,
        completedAt: null,
        startedAt: null,
        generationTime: null,
        payloadId: randomUUID(),
        pickedAt: null,
        lastSeenAt: null,
        dispatchedAt: null,
        dispatchEpoch: null,
        queuedAt: now,
        maxAttempts: job.attempts + deps.settings.maxAttempts,
        updatedAt: now,
        version: sql`${jobs.version} + 1`,
        metadata: { ...metadata, retried_at: now.toISOString(), retries: Number(metadata.retries ?? 0) + 1 },
      })
      .where(eq(jobs.id, job.id))
      .returning();
    return updated;
  });
  deps.scheduler.changed(row.queue);
  const view = await viewOf(deps.db, row);
  await publishJob(deps, view);
  return view;
}
