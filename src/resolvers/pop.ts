import { and, eq, isNull } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { isUuid } from '../vocabulary.js';
import type { Deps } from './deps.js';

/**
 * RPOP for the fleet's `/rpop/<queue>`. Payloads of jobs that are no longer
 * queued (cancelled, or a duplicate push of a job a worker already took) are
 * dropped here, so a job never runs twice through this endpoint.
 */
export async function popJob(deps: Deps, queue: string): Promise<string | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const payload = await deps.queue.pop(queue);
    if (payload === null) return null;
    let id: unknown;
    try {
      id = (JSON.parse(payload) as { id?: unknown }).id;
    } catch {
      id = undefined;
    }
    // Not one of ours (pushed by another producer): hand it over untouched.
    if (!isUuid(id)) return payload;
    const [taken] = await deps.db
      .update(jobs)
      .set({ pickedAt: new Date() })
      .where(and(eq(jobs.id, id), eq(jobs.status, 'queued'), isNull(jobs.pickedAt)))
      .returning({ id: jobs.id, createdAt: jobs.createdAt });
    if (taken) {
      deps.metrics.jobWaitSeconds.observe(Math.max(0, (Date.now() - taken.createdAt.getTime()) / 1000));
      return payload;
    }
    const [known] = await deps.db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, id));
    if (!known) return payload;
    deps.logger.info({ jobId: id, status: known.status }, 'dropped a payload whose job was cancelled, finished or already taken');
  }
  return null;
}
