import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

import type { JobStatus, JobType, MediaFormat, Quality, ReferenceType } from '../vocabulary.js';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  credits: integer('credits').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

export interface StoredReference {
  url: string;
  type: ReferenceType;
  strength: number;
}

export const jobs = pgTable(
  'jobs',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    // $type only narrows the TypeScript type; the columns stay text in SQL.
    jobType: text('job_type').$type<JobType>().notNull(),
    format: text('format').$type<MediaFormat>().notNull(),
    quality: text('quality').$type<Quality>().notNull(),
    status: text('status').$type<JobStatus>().notNull(),
    progress: integer('progress').notNull().default(0),
    prompt: text('prompt').notNull(),
    negativePrompt: text('negative_prompt'),
    seed: bigint('seed', { mode: 'number' }),
    numImages: integer('num_images').notNull(),
    references: jsonb('references').$type<StoredReference[]>().notNull().default([]),
    projectId: text('project_id'),
    videoId: uuid('video_id'),
    imageId: uuid('image_id'),
    idempotencyKey: text('idempotency_key'),
    creditCost: integer('credit_cost').notNull(),
    /** Set once, by the first transition to failed/cancelled: the guard that refunds happen exactly once. */
    refundedAt: ts('refunded_at'),
    errorMessage: text('error_message'),
    enhancedPrompt: text('enhanced_prompt'),
    generationTime: doublePrecision('generation_time'),
    expectedGenerationTime: integer('expected_generation_time').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    /** The exact worker payload string: re-pushed verbatim by the dispatcher, and removed verbatim (LREM) on cancel. */
    payload: text('payload').notNull(),
    /** Bumped on every change, so subscribers can drop stale or duplicate events. */
    version: integer('version').notNull().default(1),
    /** The worker queue (sdxl_queue, wan_queue) the job type routes to; the fair order is per queue. */
    queue: text('queue').notNull(),
    /**
     * When the job joined its queue: at queueJob and at retryJob. A re-run
     * after a vanished worker keeps it, so the job goes back to the front of
     * its owner's line. Ties in the fair order go to the oldest.
     */
    queuedAt: ts('queued_at').notNull().defaultNow(),
    /** Hand-outs to workers so far (attempts rows), 0 while it waits for its first. */
    attempts: integer('attempts').notNull().default(0),
    /** Hand-outs allowed before the job fails for good (MAX_ATTEMPTS at queue time; raised by retryJob). */
    maxAttempts: integer('max_attempts').notNull().default(2),
    /**
     * The payload `id` of the current (or next) attempt: the job id for the
     * first, a fresh UUID for each later one. A callback naming any other
     * id comes from a superseded attempt and changes nothing.
     */
    payloadId: uuid('payload_id').notNull(),
    /**
     * When the payload entered the Redis window (the short list direct
     * poppers RPOP); null while it waits only in the database. Window
     * order is dispatched_at order.
     */
    dispatchedAt: ts('dispatched_at'),
    /** The queue epoch the payload was pushed under; another epoch means the queue lost it. */
    dispatchEpoch: text('dispatch_epoch'),
    /** When a worker took the current attempt (the attempt's clock); null while waiting. */
    pickedAt: ts('picked_at'),
    /** The current attempt's last sign of life: taken, or a processing callback. Abandoned past expected time + JOB_TIMEOUT_GRACE. */
    lastSeenAt: ts('last_seen_at'),
    /** Where signed event POSTs about this job go (null: none); kept when the job is retried. */
    webhook: text('webhook'),
    /** The job statuses (`WebhookEvent`s) sent to `webhook`. */
    webhookEvents: jsonb('webhook_events').$type<string[]>(),
    createdAt: ts('created_at').notNull().defaultNow(),
    startedAt: ts('started_at'),
    completedAt: ts('completed_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('jobs_user_created_idx').on(t.userId, t.createdAt.desc(), t.id.desc()),
    uniqueIndex('jobs_user_idempotency_idx').on(t.userId, t.idempotencyKey),
    index('jobs_active_idx').on(t.status, t.createdAt).where(sql`${t.status} in ('queued', 'processing')`),
    // The fair order's three reads (fairOrder.ts): untaken jobs oldest first,
    // each user's oldest untaken job, and the few running jobs.
    index('jobs_waiting_idx')
      .on(t.queue, t.queuedAt, t.id)
      .where(sql`${t.status} = 'queued' and ${t.pickedAt} is null`),
    index('jobs_waiting_user_idx')
      .on(t.queue, t.userId, t.queuedAt, t.id)
      .where(sql`${t.status} = 'queued' and ${t.pickedAt} is null`),
    index('jobs_running_idx')
      .on(t.queue, t.userId)
      .where(sql`${t.status} in ('queued', 'processing') and ${t.pickedAt} is not null`),
    index('jobs_windowed_idx').on(t.queue, t.dispatchedAt).where(sql`${t.dispatchedAt} is not null`),
    uniqueIndex('jobs_payload_id_idx').on(t.payloadId),
    // MAX_ACTIVE_JOBS_PER_USER counts these on every queueJob.
    index('jobs_user_active_idx').on(t.userId).where(sql`${t.status} in ('queued', 'processing')`),
  ],
);

/**
 * One row per (queue, user) with jobs waiting or running there: the user's
 * line in that queue. Kept by the `jobs_queue_lines` trigger (drizzle/) in
 * the transaction that changes the job, whichever code path changes it, so
 * it always agrees with the jobs table. The fair order's next job is the
 * head of the line with the fewest running jobs (then the oldest head):
 * one probe of `queue_lines_next_idx`, whatever the backlog (fairOrder.ts).
 * A row with nothing waiting or running is deleted.
 */
