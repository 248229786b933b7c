import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';

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
 * the sort; `pickNext` takes its first element without sorting anything:
 * the oldest untaken job of a user with nothing running, if there is one,
 * else the best head among the (few) users that have jobs running.
 *
 * Cost of `pickNext`: an index scan of the running jobs (bounded by the
 * fleet's size), an index scan of untaken jobs oldest first that stops at
 * the first user with nothing running, and one index probe per busy user.
 * It does not grow with the number of waiting jobs unless the oldest ones
 * all belong to users with jobs running.
 */

/** Not taken yet (waiting in the database, or in the Redis window); `t` is the jobs table's alias. */
export const untaken = (t = 'jobs') => sql.raw(`${t}.status = 'queued' and ${t}.picked_at is null`);
/** Taken by a worker and not finished. */
export const running = (t = 'jobs') => sql.raw(`${t}.status in ('queued', 'processing') and ${t}.picked_at is not null`);

export interface PickOptions {
  /** Jobs to leave out (already chosen in this pass). */
  exclude?: string[];
  /** Users to count as having this many more jobs running (chosen in this pass). */
  extra?: Map<string, number>;
  /**
   * Pass over rows another transaction holds instead of waiting for it.
   * /rpop waits (a few ms: the holder is another pop or a window pass), so
   * concurrent pops still follow the order exactly; the window pass skips,
   * so it never waits on a pop and the two cannot deadlock.
   */
  skipLocked?: boolean;
}

/**
 * The CTE `ranked(id, rk)`: up to `limit` untaken jobs of `queue`, the fair
 * order's head first. Further candidates are only fallbacks for concurrent
 * pickers (SKIP LOCKED): the next-oldest jobs of users with nothing running,
 * not the exact order.
 */
function candidates(queue: string, limit: number, opts: PickOptions): SQL {
  const exclude = opts.exclude?.length ? sql` and j.id <> all(${sqlUuidArray(opts.exclude)})` : sql``;
  const extra = [...(opts.extra ?? new Map<string, number>())];
  const extraRows = extra.length
    ? sql` union all select * from (values ${sql.join(
        extra.map(([user, n]) => sql`(${user}::uuid, ${n}::int)`),
        sql`, `,
      )}) as e(user_id, n)`
    : sql``;
  return sql`busy as (
      select user_id, sum(n)::int as n from (
        select user_id, count(*)::int as n from jobs where queue = ${queue} and ${running()} group by user_id
        ${extraRows}
      ) b group by user_id
    ),
    fresh as (
      select j.id, 0 as n, j.queued_at from jobs j
      where j.queue = ${queue} and ${untaken('j')}${exclude}
        and not exists (select 1 from busy b where b.user_id = j.user_id)
      order by j.queued_at, j.id
      limit ${limit}
    ),
    heads as (
      select h.id, b.n, h.queued_at from busy b
      cross join lateral (
        select id, queued_at from jobs j
        where j.queue = ${queue} and j.user_id = b.user_id and ${untaken('j')}${exclude}
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
 * Locks and returns the next untaken job of `queue` in fair order (it may be
 * in the Redis window: `dispatchedAt` set). A row that another transaction
 * takes meanwhile is re-checked once its lock is released and passed over
 * if it was taken.
 * Must run inside a transaction, which then owns the row until it commits.
 * Null when nothing waits.
 */
export async function pickNext(tx: DbOrTx, queue: string, opts: PickOptions = {}): Promise<{ id: string; userId: string; windowed: boolean } | null> {
  const rows = rowsOf<{ id: string; user_id: string; windowed: boolean }>(
    await tx.execute(sql`with ${candidates(queue, 8, opts)}
      select j.id, j.user_id, j.dispatched_at is not null as windowed from jobs j join ranked r on r.id = j.id
      where ${untaken('j')}
      order by r.rk
      limit 1
      for update of j${opts.skipLocked ? sql` skip locked` : sql``}`),
  );
  const row = rows[0];
  return row ? { id: row.id, userId: row.user_id, windowed: row.windowed } : null;
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
  const [row] = rowsOf<{ n: string | number }>(
    await db.execute(sql`select count(*) as n from jobs where queue = ${queue} and status = 'queued' and picked_at is null`),
  );
  return Number(row?.n ?? 0);
}
