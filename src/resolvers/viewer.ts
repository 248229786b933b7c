import { and, eq, type SQL } from 'drizzle-orm';
import { jobs } from '../db/schema.js';

/** A user, or an admin acting on every user's jobs (http-contract.md "Tokens"). */
export interface Viewer {
  id: string;
  admin: boolean;
}

/** The job `id` if the viewer may see it: own jobs only (admins: any). Someone else's job is indistinguishable from a missing one. */
export function visibleJob(viewer: Viewer, id: string): SQL | undefined {
  return viewer.admin ? eq(jobs.id, id) : and(eq(jobs.id, id), eq(jobs.userId, viewer.id));
}
