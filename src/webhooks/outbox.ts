import { randomUUID } from 'node:crypto';
import { and, asc, eq, getTableColumns, inArray, isNull, lt, lte, notExists, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Db, DbOrTx } from '../db/client.js';
import { jobs, webhookDeliveries, webhookSecrets, type JobRow, type WebhookDeliveryRow } from '../db/schema.js';
import { MAX_ATTEMPTS, retryDelayMs } from './schedule.js';

/** The channel the outbox trigger notifies on commit (the `webhook_trigger` migration in drizzle/). */
export const WEBHOOK_CHANNEL = 'genjob_webhooks';

/** The job statuses a webhook can subscribe to, and what a job gets when it names none. */
export const WEBHOOK_EVENTS = ['processing', 'completed', 'failed', 'cancelled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
export const DEFAULT_WEBHOOK_EVENTS: readonly WebhookEvent[] = ['completed', 'failed', 'cancelled'];

/** A delivery as the API shows it. */
export type WebhookDeliveryView = Pick<
  WebhookDeliveryRow,
  'id' | 'jobId' | 'event' | 'status' | 'attempts' | 'responseStatus' | 'lastError' | 'lastAttemptAt' | 'nextAttemptAt' | 'createdAt' | 'deliveredAt'
>;

const viewColumns = {
  id: webhookDeliveries.id,
  jobId: webhookDeliveries.jobId,
  event: webhookDeliveries.event,
  status: webhookDeliveries.status,
  attempts: webhookDeliveries.attempts,
  responseStatus: webhookDeliveries.responseStatus,
  lastError: webhookDeliveries.lastError,
  lastAttemptAt: webhookDeliveries.lastAttemptAt,
  nextAttemptAt: webhookDeliveries.nextAttemptAt,
  createdAt: webhookDeliveries.createdAt,
  deliveredAt: webhookDeliveries.deliveredAt,
};

/** A delivery a dispatcher holds the lease on. */
export type ClaimedDelivery = Pick<
  WebhookDeliveryRow,
  'id' | 'jobId' | 'userId' | 'event' | 'url' | 'job' | 'attempts' | 'cycleAttempts' | 'createdAt'
> & {
  leaseToken: string;
  /** The owner's signing secret as of the claim; null when the owner has none yet. */
  secret: string | null;
};

const earlier = alias(webhookDeliveries, 'earlier');
/** No earlier delivery of the same job is still pending: deliveries of a job go out one at a time, in event order. */
const firstOfItsJob = (db: DbOrTx): SQL =>
  notExists(
    db
      .select({ one: sql`1` })
      .from(earlier)
      .where(and(eq(earlier.jobId, webhookDeliveries.jobId), lt(earlier.seq, webhookDeliveries.seq), eq(earlier.status, 'pending'))),
  );

/**
 * Claims up to `limit` due deliveries with a lease, like the job dispatch:
 * `FOR UPDATE SKIP LOCKED` lets every instance run a dispatcher without two
 * of them taking the same row, and a dispatcher that dies leaves rows that
 * come back when their lease runs out.
 */
export async function claimDue(db: Db, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const token = randomUUID();
  const due = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.status, 'pending'),
        lte(webhookDeliveries.nextAttemptAt, sql`now()`),
        or(isNull(webhookDeliveries.leaseUntil), lt(webhookDeliveries.leaseUntil, sql`now()`)),
        firstOfItsJob(db),
      ),
    )
    .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.seq))
    .limit(limit)
    .for('update', { skipLocked: true });
  const rows = await db
    .update(webhookDeliveries)
    .set({ leaseUntil: sql`now() + ${leaseMs} * interval '1 millisecond'`, leaseToken: token })
    .where(inArray(webhookDeliveries.id, due))
    .returning({
      id: webhookDeliveries.id,
      jobId: webhookDeliveries.jobId,
      userId: webhookDeliveries.userId,
      event: webhookDeliveries.event,
      url: webhookDeliveries.url,
      job: webhookDeliveries.job,
      attempts: webhookDeliveries.attempts,
      cycleAttempts: webhookDeliveries.cycleAttempts,
      createdAt: webhookDeliveries.createdAt,
      // Read in the same round trip: every send needs it.
      // Spelled out: drizzle drops table names from columns inside RETURNING, which would make this ambiguous.
      secret: sql<string | null>`(select s.secret from ${webhookSecrets} s where s.user_id = ${sql.raw('"webhook_deliveries"."user_id"')})`,
    });
  return rows.map((r) => ({ ...r, leaseToken: token }));
}

