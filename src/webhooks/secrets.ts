import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { webhookSecrets } from '../db/schema.js';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the HMAC-SHA256 key). */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The user's signing secret, created on first use; concurrent first uses agree on one. */
export async function signingSecretOf(db: DbOrTx, userId: string): Promise<string> {
  const [row] = await db
    .insert(webhookSecrets)
    .values({ userId, secret: newSigningSecret() })
    // A no-op update makes RETURNING give the existing row too (DO NOTHING returns nothing).
    .onConflictDoUpdate({ target: webhookSecrets.userId, set: { secret: sql`${webhookSecrets.secret}` } })
    .returning({ secret: webhookSecrets.secret });
  return row.secret;
}

/** Replaces the user's secret. Deliveries are signed when they are sent, so every later attempt uses the new one. */
export async function rotateSigningSecret(db: DbOrTx, userId: string): Promise<string> {
  const secret = newSigningSecret();
  await db
    .insert(webhookSecrets)
    .values({ userId, secret })
    .onConflictDoUpdate({ target: webhookSecrets.userId, set: { secret, createdAt: new Date() } });
  const [row] = await db.select({ secret: webhookSecrets.secret }).from(webhookSecrets).where(eq(webhookSecrets.userId, userId));
  return row.secret;
}
