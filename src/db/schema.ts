import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
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
    /** When the payload reached its worker queue; null while a push is owed. */
    dispatchedAt: ts('dispatched_at'),
    /** The queue epoch the payload was pushed under; another epoch means the queue lost it. */
    dispatchEpoch: text('dispatch_epoch'),
    /** A dispatcher holds the job until then; prevents two pushes racing. */
    dispatchLeaseUntil: ts('dispatch_lease_until'),
    pickedAt: ts('picked_at'),
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
    index('jobs_undispatched_idx').on(t.createdAt).where(sql`${t.status} = 'queued' and ${t.dispatchedAt} is null`),
    index('jobs_active_idx').on(t.status, t.createdAt).where(sql`${t.status} in ('queued', 'processing')`),
    // MAX_ACTIVE_JOBS_PER_USER counts these on every queueJob.
    index('jobs_user_active_idx').on(t.userId).where(sql`${t.status} in ('queued', 'processing')`),
  ],
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
