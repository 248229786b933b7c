import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { jobs, type JobRow } from '../db/schema.js';
import { rowFrom } from '../db/statements.js';

/**
 * The fair order of one worker queue, in SQL.
 *
 * The policy: the next job goes to the user with the fewest jobs currently
 * running (taken by a worker, not finished) or ahead of it in the Redis
 * window; among users with equally few, to the oldest waiting job
 * (`queued_at`, then id).
 *
 * Why this order is cheap to compute and to predict: handing a user a job
 * raises that user's count by one, so handing out one job at a time by the
 * rule is the same as sorting all untaken jobs by the key
 *   (user's running jobs + the job's rank among the user's untaken jobs - 1, queued_at, id)
 * (each user's keys strictly increase, so the greedy choice is a merge of
 * sorted runs). The Redis window is kept equal to the first few elements of
 * that sort (window.ts), so "running or in the window" and "running, plus
 * the jobs ahead of it in this sort" are the same count. `positionsOf` uses
 * the sort.
 *
 * The head of each user's run is kept in `queue_lines` (one row per queue
 * and user with jobs waiting or running: the running count and the oldest
 * untaken job), which a trigger on `jobs` updates in the transaction that
 * changes a job (drizzle/0006_queue_lines.sql). The sort's first element is
 * the first row of `queue_lines_next_idx`: `pickNext` costs one index probe
 * and one row lock, whatever the backlog and however many users are busy.
 */

/** Not taken yet (waiting in the database, or in the Redis window); `t` is the jobs table's alias. */
export const untaken = (t = 'jobs') => sql.raw(`${t}.status = 'queued' and ${t}.picked_at is null`);
/** Taken by a worker and not finished. */
export const running = (t = 'jobs') => sql.raw(`${t}.status in ('queued', 'processing') and ${t}.picked_at is not null`);

/**
 * Lines' heads looked at per pick: the first is taken unless a concurrent
 * transaction took it meanwhile, so a few suffice.
 */
const HEADS = 16;

/**
 * Locks and returns the next untaken job of `queue` in fair order (it may be
 * in the Redis window: `dispatchedAt` set). A head another transaction holds (a
 * concurrent pop on any instance; the window keeper while it pushes that
 * job, a few milliseconds) is waited for, re-checked when released, and
 * passed over if it was taken: concurrent pops follow the order. Must run
 * inside a transaction, which then owns the row until it commits. Null when
 * nothing waits. `exclude`: jobs to pass over (windowed jobs while Redis is
 * away).
 */
export async function pickNext(tx: DbOrTx, queue: string, exclude: string[] = []): Promise<JobRow | null> {
  const without = exclude.length ? sql` and head_id <> all(${sqlUuidArray(exclude)})` : sql``;
  const rows = rowsOf<Record<string, unknown>>(
    await tx.execute(sql`select j.*
      from (
        select head_id, running, head_queued_at from queue_lines
        where queue = ${queue} and head_id is not null${without}
        order by running, head_queued_at, head_id
        limit ${HEADS}
      ) l
      join jobs j on j.id = l.head_id
      where ${untaken('j')}
      order by l.running, l.head_queued_at, l.head_id
      limit 1
      for update of j`),
  );
  return rows[0] ? rowFrom(jobs, rows[0]) : null;
}

/** Whether any line of `queue` has a waiting job (other than `exclude`): a pick that found none lost a race. */
export async function waitingHeads(tx: DbOrTx, queue: string, exclude: string[] = []): Promise<boolean> {
  const without = exclude.length ? sql` and head_id <> all(${sqlUuidArray(exclude)})` : sql``;
  const rows = rowsOf(await tx.execute(sql`select 1 from queue_lines where queue = ${queue} and head_id is not null${without} limit 1`));
  return rows.length > 0;
}

/**
 * The ids of the first `k` untaken jobs of `queue` in fair order (for the
 * Redis window; not locked). Only the first `k` lines can contribute: each
 * of their heads comes before every job of a later line. So: up to `k` jobs
 * from each of them, merged by the order's key.
 */
export async function firstInOrder(tx: DbOrTx, queue: string, k: number): Promise<string[]> {
  if (k <= 0) return [];
  const rows = rowsOf<{ id: string }>(
    await tx.execute(sql`with lines as (
        select user_id, running from queue_lines
        where queue = ${queue} and head_id is not null
        order by running, head_queued_at, head_id
        limit ${k}
      ),
      candidates as (
        select w.id, w.queued_at, l.running + w.rank - 1 as level from lines l
        cross join lateral (
          select j.id, j.queued_at, row_number() over (order by j.queued_at, j.id) as rank from jobs j
          where j.queue = ${queue} and j.user_id = l.user_id and ${untaken('j')}
          order by j.queued_at, j.id
          limit ${k}
        ) w
      )
      select id from candidates
      order by level, queued_at, id
      limit ${k}`),
  );
  return rows.map((r) => r.id);
}

/** postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as T[];
}

/**
 * The exact fair-order place (1 = next) of each of `ids` that is untaken in
 * `queue`. One pass over the queue's waiting jobs, whatever the
 * number of ids: callers batch (a page of jobs, every watched job).
 */
export async function positionsOf(db: DbOrTx, queue: string, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = rowsOf<{ id: string; position: string | number }>(
    await db.execute(sql`with busy as (
        select user_id, count(*)::int as n from jobs where queue = ${queue} and ${running()} group by user_id
      ),
      waiting as (
        select j.id, j.queued_at,
          coalesce(b.n, 0) + row_number() over (partition by j.user_id order by j.queued_at, j.id) - 1 as lvl
        from jobs j left join busy b on b.user_id = j.user_id
        where j.queue = ${queue} and ${untaken('j')}
      ),
      ordered as (
        select id, row_number() over (order by lvl, queued_at, id) as position from waiting
      )
      select id, position from ordered where id = any(${sqlUuidArray(ids)})`),
  );
  for (const r of rows) out.set(r.id, Number(r.position));
  return out;
}

/** A uuid[] parameter that both drivers accept (a text literal cast, not a JS array binding). */
export function sqlUuidArray(ids: string[]): SQL {
  return sql`${`{${ids.join(',')}}`}::uuid[]`;
}

/** Jobs waiting (in the database or the window) in `queue`: what `/llen` and `queueLength` report. */
export async function waitingCount(db: DbOrTx, queue: string): Promise<number> {
  const [row] = rowsOf<{ n: string | number | null }>(await db.execute(sql`select sum(waiting) as n from queue_lines where queue = ${queue}`));
  return Number(row?.n ?? 0);
}
