import { jobs } from '../db/schema.js';
import { isActive, isUuid } from '../vocabulary.js';
import { attemptPayload } from './attempts.js';
import type { Deps } from './deps.js';
import { DomainError, notFound } from './errors.js';
import { viewOf, type JobView } from './jobView.js';
import { publishJob } from './publish.js';
import { endWithRefund } from './refund.js';
import { visibleJob, type Viewer } from './viewer.js';

/** Cancels a queued or processing job and refunds it; the payload is taken off its queue when still there. */
export async function cancelJob(deps: Deps, viewer: Viewer, id: string): Promise<JobView> {
  const missing = () => notFound(`Job ${id} not found. Check the id; you can only cancel your own jobs.`);
  if (!isUuid(id)) throw missing();
  const row = await deps.db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(visibleJob(viewer, id.toLowerCase())).for('update');
    if (!job) throw missing();
    if (!isActive(job.status)) {
      throw new DomainError(
        'BAD_USER_INPUT',
        `Job ${id} is already ${job.status}; only queued or processing jobs can be cancelled.`,
        { status: job.status },
      );
    }
    return endWithRefund(tx, job, 'cancelled', null, { cancelled_at: new Date().toISOString() });
  });
  // Best effort: a payload left in the Redis window is removed by the window keeper, and never handed out by /rpop.
  await deps.queue.remove(row.queue, attemptPayload(row)).catch(() => 0);
  deps.scheduler.changed(row.queue);
  const view = await viewOf(deps.db, row);
  await publishJob(deps, view);
  return view;
}
