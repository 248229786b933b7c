import { and, eq, gte, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Db, Tx } from '../db/client.js';
import { attempts, images, jobs, users, videos, type AttemptRow, type JobRow } from '../db/schema.js';
import { SNIFF_BYTES, sniffContentType } from '../storage/contentType.js';
import { isUuid, TERMINAL_STATUSES } from '../vocabulary.js';
import { attemptPayload, closeAttempt, recordTake, requeueForAnotherAttempt } from './attempts.js';
import { CATALOG } from './catalog.js';
import type { Deps } from './deps.js';
import { badInput, notFound } from './errors.js';
import { viewOf, type JobView } from './jobView.js';
import { callbackDebug, callbackMetadata, completedImageMetadata, completedVideoMetadata } from './legacyMetadata.js';
import { publishJob } from './publish.js';
import { outputContentType, resolveAssets, type CallbackAsset, type ResolvedAsset } from './outputs.js';
import { endWithRefund } from './refund.js';
import { makeThumbnail, makeVideoPoster } from './thumbnails.js';

/** A second-generation asset (worker-protocol §5). */
const AssetObject = z.object({
  type: z.enum(['image', 'video'], { error: 'an asset "type" must be "image" or "video"' }),
  url: z.string().min(1),
  thumbnail_url: z.string().min(1).nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * A path (first generation) or an object (second). Checked by the item's own
 * shape rather than as a union, so a bad object says which field is wrong
 * instead of "expected string".
 */
const AssetItem = z.unknown().transform((value, ctx): CallbackAsset => {
  const parsed = typeof value === 'string' ? z.string().safeParse(value) : AssetObject.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path as PropertyKey[] as (string | number)[] });
  }
  return z.NEVER;
});

/** worker-protocol.md §4 and §5, plus `progress` with `processing`. Unknown keys are ignored. */
const CallbackBody = z.object({
  job_id: z.string().min(1),
  status: z.enum(['processing', 'completed', 'failed']),
  assets: z.array(AssetItem).nullish(),
  error_message: z.string().nullish(),
  metadata: z
    .object({
      seed: z.number().int().min(0).max(4_294_967_295).nullish(),
      generation_time: z.number().min(0).nullish(),
      num_images: z.number().int().nullish(),
    })
    .passthrough()
    .nullish(),
  enhancedPrompt: z.string().nullish(),
  progress: z.number().min(0).max(100).nullish(),
});
export type CallbackBody = z.infer<typeof CallbackBody>;

export interface CallbackResult {
  job: JobView;
  /** False when the job was already finished and the callback was only acknowledged. */
  changed: boolean;
  /** True when the callback came from an attempt the job no longer runs: acknowledged, ignored. */
  superseded: boolean;
  assetsProcessed: number;
}


export function parseCallback(body: unknown): CallbackBody {
  const parsed = CallbackBody.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw badInput(
      `Invalid callback: ${first.path.join('.') || 'body'}: ${first.message}. Send {"job_id", "status": "processing"|"completed"|"failed", "assets": [...]}.`,
    );
  }
  // PostgreSQL text and jsonb cannot hold NUL, and jsonb refuses unpaired
  // UTF-16 surrogates. The fleet never retries a callback, so its free text
  // loses the NULs (and surrogates become U+FFFD) rather than the outcome
  // being lost to a database error. (Asset paths with NUL are still refused.)
  const data = parsed.data;
  return {
    ...data,
    error_message: withoutNul(data.error_message),
    enhancedPrompt: withoutNul(data.enhancedPrompt),
    metadata: withoutNul(data.metadata),
    assets: data.assets?.map((a) => (typeof a === 'string' ? a : { ...a, metadata: withoutNul(a.metadata) })),
  };
}

function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\0', '').replace(/\p{Surrogate}/gu, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}

/**
 * Applies a worker's report. Finished jobs acknowledge and change nothing, so
 * a repeated or late callback can neither add assets nor undo an outcome.
 */
