import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';
import { isUuid } from '../vocabulary.js';

/**
 * The one place that knows how a worker payload's `id` relates to a job.
 * Workers name their outputs' folder (`<user_id>/<payload id>/`) and their
 * callbacks (`job_id`) after the payload they were handed. Today every job is
 * handed out under its own id; when attempts get their own payload ids, only
 * these two functions change, and every rule built on them follows.
 */

/** The id of the payload the worker currently running this job was handed. */
export function payloadIdOf(job: Pick<JobRow, 'id'>): string {
  return job.id;
}

/** The job a payload id was handed out for, or undefined. */
export async function jobOfPayloadId(db: DbOrTx, payloadId: string): Promise<JobRow | undefined> {
  if (!isUuid(payloadId)) return undefined;
  const [row] = await db.select().from(jobs).where(eq(jobs.id, payloadId.toLowerCase()));
  return row;
}
