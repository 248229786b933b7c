/**
 * queueJob's group commit: concurrent queueJob calls are written by one
 * transaction of two fixed-text statements (per-user advisory locks, then one
 * multi-row statement that debits, inserts the jobs, their outputs and usage
 * logs), instead of one transaction each. Most of a queueJob's cost was the
 * round trips and per-statement work, not the rows.
 *
 * Each request keeps its own outcome: a user whose credits are short or who
 * is at MAX_ACTIVE_JOBS_PER_USER gets no row back and nothing of theirs is
 * written (the rows of a job hang off its user's debit), while the rest of
 * the group commits. A statement error (a unique violation: an idempotency
 * key or client-chosen output id already used) rolls the whole group back;
 * its requests are then written one by one, so only the request that caused
 * it sees it.
 *
 * Latency stays bounded: a group is flushed at once when no other is being
 * written, else when it reaches MAX_GROUP jobs or after MAX_WAIT_MS.
 */
import { getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/client.js';
import { runPipelined } from '../db/pipeline.js';
import { rowFrom } from '../db/statements.js';
import { images, jobs, usageLogs, videos, type JobRow } from '../db/schema.js';

const MAX_GROUP = 64;
const MAX_WAIT_MS = 2;
/**
 * A group's transaction not settled by then fails its requests. When
 * PostgreSQL crashes under a transaction, the driver has been seen to leave
 * it waiting forever (about one crash drill in six in
 * test/integration/postgres-restart.test.ts); a request must not wait with
 * it. Had that transaction committed after all, its jobs are there and run
 * as any other (a retry with the same idempotencyKey finds them).
 */
const WRITE_DEADLINE_MS = 20_000;

type JobInsert = typeof jobs.$inferInsert;
type ImageInsert = typeof images.$inferInsert;
type VideoInsert = typeof videos.$inferInsert;
type UsageInsert = typeof usageLogs.$inferInsert;

/** The columns queueJob writes, in the statement's order. */
const JOB_KEYS = [
  'id', 'userId', 'jobType', 'format', 'quality', 'status', 'prompt', 'negativePrompt', 'seed', 'numImages',
  'references', 'projectId', 'videoId', 'imageId', 'idempotencyKey', 'creditCost', 'expectedGenerationTime',
  'metadata', 'payload', 'queue', 'queuedAt', 'payloadId', 'maxAttempts', 'webhook', 'webhookEvents', 'createdAt', 'updatedAt',
] as const satisfies readonly (keyof JobInsert)[];
const IMAGE_KEYS = ['id', 'jobId', 'userId', 'imageIndex', 'bucket', 'status', 'metadata', 'createdAt', 'updatedAt'] as const satisfies readonly (keyof ImageInsert)[];
const VIDEO_KEYS = ['id', 'jobId', 'userId', 'bucket', 'status', 'metadata', 'createdAt', 'updatedAt'] as const satisfies readonly (keyof VideoInsert)[];
const USAGE_KEYS = ['id', 'userId', 'action', 'creditsConsumed', 'metadata', 'createdAt'] as const satisfies readonly (keyof UsageInsert)[];

export interface JobToCommit {
  job: Required<Pick<JobInsert, (typeof JOB_KEYS)[number]>>;
  images: Required<Pick<ImageInsert, (typeof IMAGE_KEYS)[number]>>[];
  videos: Required<Pick<VideoInsert, (typeof VIDEO_KEYS)[number]>>[];
  usage: Required<Pick<UsageInsert, (typeof USAGE_KEYS)[number]>>;
  /** STARTING_CREDITS (a user's balance on first sight) and MAX_ACTIVE_JOBS_PER_USER. */
  startingCredits: number;
  maxActive: number;
}

type Column = { name: string; getSQLType(): string; mapToDriverValue(v: unknown): unknown };

/** `jsonb_to_recordset` over one array of the document: the table's column names and SQL types, from Drizzle. */
function recordset(table: PgTable, keys: readonly string[], path: string, extra = ''): { names: string; from: string } {
  const columns = getTableColumns(table) as Record<string, Column>;
  const names = keys.map((k) => `"${columns[k]!.name}"`).join(', ');
  const defs = keys.map((k) => `"${columns[k]!.name}" ${columns[k]!.getSQLType()}`).join(', ');
  return { names, from: `jsonb_to_recordset(($1::text)::jsonb -> '${path}') as x(${defs}${extra})` };
}

/** A row as the recordset reads it: driver values, except jsonb columns, which stay JSON in the document. */
function encode(table: PgTable, keys: readonly string[], row: Record<string, unknown>): Record<string, unknown> {
  const columns = getTableColumns(table) as Record<string, Column>;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const column = columns[k]!;
    const value = row[k];
    out[column.name] = value === null || value === undefined ? null : column.getSQLType() === 'jsonb' ? value : column.mapToDriverValue(value);
  }
  return out;
}