export async function applyCallback(deps: Deps, body: CallbackBody): Promise<CallbackResult> {
  if (!isUuid(body.job_id)) throw notFound(`Job ${body.job_id} not found.`);
  if (body.status === 'processing' && body.progress != null) {
    const moved = await progressOfRunningJob(deps, body.job_id.toLowerCase(), body.progress);
    if (moved) return moved;
  }
  const inspected = body.status === 'completed' ? await inspectOutputs(deps, body) : new Map<string, Inspected>();
  type Outcome = { row: JobRow; changed: boolean; assetsProcessed: number; superseded?: boolean; requeued?: boolean };
  // The next attempt's payload, taken out of the Redis window when an abandoned attempt is adopted
  // (put back if this transaction fails).
  const claim: { queue: string; removed: string | null } = { queue: '', removed: null };
  const run = async (tx: Tx): Promise<Outcome> => {
    const payloadId = body.job_id.toLowerCase();
    // The callback names an attempt (its payload id). Only the job's current attempt may change it.
    let [row] = await tx.select().from(jobs).where(eq(jobs.payloadId, payloadId)).for('update');
    const adopt = !row;
    if (!row) {
      const [attempt] = await tx.select().from(attempts).where(eq(attempts.id, payloadId));
      const [job] = await tx.select().from(jobs).where(eq(jobs.id, attempt?.jobId ?? payloadId)).for('update');
      if (!job) throw notFound(`Job ${body.job_id} not found.`);
      if (!attempt || !adoptable(job, attempt)) {
        // A superseded attempt (its worker was given up on, the job handed to another): acknowledged, ignored.
        return { row: job, changed: false, assetsProcessed: 0, superseded: true };
      }
      row = job;
    }
    if (TERMINAL_STATUSES.has(row.status)) return { row, changed: false, assetsProcessed: 0 };
    const now = new Date();
    // A failure may refund, which locks the user's row: lock it before the hand-out is recorded, which
    // locks the job's line (the order everywhere: job row, user, line; see refund.ts).
    if (!row.pickedAt && body.status === 'failed') await tx.select({ id: users.id }).from(users).where(eq(users.id, row.userId)).for('update');
    if (adopt) {
      // The worker given up on is alive after all, and nobody holds the next attempt: it is the job's attempt again.
      const adopted = await adoptAttempt(deps, tx, row, payloadId, claim, now);
      if (!adopted) return { row, changed: false, assetsProcessed: 0, superseded: true };
      row = adopted;
    }
    // A hand-out not seen yet (a worker popped Redis directly and the window keeper has not noticed): its clock starts now.
    if (!row.pickedAt) row = await recordTake(tx, row, 'callback', now);

    if (body.status === 'processing') {
      const progress = Math.max(row.progress, Math.min(99, Math.round(body.progress ?? row.progress)));
      if (row.status === 'processing' && progress === row.progress) {
        // Nothing to show, but a sign of life: the attempt's clock restarts.
        await tx.update(jobs).set({ lastSeenAt: now }).where(eq(jobs.id, row.id));
        return { row, changed: false, assetsProcessed: 0 };
      }
      const [updated] = await tx
        .update(jobs)
        .set({
          status: 'processing',
          progress,
          startedAt: row.startedAt ?? now,
          lastSeenAt: now,
          updatedAt: now,
          version: sql`${jobs.version} + 1`,
        })
        .where(eq(jobs.id, row.id))
        .returning();
      return { row: updated, changed: true, assetsProcessed: 0 };
    }

    if (body.status === 'failed') {
      const message = (body.error_message?.trim() || 'The worker reported a failure without a message.').slice(0, 2000);
      if (row.attempts < row.maxAttempts && deps.settings.transientErrorPattern.test(message)) {
        const updated = await requeueForAnotherAttempt(tx, row, 'retried', message);
        return { row: updated, changed: true, assetsProcessed: 0, requeued: true };
      }
      const updated = await endWithRefund(tx, row, 'failed', message, callbackMetadata(body));
      return { row: updated, changed: true, assetsProcessed: 0 };
    }

    const entry = CATALOG[row.jobType];
    // Checked again under the lock: this is the check that decides.
    const assets = resolveAssets(row, body.assets ?? []);
    if (assets.length === 0) {
      const updated = await endWithRefund(tx, row, 'failed', 'The worker reported completion without any assets.', callbackMetadata(body));
      return { row: updated, changed: true, assetsProcessed: 0 };
    }
    const seen = (a: ResolvedAsset) => inspected.get(keyOf(a));
    const assetSeed = assets.map((a) => a.workerMetadata?.seed).find((v) => Number.isSafeInteger(v)) as number | undefined;
    const seed = body.metadata?.seed ?? assetSeed ?? row.seed;
    const generationTime = body.metadata?.generation_time ?? null;
    const processedAt = now.toISOString();
    const outputColumns = (a: ResolvedAsset) => ({
      bucket: a.bucket,
      path: a.path,
      thumbnailPath: a.thumbnailPath ?? seen(a)?.thumbnailPath ?? null,
      contentType: seen(a)?.contentType ?? outputContentType(null, entry.format),
    });
    const perAsset = (a: ResolvedAsset) => (a.workerMetadata ? { worker_metadata: a.workerMetadata } : {});
    if (entry.format === 'video') {
      const [video] = await tx.select().from(videos).where(eq(videos.jobId, row.id));
      const asset = assets[0];
      await tx
        .update(videos)
        .set({
          ...outputColumns(asset),
          status: 'completed',
          updatedAt: now,
          metadata: {
            ...video?.metadata,
            ...completedVideoMetadata({ bucket: asset.bucket, path: asset.path, seed, generationTime, at: processedAt }),
            ...perAsset(asset),
          },
        })
        .where(eq(videos.jobId, row.id));
    } else {
      const existing = await tx.select().from(images).where(eq(images.jobId, row.id));
      const byIndex = new Map(existing.map((i) => [i.imageIndex, i]));
      const debug = callbackDebug(
        row.jobType,
        assets.map((a) => a.path),
        processedAt,
      );
      for (const [index, asset] of assets.entries()) {
        const metadata = {
          ...byIndex.get(index)?.metadata,
          ...completedImageMetadata(entry, { jobId: row.id, index, assets, seed, generationTime, at: processedAt }, debug),
          ...perAsset(asset),
        };
        if (byIndex.has(index)) {
          await tx
            .update(images)
            .set({ ...outputColumns(asset), status: 'completed', metadata, updatedAt: now })
            .where(and(eq(images.jobId, row.id), eq(images.imageIndex, index)));
        } else {
          await tx.insert(images).values({
            id: crypto.randomUUID(),
            jobId: row.id,
            userId: row.userId,
            imageIndex: index,
            ...outputColumns(asset),
            status: 'completed',
            metadata,
          });
        }
      }
      // Placeholders the worker did not fill stay visible as failed, not as pending forever.
      await tx
        .update(images)
        .set({ status: 'failed', updatedAt: now })
        .where(and(eq(images.jobId, row.id), gte(images.imageIndex, assets.length)));
    }
    await closeAttempt(tx, row, 'completed', null, now);
    const [updated] = await tx
      .update(jobs)
      .set({
        status: 'completed',
        progress: 100,
        seed,
        generationTime,
        enhancedPrompt: body.enhancedPrompt ?? row.enhancedPrompt,
        startedAt: row.startedAt ?? now,
        completedAt: now,
        updatedAt: now,
        version: sql`${jobs.version} + 1`,
        metadata: { ...row.metadata, ...callbackMetadata(body), seed, generation_time: generationTime },
      })
      .where(eq(jobs.id, row.id))
      .returning();
    return { row: updated, changed: true, assetsProcessed: assets.length };
  };
  let result: Outcome;
  try {
    result = await deps.db.transaction(run);
  } catch (err) {
    if (claim.removed !== null) {
      await deps.queue.pushBack(claim.queue, claim.removed).catch((pushErr: unknown) => {
        deps.logger.error({ err: String(pushErr), queue: claim.queue }, 'could not put a payload back after a failed callback; the window keeper puts the job back in line (its removal mark says nobody runs it)');
      });
    }
    throw err;
  }

  const view = await viewOf(deps.db, result.row);
  if (result.changed) await publishJob(deps, view);
  if (result.changed) deps.scheduler.changed(result.row.queue);
  return { job: view, changed: result.changed, assetsProcessed: result.assetsProcessed, superseded: result.superseded ?? false };
}

