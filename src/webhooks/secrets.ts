import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { webhookSecrets } from '../db/schema.js';

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes (the HMAC-SHA256 key). */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The user's signing secret, created on first use; concurrent first uses agree on one. */
export async function signingSecretOf(db: DbOrTx, userId: string): Promise<string> {
  // Read first: every delivery asks, and only the very first may need to write.
  const read = async () =>
    (await db.select({ secret: webhookSecrets.secret }).from(webhookSecrets).where(eq(webhookSecrets.userId, userId)))[0]?.secret;
  const existing = await read();
  if (existing) return existing;
  await db.insert(webhookSecrets).values({ userId, secret: newSigningSecret() }).onConflictDoNothing();
  return (await read())!;
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