// The active-jobs limit counts the user's jobs, which races unless the same user's queueJob calls take turns:
// a per-user advisory lock (the key queueJob has always used), taken in one order by every group so two
// groups cannot deadlock, and held to COMMIT. The insert statement runs after it, so its snapshot sees
// every job the user's earlier calls committed.
const LOCK_STATEMENT = `select count(pg_advisory_xact_lock(k)) from (
  select distinct hashtextextended('active-jobs:' || u, 0) as k from jsonb_array_elements_text(($1::text)::jsonb) u order by k offset 0
) s`;

const J = recordset(jobs, JOB_KEYS, 'jobs');
const I = recordset(images, IMAGE_KEYS, 'images');
const V = recordset(videos, VIDEO_KEYS, 'videos');
const U = recordset(usageLogs, USAGE_KEYS, 'usage', ', job_id uuid');

// The debit upserts the user (created on first sight with STARTING_CREDITS) and takes the job's cost only
// when the credits suffice and the user has room under the limit; a user without that row gets no job,
// outputs or usage log. A group holds at most one job per user, so no row is upserted twice.
const INSERT_STATEMENT = `with req as (
    select * from jsonb_to_recordset(($1::text)::jsonb -> 'debits') as r(user_id uuid, cost int, start int, max_active int)
  ),
  debit as (
    insert into users (id, credits)
      select r.user_id, r.start - r.cost from req r
      where (select count(*) from jobs j where j.user_id = r.user_id and j.status in ('queued', 'processing')) < r.max_active
        and (r.start >= r.cost or exists (select 1 from users u where u.id = r.user_id))
    on conflict (id) do update set credits = users.credits - (select r.cost from req r where r.user_id = excluded.id)
      where users.credits >= (select r.cost from req r where r.user_id = excluded.id)
    returning id
  ),
  job as (
    insert into jobs (${J.names}) select ${J.names} from ${J.from} where x.user_id in (select id from debit) returning *
  ),
  image as (
    insert into images (${I.names}) select ${I.names} from ${I.from} where x.job_id in (select id from job)
  ),
  video as (
    insert into videos (${V.names}) select ${V.names} from ${V.from} where x.job_id in (select id from job)
  ),
  usage as (
    insert into usage_logs (${U.names}) select ${U.names} from ${U.from} where x.job_id in (select id from job)
  )
  select * from job`;

// The queue length each caller is told: its queue's untaken waiting jobs (fairOrder's waitingCount), read
// inside the transaction, so after this group's jobs and with no extra round trip. It sums the queue's
// per-user lines (kept by the jobs trigger in this same transaction) rather than counting its waiting jobs:
// one row per waiting user instead of one per waiting job.
const COUNT_STATEMENT = `select queue, sum(waiting)::int as n from queue_lines
  where queue in (select jsonb_array_elements_text(($1::text)::jsonb))
  group by queue`;