/**
 * Whether a report from `attempt`, no longer the job's current attempt, may
 * take the job back: the attempt was given up on for silence (its worker
 * popped it, e.g. straight from Redis, and its reports were lost or late,
 * as in a PostgreSQL outage), it is the job's latest, and the job waits,
 * untaken, for its next attempt. Any other superseded report changes nothing.
 */
function adoptable(job: JobRow, attempt: AttemptRow): boolean {
  return job.status === 'queued' && !job.pickedAt && attempt.jobId === job.id && attempt.number === job.attempts && attempt.outcome === 'abandoned';
}

/**
 * Makes the abandoned `payloadId` the job's current attempt again, with its
 * clock restarted, so its worker's work is kept instead of run again. The
 * next attempt's payload must not reach a worker: it is taken out of the
 * Redis list (LREM, the arbiter with direct poppers). When a worker already
 * popped it (or Redis cannot say), that attempt may be live and the report
 * stays ignored. Null then.
 */
async function adoptAttempt(
  deps: Deps,
  tx: Tx,
  row: JobRow,
  payloadId: string,
  claim: { queue: string; removed: string | null },
  now: Date,
): Promise<JobRow | null> {
  const next = attemptPayload(row);
  // >0: taken out now; -1: we had taken it out before (nobody has it); 0: a worker popped it.
  const removed = await deps.queue.remove(row.queue, next).catch(() => null);
  if (row.dispatchedAt && (removed === null || removed === 0)) return null;
  if (removed !== null && removed > 0) Object.assign(claim, { queue: row.queue, removed: next });
  await tx.update(attempts).set({ endedAt: null, outcome: null, errorMessage: null }).where(eq(attempts.id, payloadId));
  const [updated] = await tx
    .update(jobs)
    .set({
      payloadId,
      pickedAt: now,
      lastSeenAt: now,
      dispatchedAt: null,
      dispatchEpoch: null,
      updatedAt: now,
      version: sql`${jobs.version} + 1`,
    })
    .where(eq(jobs.id, row.id))
    .returning();
  return updated;
}

