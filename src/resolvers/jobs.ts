import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import { jobs, users } from '../db/schema.js';
import { attemptPayload } from './attempts.js';
import type { Deps } from './deps.js';
import { badInput, DomainError, notFound } from './errors.js';
import { viewOf, viewsOf, type JobView } from './jobView.js';
import { publishJob } from './publish.js';
import { endWithRefund } from './refund.js';

/** A user, or an admin acting on every user's jobs (http-contract.md "Tokens"). */
export interface Viewer {
  id: string;
  admin: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Own jobs only (admins: any). Someone else's job is indistinguishable from a missing one. */
function visible(viewer: Viewer, id: string): SQL | undefined {
  return viewer.admin ? eq(jobs.id, id) : and(eq(jobs.id, id), eq(jobs.userId, viewer.id));
}

export async function getJob(deps: Deps, viewer: Viewer, id: string): Promise<JobView | null> {
  if (!UUID.test(id)) return null;
  const [row] = await deps.db.select().from(jobs).where(visible(viewer, id.toLowerCase()));
  return row ? viewOf(deps.db, row) : null;
}

export interface JobPage {
  edges: { cursor: string; node: JobView }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Cursor dates are job creation times: anything outside 1970..9999 is forged. */
const CURSOR_MIN_MS = 0;
const CURSOR_MAX_MS = Date.UTC(10000, 0, 1);

const encodeCursor = (j: JobView) => Buffer.from(JSON.stringify([j.createdAt, j.id])).toString('base64url');

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const d = new Date(createdAt);
    // JavaScript dates reach years ±275,760 but PostgreSQL's timestamptz does
    // not (and ISO strings past 9999 are not valid input for it): a forged
    // cursor must be refused here, not fail inside the query as a 500.
    if (typeof createdAt !== 'string' || !(d.getTime() >= CURSOR_MIN_MS && d.getTime() < CURSOR_MAX_MS) || typeof id !== 'string' || !UUID.test(id)) {
      throw new Error('bad cursor');
    }
    return { createdAt: d, id };
  } catch {
    throw badInput('Invalid "after" cursor: pass an endCursor or edge cursor returned by jobs.');
  }
}

/** The viewer's own jobs, newest first, with opaque keyset cursors. */
export async function listJobs(
  deps: Deps,
  viewer: Viewer,
  args: { first?: number | null; after?: string | null; status?: string | null; format?: string | null },
): Promise<JobPage> {
  const first = args.first ?? 20;
  if (!Number.isInteger(first) || first < 1 || first > 100) throw badInput('first must be between 1 and 100.');
  const conds: (SQL | undefined)[] = [eq(jobs.userId, viewer.id)];
  if (args.status) conds.push(eq(jobs.status, args.status));
  if (args.format) conds.push(eq(jobs.format, args.format));
  if (args.after) {
    const c = decodeCursor(args.after);
    conds.push(or(lt(jobs.createdAt, c.createdAt), and(eq(jobs.createdAt, c.createdAt), lt(jobs.id, c.id))));
  }
  const rows = await deps.db
    .select()
    .from(jobs)
    .where(and(...conds))
    .orderBy(desc(jobs.createdAt), desc(jobs.id))
    .limit(first + 1);
  const views = await viewsOf(deps.db, rows.slice(0, first));
  const edges = views.map((node) => ({ cursor: encodeCursor(node), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** The viewer's account, created with the starting credits on first sight. */
export async function getAccount(deps: Deps, viewerId: string): Promise<{ id: string; credits: number }> {
  const [existing] = await deps.db.select().from(users).where(eq(users.id, viewerId));
  if (existing) return { id: existing.id, credits: existing.credits };
  await deps.db.insert(users).values({ id: viewerId, credits: deps.settings.startingCredits }).onConflictDoNothing();
  const [row] = await deps.db.select().from(users).where(eq(users.id, viewerId));
  return { id: row.id, credits: row.credits };
}

/** Cancels a queued or processing job and refunds it; the payload is taken off its queue when still there. */
export async function cancelJob(deps: Deps, viewer: Viewer, id: string): Promise<JobView> {
  const missing = () => notFound(`Job ${id} not found. Check the id; you can only cancel your own jobs.`);
  if (!UUID.test(id)) throw missing();
  const row = await deps.db.transaction(async (tx) => {
    const [job] = await tx.select().from(jobs).where(visible(viewer, id.toLowerCase())).for('update');
    if (!job) throw missing();
    if (job.status !== 'queued' && job.status !== 'processing') {
      throw new DomainError(
        'BAD_USER_INPUT',
        `Job ${id} is already ${job.status}; only queued or processing jobs can be cancelled.`,
        { status: job.status },
      );
    }
    return endWithRefund(tx, job, 'cancelled', null, { cancelled_at: new Date().toISOString() });
  });
  // Best effort: a payload left in the Redis window is removed by the window keeper, and never handed out by /rpop.
  await deps.queue.remove(row.queue, attemptPayload(row)).catch(() => 0);
  deps.scheduler.changed(row.queue);
  const view = await viewOf(deps.db, row);
  await publishJob(deps, view);
  return view;
}
