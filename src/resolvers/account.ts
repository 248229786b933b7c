import { eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import type { Deps } from './deps.js';

/** The viewer's account, created with the starting credits on first sight. */
export async function getAccount(deps: Deps, viewerId: string): Promise<{ id: string; credits: number }> {
  const [existing] = await deps.db.select().from(users).where(eq(users.id, viewerId));
  if (existing) return { id: existing.id, credits: existing.credits };
  await deps.db.insert(users).values({ id: viewerId, credits: deps.settings.startingCredits }).onConflictDoNothing();
  const [row] = await deps.db.select().from(users).where(eq(users.id, viewerId));
  return { id: row.id, credits: row.credits };
}