/**
 * The most frequent callback, progress on a running job, in one statement:
 * the row lock, the checks and the change (status processing, progress up,
 * the attempt's clock restarted, version bumped) in a single UPDATE, instead
 * of BEGIN, SELECT … FOR UPDATE, UPDATE and COMMIT. It changes a row only
 * when the transaction below would have changed it the same way: the
 * callback names the job's current attempt, a worker took it, it is not
 * finished, and the progress rises (or the job starts processing). Anything
 * else (no row) goes through the full path, which decides and answers as
 * always. A processing job's place in the fair order depends only on its
 * being taken, which this path never changes, so the scheduler is not told.
 */
async function progressOfRunningJob(deps: Deps, payloadId: string, reported: number): Promise<CallbackResult | null> {
  const [row] = await progressStatement(deps.db).execute({
    payloadId,
    progress: Math.min(99, Math.round(reported)),
    now: new Date().toISOString(),
  });
  if (!row) return null;
  const view = await viewOf(deps.db, row);
  await publishJob(deps, view);
  return { job: view, changed: true, assetsProcessed: 0, superseded: false };
}

/** Built once per database: drizzle would otherwise rebuild the SQL text on every callback. */
const progressStatements = new WeakMap<Db, ReturnType<typeof buildProgressStatement>>();

