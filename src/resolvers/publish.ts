import type { Deps } from './deps.js';
import { TERMINAL_STATUSES } from '../vocabulary.js';
import type { JobView } from './jobView.js';

export const jobTopic = (jobId: string) => `job:${jobId}`;
export const userTopic = (userId: string) => `user:${userId}`;

/**
 * Announces a committed job change: to subscribers (through the event bus) and
 * to the metrics. The database already holds the change, so a failed publish
 * is logged, not thrown: subscribers re-read the truth when they join.
 */
export async function publishJob(deps: Pick<Deps, 'events' | 'logger' | 'metrics'>, view: JobView): Promise<void> {
  countJobChange(deps.metrics, view);
  try {
    // One serialisation for both topics.
    await deps.events.publish([jobTopic(view.id), userTopic(view.userId)], view);
  } catch (err) {
    deps.logger.warn({ err, jobId: view.id }, 'could not publish a job change; subscribers will catch up from the database');
  }
}

/**
 * Every change is published exactly once, by the instance that committed it,
 * so counting here counts each job once across instances (Prometheus sums
 * them). Version 1 is the job's creation.
 */
function countJobChange(metrics: Deps['metrics'], view: JobView): void {
  if (view.status === 'queued' && view.version === 1) metrics.jobsQueued.inc({ job_type: view.jobType });
  if (TERMINAL_STATUSES.has(view.status)) {
    metrics.jobsFinished.inc({ job_type: view.jobType, status: view.status });
    // Taken (the last attempt's hand-out) → finished; the first processing callback where the hand-out is unknown.
    const taken = view.takenAt ?? view.startedAt;
    if (taken && view.completedAt) {
      metrics.jobRunSeconds.observe(Math.max(0, (Date.parse(view.completedAt) - Date.parse(taken)) / 1000));
    }
  }
}