export const queueLines = pgTable(
  'queue_lines',
  {
    queue: text('queue').notNull(),
    userId: uuid('user_id').notNull(),
    /** The user's jobs in this queue taken by a worker and not finished. */
    running: integer('running').notNull().default(0),
    /** The user's untaken jobs in this queue (waiting in the database or in the Redis window). */
    waiting: integer('waiting').notNull().default(0),
    /** The user's oldest untaken job (`queued_at`, then id); null when none waits. */
    headQueuedAt: ts('head_queued_at'),
    headId: uuid('head_id'),
  },
  (t) => [
    primaryKey({ columns: [t.queue, t.userId] }),
    index('queue_lines_next_idx')
      .on(t.queue, t.running, t.headQueuedAt, t.headId)
      .where(sql`${t.headId} is not null`),
  ],
);

/**
 * One row per hand-out of a job to a worker. The id is the payload id the
 * worker was given (and names in its callbacks and uploads). Finished
 * attempts are the throughput and run-time history behind the ETAs.
 */
export const attempts = pgTable(
  'job_attempts',
  {
    id: uuid('id').primaryKey(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    /** 1 for the first hand-out. */
    number: integer('number').notNull(),
    queue: text('queue').notNull(),
    jobType: text('job_type').notNull(),
    /** How the server learnt of the hand-out: `rpop` (its own endpoint), `redis` (gone from the window), `callback` (first news was a callback). */
    via: text('via').notNull(),
    takenAt: ts('taken_at').notNull(),
    endedAt: ts('ended_at'),
    /** completed, failed, retried (transient failure, re-queued), abandoned (silent past its deadline), cancelled. */
    outcome: text('outcome'),
    errorMessage: text('error_message'),
  },
  (t) => [index('job_attempts_job_idx').on(t.jobId), index('job_attempts_finished_idx').on(t.queue, t.endedAt)],
);

/**
 * The columns images and videos share: one output of a job, in its bucket.
 * A function, so each table gets its own column objects.
 */
const outputColumns = () => ({
  id: uuid('id').primaryKey(),
  jobId: uuid('job_id')
    .notNull()
    .references(() => jobs.id, { onDelete: 'cascade' }),
  userId: uuid('user_id').notNull(),
  bucket: text('bucket').notNull(),
  path: text('path'),
  /** Path of a small WebP preview in the same bucket: the worker's (second generation) or one the server made. */
  thumbnailPath: text('thumbnail_path'),
  /** What the bytes are (magic bytes first, then asset type and job format), not what the file name says. */
  contentType: text('content_type'),
  status: text('status').notNull(),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: ts('created_at').notNull().defaultNow(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

export const images = pgTable(
  'images',
  { ...outputColumns(), imageIndex: integer('image_index').notNull() },
  (t) => [uniqueIndex('images_job_index_idx').on(t.jobId, t.imageIndex)],
);

export const videos = pgTable('videos', outputColumns(), (t) => [uniqueIndex('videos_job_idx').on(t.jobId)]);

export const usageLogs = pgTable(
  'usage_logs',
  {
    id: uuid('id').primaryKey(),
    userId: uuid('user_id').notNull(),
    action: text('action').notNull(),
    creditsConsumed: integer('credits_consumed').notNull(),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [index('usage_logs_user_idx').on(t.userId, t.createdAt)],
);

/** One Standard Webhooks signing secret (`whsec_…`) per user; replaced, never kept, on rotation. */
export const webhookSecrets = pgTable('webhook_secrets', {
  userId: uuid('user_id').primaryKey(),
  secret: text('secret').notNull(),
  createdAt: ts('created_at').notNull().defaultNow(),
});

/**
 * The webhook outbox. A row is written by the `jobs_webhook_events` trigger
 * (see drizzle/) in the very transaction that changes a subscribed job's
 * status, so no job change can commit without its delivery, whichever code
 * path made it. Dispatchers on any instance claim due rows with a lease.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    /** Also the `webhook-id` header: stable across retries and redeliveries. */
    id: uuid('id').primaryKey().defaultRandom(),
    /** Event order: deliveries of one job are sent strictly in this order. */
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => jobs.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
    event: text('event').notNull(),
    url: text('url').notNull(),
    /** The job row as the event left it (to_jsonb, minus the worker payload): the body shows the job at the event, not later. */
    job: jsonb('job').$type<Record<string, unknown>>().notNull(),
    /** pending, delivered or failed. */
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Attempts in the current retry schedule; a redelivery starts a new one. */
    cycleAttempts: integer('cycle_attempts').notNull().default(0),
    responseStatus: integer('response_status'),
    /** Why the last attempt failed, for people: never holds the URL's path or query, nor secrets. */
    lastError: text('last_error'),
    lastAttemptAt: ts('last_attempt_at'),
    nextAttemptAt: ts('next_attempt_at'),
    /** A dispatcher holds the row until then (longer than a send may take); a crashed one's rows come back. */
    leaseUntil: ts('lease_until'),
    /** Whose lease it is: a finished send records its result only while its lease is still the current one. */
    leaseToken: uuid('lease_token'),
    createdAt: ts('created_at').notNull().defaultNow(),
    deliveredAt: ts('delivered_at'),
  },
  (t) => [
    index('webhook_deliveries_job_idx').on(t.jobId, t.seq),
    index('webhook_deliveries_due_idx').on(t.nextAttemptAt).where(sql`${t.status} = 'pending'`),
  ],
);

export type JobRow = typeof jobs.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type ImageRow = typeof images.$inferSelect;
export type VideoRow = typeof videos.$inferSelect;
export type AttemptRow = typeof attempts.$inferSelect;
