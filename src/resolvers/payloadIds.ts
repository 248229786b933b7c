import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';
import { isUuid } from '../vocabulary.js';

/**
 * The one place that knows how a worker payload's `id` relates to a job.
 * Workers name their outputs' folder (`<user_id>/<payload id>/`) and their
 * callbacks (`job_id`) after the payload they were handed. Each attempt has
 * its own payload id (attempts.ts): the job id for the first, a new UUID for
 * each later one; `jobs.payload_id` holds the current attempt's.
 */

/** The id of the payload the worker currently running this job was handed. */
export function payloadIdOf(job: Pick<JobRow, 'payloadId'>): string {
  return job.payloadId;
}

/** The job whose current attempt has this payload id, or undefined (also for a superseded attempt's id). */
export async function jobOfPayloadId(db: DbOrTx, payloadId: string): Promise<JobRow | undefined> {
  if (!isUuid(payloadId)) return undefined;
  const [row] = await db.select().from(jobs).where(eq(jobs.payloadId, payloadId.toLowerCase()));
  return row;
}
