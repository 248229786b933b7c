import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm';
import { jobs } from '../db/schema.js';
import { isUuid, type JobStatus, type MediaFormat } from '../vocabulary.js';
import type { Deps } from './deps.js';
import { badInput } from './errors.js';
import { viewOf, viewsOf, type JobView } from './jobView.js';
import { visibleJob, type Viewer } from './viewer.js';

/** One job, or null when it does not exist or the viewer may not see it. */
export async function getJob(deps: Deps, viewer: Viewer, id: string): Promise<JobView | null> {
  if (!isUuid(id)) return null;
  const [row] = await deps.db.select().from(jobs).where(visibleJob(viewer, id.toLowerCase()));
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
    if (typeof createdAt !== 'string' || !(d.getTime() >= CURSOR_MIN_MS && d.getTime() < CURSOR_MAX_MS) || !isUuid(id)) {
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
  args: { first?: number | null; after?: string | null; status?: JobStatus | null; format?: MediaFormat | null },
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