function progressStatement(db: Db) {
  let statement = progressStatements.get(db);
  if (!statement) progressStatements.set(db, (statement = buildProgressStatement(db)));
  return statement;
}

function buildProgressStatement(db: Db) {
  const progress = sql`${sql.placeholder('progress')}::int`;
  const now = sql`${sql.placeholder('now')}::timestamptz`;
  return db
    .update(jobs)
    .set({
      status: 'processing',
      progress: sql`greatest(${jobs.progress}, ${progress})`,
      startedAt: sql`coalesce(${jobs.startedAt}, ${now})`,
      lastSeenAt: now,
      updatedAt: now,
      version: sql`${jobs.version} + 1`,
    })
    .where(
      sql`${jobs.payloadId} = ${sql.placeholder('payloadId')}::uuid and ${jobs.pickedAt} is not null
        and (${jobs.status} = 'queued' or (${jobs.status} = 'processing' and ${jobs.progress} < ${progress}))`,
    )
    .returning()
    .prepare('callback_progress');
}

interface Inspected {
  contentType: string;
  thumbnailPath: string | null;
}

const keyOf = (a: Pick<ResolvedAsset, 'bucket' | 'path'>) => `${a.bucket}/${a.path}`;

/**
 * Storage work for a completed callback, done before the job row is locked
 * (it reads files and may encode images): each output's content type from
 * its first bytes, and a server-made thumbnail for image outputs the worker
 * sent none for. The assets are checked first, so a refused callback writes
 * nothing; a finished job's late callback is not inspected at all.
 */
async function inspectOutputs(deps: Deps, body: CallbackBody): Promise<Map<string, Inspected>> {
  const out = new Map<string, Inspected>();
  if (!body.assets?.length) return out;
  // Only the current attempt's outputs are looked at (a superseded attempt's callback changes nothing).
  const payloadId = body.job_id.toLowerCase();
  let [row] = await deps.db.select().from(jobs).where(eq(jobs.payloadId, payloadId));
  if (!row) {
    // An abandoned attempt that may be adopted (checked again under the lock).
    const [attempt] = await deps.db.select().from(attempts).where(eq(attempts.id, payloadId));
    const [job] = attempt ? await deps.db.select().from(jobs).where(eq(jobs.id, attempt.jobId)) : [];
    if (job && adoptable(job, attempt!)) row = { ...job, payloadId };
  }
  if (!row || TERMINAL_STATUSES.has(row.status)) return out;
  const entry = CATALOG[row.jobType];
  const assets = resolveAssets(row, body.assets);
  await Promise.all(
    assets.map(async (asset) => {
      const head = await deps.storage.readHead(asset.bucket, asset.path, SNIFF_BYTES).catch(() => null);
      const sniffed = head ? sniffContentType(head) : null;
      // Only outputs whose bytes really are an image or a video are decoded;
      // anything else keeps a null thumbnail at no cost.
      const wanted = asset.thumbnailPath === null && sniffed !== null;
      const thumbnailPath = !wanted
        ? null
        : entry.format === 'image' && sniffed.startsWith('image/')
          ? await makeThumbnail(deps.storage, deps.logger, asset.bucket, asset.path)
          : entry.format === 'video' && sniffed.startsWith('video/')
            ? await makeVideoPoster(deps.storage, deps.logger, asset.bucket, asset.path)
            : null;
      const contentType = outputContentType(head, entry.format);
      out.set(keyOf(asset), { contentType, thumbnailPath });
    }),
  );
  return out;
}
