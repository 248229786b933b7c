import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';

/**
 * The one place that knows how a worker payload's `id` relates to a job.
 * Workers name their outputs' folder (`<user_id>/<payload id>/`) and their
 * callbacks (`job_id`) after the payload they were handed. Today every job is
 * handed out under its own id; when attempts get their own payload ids, only
 * these two functions change, and every rule built on them follows.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The id of the payload the worker currently running this job was handed. */
export function payloadIdOf(job: Pick<JobRow, 'id'>): string {
  return job.id;
}

/** The job a payload id was handed out for, or undefined. */
export async function jobOfPayloadId(db: DbOrTx, payloadId: string): Promise<JobRow | undefined> {
  if (!UUID.test(payloadId)) return undefined;
  const [row] = await db.select().from(jobs).where(eq(jobs.id, payloadId.toLowerCase()));
  return row;
}
