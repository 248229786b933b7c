import type { EventBus } from '../pubsub/events.js';
import type { Logger } from 'pino';
import type { JobView } from './jobView.js';

export const jobTopic = (jobId: string) => `job:${jobId}`;
export const userTopic = (userId: string) => `user:${userId}`;

/**
 * Announces a job change. The database already holds the change, so a failed
 * publish is logged, not thrown: subscribers re-read the truth when they join.
 */
export async function publishJob(events: EventBus, logger: Logger, view: JobView): Promise<void> {
  try {
    await Promise.all([events.publish(jobTopic(view.id), view), events.publish(userTopic(view.userId), view)]);
  } catch (err) {
    logger.warn({ err, jobId: view.id }, 'could not publish a job change; subscribers will catch up from the database');
  }
}
