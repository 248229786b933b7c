import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';

/**
 * The fair order of one worker queue, in SQL.
 *
 * The policy: the next job goes to the user with the fewest jobs currently
 * running (taken by a worker, not finished) or in the window (pushed to the
 * Redis list the fleet may RPOP directly); among users with equally few, to
 * the oldest waiting job (`queued_at`, then id). Jobs already in the window
 * are ahead of every waiting job, in the order they were pushed.
 *
 * Why this order is cheap to compute and to predict: giving a job to a user
 * raises that user's count by one, so handing out one job at a time by the
 * rule is the same as sorting all waiting jobs by the key
 *   (user's count now + the job's rank among the user's waiting jobs - 1, queued_at, id)
 * (each user's jobs have strictly increasing first components, so the greedy
 * choice is a merge of sorted runs). `positionsOf` uses that sort; `pickNext`
 * takes its first element without sorting anything: the first element is the
 * oldest waiting job of a user with no running/windowed job, if there is
 * one, else the best head among the (few) users that have some.
 *
 * Cost of `pickNext`: an index scan of the few running/windowed jobs, an
 * index scan of waiting jobs oldest first that stops at the first user
 * without a running job, and one index probe per busy user. It does not
 * grow with the number of waiting jobs unless the oldest waiting jobs all
 * belong to busy users.
 */

/** A job waiting in the database only (not taken, not in the window); `t` is the jobs table's alias. */
export const waiting = (t = 'jobs') => sql.raw(`${t}.status = 'queued' and ${t}.picked_at is null and ${t}.dispatched_at is null`);
/** A job that counts against its user: taken and unfinished, or in the window. */
export const busy = (t = 'jobs') =>
  sql.raw(`${t}.status in ('queued', 'processing') and (${t}.picked_at is not null or ${t}.dispatched_at is not null)`);
/** In the window: pushed to the Redis list, not yet taken. */
export const windowed = (t = 'jobs') => sql.raw(`${t}.status = 'queued' and ${t}.picked_at is null and ${t}.dispatched_at is not null`);

/**
 * The CTEs `busy(user_id, n)` and `ranked(id, rk)`: up to `limit` waiting
 * jobs of `queue`, the fair order's head first. Further candidates are only
 * fallbacks for concurrent pickers (SKIP LOCKED): they are the next-oldest
 * jobs of users with no running job, not the exact order.
 */
function candidates(queue: string, limit: number): SQL {
  return sql`busy as (
      select user_id, count(*)::int as n from jobs where queue = ${queue} and ${busy()} group by user_id
    ),
    fresh as (
      select j.id, 0 as n, j.queued_at from jobs j
      where j.queue = ${queue} and ${waiting('j')}
        and not exists (select 1 from busy b where b.user_id = j.user_id)
      order by j.queued_at, j.id
      limit ${limit}
    ),
    heads as (
      select h.id, b.n, h.queued_at from busy b
      cross join lateral (
        select id, queued_at from jobs j
        where j.queue = ${queue} and j.user_id = b.user_id and ${waiting('j')}
        order by j.queued_at, j.id
        limit 1
      ) h
    ),
    ranked as (
      select id, row_number() over (order by n, queued_at, id) as rk
      from (select * from fresh union all select * from heads) c
      order by n, queued_at, id
      limit ${limit}
    )`;
}

/** postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? [])) as T[];
}

/**
 * Locks and returns the id of the next waiting job of `queue` in fair order,
 * skipping rows another transaction holds (another instance taking or
 * windowing them at this moment). Must run inside a transaction, which then
 * owns the row until it commits. Null when nothing waits.
 */
export async function pickNext(tx: DbOrTx, queue: string): Promise<string | null> {
  const rows = rowsOf<{ id: string }>(
    await tx.execute(sql`with ${candidates(queue, 8)}
      select j.id from jobs j join ranked r on r.id = j.id
      where ${waiting('j')}
      order by r.rk
      limit 1
      for update of j skip locked`),
  );
  return rows[0]?.id ?? null;
}

/**
 * The exact fair-order place (1 = next) of each of `ids` that is waiting or
 * windowed in `queue`. One pass over the queue's waiting jobs, whatever the
 * number of ids: callers batch (a page of jobs, every watched job).
 */
export async function positionsOf(db: DbOrTx, queue: string, ids: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (ids.length === 0) return out;
  const rows = rowsOf<{ id: string; position: string | number }>(
    await db.execute(sql`with busy as (
        select user_id, count(*)::int as n from jobs where queue = ${queue} and ${busy()} group by user_id
      ),
      win as (
        select id, row_number() over (order by dispatched_at, id) as position from jobs
        where queue = ${queue} and ${windowed()}
      ),
      waiting as (
        select j.id, j.queued_at,
          coalesce(b.n, 0) + row_number() over (partition by j.user_id order by j.queued_at, j.id) - 1 as lvl
        from jobs j left join busy b on b.user_id = j.user_id
        where j.queue = ${queue} and ${waiting('j')}
      ),
      ordered as (
        select id, (select count(*) from win) + row_number() over (order by lvl, queued_at, id) as position from waiting
      )
      select id, position from win where id = any(${sqlUuidArray(ids)})
      union all
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
  const [row] = rowsOf<{ n: string | number }>(
    await db.execute(sql`select count(*) as n from jobs where queue = ${queue} and status = 'queued' and picked_at is null`),
  );
  return Number(row?.n ?? 0);
}