/** The statements one group sends (exported for the benchmark, which runs them with pgbench). */
export function groupStatements(group: JobToCommit[]): Record<'lock' | 'insert' | 'count', { text: string; params: string[] }> {
  const doc = {
    debits: group.map((g) => ({ user_id: g.job.userId, cost: g.job.creditCost, start: g.startingCredits, max_active: g.maxActive })),
    jobs: group.map((g) => encode(jobs, JOB_KEYS, g.job)),
    images: group.flatMap((g) => g.images.map((r) => encode(images, IMAGE_KEYS, r))),
    videos: group.flatMap((g) => g.videos.map((r) => encode(videos, VIDEO_KEYS, r))),
    usage: group.map((g) => ({ ...encode(usageLogs, USAGE_KEYS, g.usage), job_id: g.job.id })),
  };
  return {
    lock: { text: LOCK_STATEMENT, params: [JSON.stringify(group.map((g) => g.job.userId))] },
    insert: { text: INSERT_STATEMENT, params: [JSON.stringify(doc)] },
    count: { text: COUNT_STATEMENT, params: [JSON.stringify([...new Set(group.map((g) => g.job.queue))])] },
  };
}

/** The job as written and its queue's waiting jobs after the commit, or null when refused. */
export type Committed = { row: JobRow; queueLength: number } | null;

interface Pending {
  job: JobToCommit;
  resolve(committed: Committed): void;
  reject(err: unknown): void;
}

class GroupCommit {
  private pending: Pending[] = [];
  private writing = 0;
  private immediate = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly db: Db) {}

  submit(job: JobToCommit): Promise<Committed> {
    return new Promise((resolve, reject) => {
      this.pending.push({ job, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.pending.length === 0) return;
    if (this.writing === 0 || this.pending.length >= MAX_GROUP) {
      // Still gather every call that arrives in this turn of the event loop.
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(() => {
          this.immediate = false;
          this.flush();
        });
      }
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = null;
        this.flush();
      }, MAX_WAIT_MS);
    }
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0) return;
    const group: Pending[] = [];
    const rest: Pending[] = [];
    const users = new Set<string>();
    for (const p of this.pending) {
      // A user's second call waits for the next group (it must see the first one's job anyway).
      if (group.length < MAX_GROUP && !users.has(p.job.job.userId)) {
        users.add(p.job.job.userId);
        group.push(p);
      } else rest.push(p);
    }
    this.pending = rest;
    this.writing++;
    void this.write(group).finally(() => {
      this.writing--;
      this.schedule();
    });
    this.schedule();
  }

  private async write(group: Pending[]): Promise<void> {
    let rows: Record<string, unknown>[];
    let counts: Record<string, unknown>[];
    try {
      const { lock, insert, count } = groupStatements(group.map((p) => p.job));
      [, rows = [], counts = []] = await withinDeadline(runPipelined(this.db, [lock, insert, count]));
    } catch (err) {
      if (group.length > 1 && isDataError(err)) {
        // Nothing was written; alone, each request meets only its own error.
        await Promise.all(group.map((p) => this.write([p])));
      } else {
        for (const p of group) p.reject(err);
      }
      return;
    }
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    const waiting = new Map(counts.map((c) => [c.queue as string, Number(c.n)]));
    for (const p of group) {
      const raw = byId.get(p.job.job.id);
      p.resolve(raw ? { row: rowFrom(jobs, raw), queueLength: waiting.get(p.job.job.queue) ?? 0 } : null);
    }
  }
}

function withinDeadline<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`PostgreSQL did not finish queueJob's transaction within ${WRITE_DEADLINE_MS / 1000} s`)), WRITE_DEADLINE_MS);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/** A constraint violation or bad value in the statement (SQLSTATE classes 22 and 23), as opposed to a lost connection. */
function isDataError(err: unknown): boolean {
  type PgError = { code?: unknown; cause?: unknown };
  for (let e = err as PgError | undefined; e; e = e.cause as PgError | undefined) {
    if (typeof e.code === 'string' && /^2[23]/.test(e.code)) return true;
  }
  return false;
}

const committers = new WeakMap<Db, GroupCommit>();

/**
 * Writes a queued job with the calls around it. Resolves to the job row as
 * written and its queue's length, or null when the user is at the active-job limit or short of
 * credits (then nothing was written for it); rejects with the statement's
 * own error for this request.
 */
export function commitJob(db: Db, job: JobToCommit): Promise<Committed> {
  let committer = committers.get(db);
  if (!committer) committers.set(db, (committer = new GroupCommit(db)));
  return committer.submit(job);
}
