import { and, eq, inArray, isNotNull, lt, or, sql } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { ACTIVE_STATUSES } from '../vocabulary.js';
import type { Deps } from './deps.js';
import { dispatchOwedJobs, requeueLostJobs } from './dispatch.js';
import { viewOf } from './jobView.js';
import { publishJob } from './publish.js';
import { endWithRefund } from './refund.js';

/**
 * Fails (and refunds) jobs a worker took but never finished: the fleet sends
 * no heartbeat and a crashed worker sends nothing, so a deadline of expected
 * time + grace is the only way such a job can end. Safe with several
 * instances: each job is re-checked under a row lock.
 */
export async function failStuckJobs(deps: Deps, limit = 100): Promise<number> {
  const grace = deps.settings.jobTimeoutGrace;
  const deadline = sql`(${jobs.expectedGenerationTime} + ${grace}) * interval '1 second'`;
  const stuck = or(
    and(eq(jobs.status, 'processing'), lt(sql`coalesce(${jobs.startedAt}, ${jobs.createdAt}) + ${deadline}`, sql`now()`)),
    and(eq(jobs.status, 'queued'), isNotNull(jobs.pickedAt), lt(sql`${jobs.pickedAt} + ${deadline}`, sql`now()`)),
  );
  const candidates = await deps.db
    .select({ id: jobs.id })
    .from(jobs)
    .where(and(inArray(jobs.status, ACTIVE_STATUSES), stuck))
    .limit(limit);
  let failed = 0;
  for (const { id } of candidates) {
    const row = await deps.db.transaction(async (tx) => {
      const [job] = await tx.select().from(jobs).where(and(eq(jobs.id, id), stuck)).for('update');
      if (!job) return null;
      return endWithRefund(
        tx,
        job,
        'failed',
        `No result from the worker within ${job.expectedGenerationTime + grace} s; your credits were refunded. Queue the job again.`,
        { timed_out: true },
      );
    });
    if (!row) continue;
    failed++;
    await publishJob(deps, await viewOf(deps.db, row));
  }
  return failed;
}

export interface Sweeper {
  close(): Promise<void>;
}

/**
 * Periodic work: re-owes jobs a restarted queue lost, pushes owed jobs and
 * ends stuck ones. Runs at once (a restarted process recovers without
 * waiting an interval), then every `intervalMs`; passes never overlap.
 */
export function startSweeper(deps: Deps, intervalMs: number): Sweeper {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= (async () => {
      try {
        await requeueLostJobs(deps);
        await dispatchOwedJobs(deps);
        await failStuckJobs(deps);
      } catch (err) {
        deps.logger.warn({ err: String(err) }, 'sweep failed; retrying on the next interval');
      } finally {
        running = null;
      }
    })();
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
