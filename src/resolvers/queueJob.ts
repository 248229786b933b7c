import { randomUUID } from 'node:crypto';
import { and, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { jobs, users, type JobRow } from '../db/schema.js';
import { CATALOG, expectedTimeOf, priceOf, type JobTypeEntry } from './catalog.js';
import { checkContentPolicy } from './contentPolicy.js';
import type { Deps } from './deps.js';
import { badInput, DomainError } from './errors.js';
import { toView, viewOf, type JobView } from './jobView.js';
import { imageMetadata, queuedJobMetadata, queueUsageMetadata, videoMetadata } from './legacyMetadata.js';
import { checkPublicHost } from '../net/publicHost.js';
import { publishJob } from './publish.js';
import { waitingCount } from './fairOrder.js';
import { commitJob, type Committed } from './queueCommit.js';
import { buildPayload } from './workerPayload.js';
import { checkWebhookRequest } from './webhooks.js';
import { REFERENCE_BUCKET, validateJobRequest, type QueueJobRequest } from './validateJob.js';

export interface QueueJobResult {
  job: JobView;
  queueLength: number;
  entry: JobTypeEntry;
}

/**
 * Queues a generation job: validate, check policy, then atomically debit
 * credits and write the job, its placeholder outputs and its usage log (in a
 * group commit with concurrent calls); the scheduler hands it out from there.
 */
export async function queueJob(deps: Deps, userId: string, req: QueueJobRequest): Promise<QueueJobResult> {
  const input = validateJobRequest(req, userId);
  const policy = checkContentPolicy(input.prompt);
  if (!policy.allowed) throw new DomainError('CONTENT_POLICY', policy.reason, { rule: policy.rule });
  const { webhook, webhookEvents } = await checkWebhookRequest(deps, req);

  for (const [i, ref] of input.references.entries()) {
    if (!ref.url.startsWith(`${REFERENCE_BUCKET}/`)) {
      await refusePrivateReference(deps, ref.url, `references[${i}].url`);
      continue;
    }
    const path = ref.url.slice(REFERENCE_BUCKET.length + 1);
    if (!(await deps.storage.exists(REFERENCE_BUCKET, path))) {
      throw new DomainError('BAD_USER_INPUT', `Reference ${ref.url} has not been uploaded yet: upload it to the URL createReferenceUpload returned, then queue the job.`);
    }
  }

  if (input.idempotencyKey) {
    const existing = await findByKey(deps.db, userId, input.idempotencyKey);
    if (existing) return replay(deps, existing);
  }

  const entry = input.entry;
  const cost = priceOf(entry, input.numImages);
  const jobId = randomUUID();
  const now = new Date();
  const outputIds = Array.from({ length: input.numImages }, (_, i) =>
    i === 0 ? (entry.format === 'video' ? input.videoId : input.imageId) ?? randomUUID() : randomUUID(),
  );
  const payload = await buildPayload(deps, jobId, userId, input, outputIds, now);

  const jobValues = {
    id: jobId,
    userId,
    jobType: entry.jobType,
    format: entry.format,
    quality: entry.quality,
    status: 'queued',
    prompt: input.prompt,
    negativePrompt: payload.negative_prompt ?? null,
    seed: input.seed,
    numImages: input.numImages,
    references: input.references,
    projectId: input.projectId,
    videoId: entry.format === 'video' ? outputIds[0] : null,
    imageId: entry.format === 'image' ? outputIds[0] : null,
    idempotencyKey: input.idempotencyKey,
    creditCost: cost,
    expectedGenerationTime: expectedTimeOf(entry, input.numImages),
    metadata: queuedJobMetadata({ ...input, negativePrompt: payload.negative_prompt, cost }),
    payload: JSON.stringify(payload),
    queue: entry.queue,
    queuedAt: now,
    payloadId: jobId,
    maxAttempts: deps.settings.maxAttempts,
    webhook,
    webhookEvents,
    createdAt: now,
    updatedAt: now,
  } satisfies typeof jobs.$inferInsert;
  const outputRows = outputIds.map((id, i) => ({
    id,
    jobId,
    userId,
    bucket: entry.bucket,
    status: 'queued',
    metadata: entry.format === 'video' ? videoMetadata(entry, jobId) : imageMetadata(entry, jobId, i, input.numImages),
    createdAt: now,
    updatedAt: now,
  }));
  const usageRow = {
    id: randomUUID(),
    userId,
    action: 'queue_job',
    creditsConsumed: cost,
    metadata: queueUsageMetadata(entry, { jobId, projectId: input.projectId, outputId: outputIds[0], at: now }),
    createdAt: now,
  };

  // Written together with the queueJob calls around it (queueCommit.ts): the debit (creating the user on
  // first sight) succeeds only when the credits suffice and the user is under MAX_ACTIVE_JOBS_PER_USER, and
  // the job, its outputs and its usage log are inserted from it, so a refused request writes nothing.
  let committed: Committed;
  try {
    committed = await commitJob(deps.db, {
      job: jobValues,
      images: entry.format === 'video' ? [] : outputRows.map((r, i) => ({ ...r, imageIndex: i })),
      videos: entry.format === 'video' ? [outputRows[0]] : [],
      usage: usageRow,
      startingCredits: deps.settings.startingCredits,
      maxActive: deps.settings.maxActiveJobsPerUser,
    });
  } catch (err) {
    // Two requests with one idempotency key raced: the loser's statement
    // failed as a whole (no debit); answer with the winner's job.
    const constraint = uniqueViolationOf(err);
    if (input.idempotencyKey && constraint !== null) {
      const existing = await findByKey(deps.db, userId, input.idempotencyKey);
      if (existing) return replay(deps, existing);
    }
    // A client-chosen videoId/imageId (REST door) that is already an output's
    // id: the statement failed as a whole, so nothing was written or debited.
    const chosen = entry.format === 'video' ? input.videoId : input.imageId;
    if (chosen && constraint !== null && /^(images|videos)_pkey$|^$/.test(constraint)) {
      const field = entry.format === 'video' ? 'videoId' : 'imageId';
      throw badInput(`${field} ${chosen} is already in use: send a new UUID, or leave ${field} out and one is generated.`, { field });
    }
    throw err;
  }
  if (!committed) {
    await refuseWhenFull(deps, userId);
    const [u] = await deps.db.select({ credits: users.credits }).from(users).where(eq(users.id, userId));
    const available = u?.credits ?? deps.settings.startingCredits;
    throw new DomainError(
      'INSUFFICIENT_CREDITS',
      `This job costs ${cost} credits and you have ${available}. Choose a cheaper job type or fewer images, or add credits.`,
      { required: cost, available },
    );
  }

  // The job waits in the database; the scheduler hands it out (and refills the Redis window) in fair order.
  deps.scheduler.changed(entry.queue);
  const view = toView(committed.row, []);
  await publishJob(deps, view);
  return { job: view, queueLength: committed.queueLength, entry };
}

/**
 * Throws RATE_LIMITED when the user already has MAX_ACTIVE_JOBS_PER_USER jobs
 * queued or running, saying when a place is expected to free up.
 */
export async function refuseWhenFull(deps: Deps, userId: string): Promise<void> {
  const limit = deps.settings.maxActiveJobsPerUser;
  const active = await deps.db
    .select({ createdAt: jobs.createdAt, startedAt: jobs.startedAt, expected: jobs.expectedGenerationTime })
    .from(jobs)
    .where(and(eq(jobs.userId, userId), inArray(jobs.status, ['queued', 'processing'])));
  if (active.length < limit) return;
  // The soonest expected finish among them, within 5 s .. 10 min.
  const now = Date.now();
  const soonest = Math.min(...active.map((j) => (j.startedAt ?? j.createdAt).getTime() + j.expected * 1000 - now));
  const retryAfterSeconds = Math.min(600, Math.max(5, Math.ceil(soonest / 1000)));
  throw new DomainError(
    'RATE_LIMITED',
    `You have ${active.length} jobs queued or running, the most one user may have at once (${limit}): wait until one finishes (about ${retryAfterSeconds} s) or cancel one, then queue again.`,
    { limit, active: active.length, retryAfterSeconds },
  );
}

/**
 * The GPU fleet fetches reference URLs from inside its network: a URL naming
 * loopback, a private range or the cloud metadata service (169.254.169.254)
 * would make it fetch internal resources on the caller's behalf. Refused
 * unless the deployment allows private references (development, tests).
 */
async function refusePrivateReference(deps: Deps, url: string, field: string): Promise<void> {
  if (deps.settings.allowPrivateReferences) return;
  const check = await checkPublicHost(new URL(url).hostname);
  if (check.ok) return;
  throw badInput(
    `${field} is refused: ${check.reason}. The GPU workers fetch references from the internet: use a public http(s) URL, or upload the image with createReferenceUpload and pass its path.`,
    { field },
  );
}

async function findByKey(db: Db, userId: string, key: string): Promise<JobRow | undefined> {
  const [row] = await db
    .select()
    .from(jobs)
    .where(and(eq(jobs.userId, userId), eq(jobs.idempotencyKey, key)));
  return row;
}

async function replay(deps: Deps, row: JobRow): Promise<QueueJobResult> {
  const entry = CATALOG[row.jobType];
  const queueLength = await waitingCount(deps.db, entry.queue);
  return { job: await viewOf(deps.db, row), queueLength, entry };
}

/**
 * The constraint a unique violation hit ('' when the driver did not say), or
 * null for any other error. postgres.js names it `constraint_name`, PGlite
 * `constraint`; drizzle wraps either in a `cause` chain.
 */
function uniqueViolationOf(err: unknown): string | null {
  type PgError = { code?: string; cause?: unknown; constraint?: string; constraint_name?: string };
  for (let e = err as PgError | undefined; e; e = e.cause as PgError | undefined) {
    if (e.code === '23505') return e.constraint_name ?? e.constraint ?? '';
  }
  return null;
}
