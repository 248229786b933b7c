import { and, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { requeueForAnotherAttempt } from './attempts.js';
import { ACTIVE_STATUSES } from '../vocabulary.js';
import type { Deps } from './deps.js';
import { viewOf } from './jobView.js';
import { publishJob } from './publish.js';
import { endWithRefund } from './refund.js';

/**
 * Gives up on attempts whose worker went silent: the fleet sends no
 * heartbeat and a crashed worker sends nothing, so an attempt with no sign
 * of life (taken, or a `processing` callback) for the job's expected time +
 * JOB_TIMEOUT_GRACE is abandoned. The job goes back to the front of its
 * owner's line while attempts remain (MAX_ATTEMPTS); otherwise it fails and
 * is refunded. Safe with several instances: each job is re-checked under a
 * row lock.
 */
export async function abandonSilentAttempts(deps: Deps, limit = 100): Promise<number> {
  const grace = deps.settings.jobTimeoutGrace;
  const silent = and(
    inArray(jobs.status, ['queued', 'processing']),
    isNotNull(jobs.pickedAt),
    lt(sql`coalesce(${jobs.lastSeenAt}, ${jobs.pickedAt}) + (${jobs.expectedGenerationTime} + ${grace}) * interval '1 second'`, sql`now()`),
  );
  const candidates = await deps.db.select({ id: jobs.id }).from(jobs).where(silent).limit(limit);
  let ended = 0;
  for (const { id } of candidates) {
    const row = await deps.db.transaction(async (tx) => {
      const [job] = await tx.select().from(jobs).where(and(sql`${jobs.id} = ${id}`, silent)).for('update', { skipLocked: true });
      if (!job) return null;
      const limitSeconds = job.expectedGenerationTime + grace;
      if (job.attempts < job.maxAttempts) {
        return requeueForAnotherAttempt(tx, job, 'abandoned', `No word from the worker within ${limitSeconds} s; handed to another worker.`);
      }
      return endWithRefund(
        tx,
        job,
        'failed',
        `No result from the worker within ${limitSeconds} s, on ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}; your credits were refunded. Retry the job (retryJob) or queue it again.`,
        { timed_out: true },
        'abandoned',
      );
    });
    if (!row) continue;
    ended++;
    deps.scheduler.changed(row.queue);
    await publishJob(deps, await viewOf(deps.db, row));
  }
  return ended;
}

export interface Sweeper {
  close(): Promise<void>;
}

/**
 * Periodic work: abandons silent attempts. Runs at once (a restarted process
 * recovers without waiting an interval), then every `intervalMs`; passes
 * never overlap. (The Redis window has its own, faster loop: scheduler.ts.)
 */
export function startSweeper(deps: Deps, intervalMs: number): Sweeper {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= (async () => {
      try {
        await abandonSilentAttempts(deps);
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