export interface AttemptOutcome {
  /** HTTP status of the answer; null when there was none. */
  status: number | null;
  /** Why it failed, for people (no secrets, no URL path or query); null on success. */
  error: string | null;
  at: Date;
}

/**
 * Records an attempt and decides what follows: delivered on a 2xx; otherwise
 * another attempt after a backoff, or failed once the schedule is used up.
 * Only the holder of the current lease may record (a redelivery in between
 * starts over and wins). Returns the new status, or null when the lease was lost.
 */
export async function recordAttempt(
  db: Db,
  claimed: ClaimedDelivery,
  outcome: AttemptOutcome,
  retryBaseSeconds: number,
): Promise<{ status: 'delivered' | 'pending' | 'failed'; nextAttemptAt: Date | null } | null> {
  const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
  const cycle = claimed.cycleAttempts + 1;
  const status = ok ? 'delivered' : cycle >= MAX_ATTEMPTS ? 'failed' : 'pending';
  const nextAttemptAt = status === 'pending' ? new Date(Date.now() + retryDelayMs(cycle, retryBaseSeconds)) : null;
  const updated = await db
    .update(webhookDeliveries)
    .set({
      status,
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      cycleAttempts: cycle,
      responseStatus: outcome.status,
      lastError: ok ? null : outcome.error,
      lastAttemptAt: outcome.at,
      nextAttemptAt,
      deliveredAt: ok ? outcome.at : undefined,
      leaseUntil: null,
      leaseToken: null,
    })
    .where(and(eq(webhookDeliveries.id, claimed.id), eq(webhookDeliveries.leaseToken, claimed.leaseToken)))
    .returning({ id: webhookDeliveries.id });
  return updated.length ? { status, nextAttemptAt } : null;
}

/** Gives a claimed delivery back at once, attempt uncounted (this instance is stopping mid-send). */
export async function releaseLease(db: Db, claimed: ClaimedDelivery): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({ leaseUntil: null, leaseToken: null })
    .where(and(eq(webhookDeliveries.id, claimed.id), eq(webhookDeliveries.leaseToken, claimed.leaseToken)));
}

/** The deliveries of some jobs, in event order. */
export async function deliveriesOf(db: DbOrTx, jobIds: string[]): Promise<WebhookDeliveryView[]> {
  if (jobIds.length === 0) return [];
  return db
    .select(viewColumns)
    .from(webhookDeliveries)
    .where(inArray(webhookDeliveries.jobId, jobIds))
    .orderBy(asc(webhookDeliveries.seq));
}

/**
 * Makes a delivery due now with a fresh retry schedule, keeping its id (so a
 * receiver that already has it can tell). `userId` null: any user's (admins).
 * Returns null when there is no such delivery for that user.
 */
export async function redeliver(db: Db, id: string, userId: string | null): Promise<WebhookDeliveryView | null> {
  const owned = userId === null ? eq(webhookDeliveries.id, id) : and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.userId, userId));
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: 'pending', nextAttemptAt: sql`now()`, cycleAttempts: 0, leaseUntil: null, leaseToken: null })
    .where(owned)
    .returning(viewColumns);
  if (!row) return null;
  await db.execute(sql`select pg_notify(${WEBHOOK_CHANNEL}, ${row.jobId}::text)`);
  return row;
}

/**
 * The job row the trigger stored (`to_jsonb(NEW) - 'payload'`: snake_case
 * keys, JSON values) back as a typed row, through each column's own driver
 * mapping, so the conversion follows the schema as columns are added.
 */
export function jobRowFromSnapshot(snapshot: Record<string, unknown>): JobRow {
  const row: Record<string, unknown> = {};
  for (const [key, column] of Object.entries(getTableColumns(jobs))) {
    const value = snapshot[column.name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as JobRow;
}
