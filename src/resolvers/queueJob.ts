import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { insertFrom } from '../db/insertFrom.js';
import { images, jobs, usageLogs, users, videos, type JobRow } from '../db/schema.js';
import { CATALOG, expectedTimeOf, priceOf, type JobType, type JobTypeEntry } from './catalog.js';
import { checkContentPolicy } from './contentPolicy.js';
import type { Deps } from './deps.js';
import { badInput, DomainError } from './errors.js';
import { toView, viewOf, type JobView } from './jobView.js';
import { checkPublicHost } from '../net/publicHost.js';
import { buildNegativePrompt } from './negativePrompt.js';
import { publishJob } from './publish.js';
import { waitingCount } from './fairOrder.js';
import { checkWebhookRequest } from './webhooks.js';
import { REFERENCE_BUCKET, validateJobRequest, type QueueJobRequest, type ValidJobRequest } from './validateJob.js';

/** The seed edge function's version, kept in metadata so seed-era reports can tell rows apart. */
export const EDGE_FUNCTION_VERSION = '3.0.0';

export interface QueueJobResult {
  job: JobView;
  queueLength: number;
  entry: JobTypeEntry;
}

/**
 * Queues a generation job: validate, check policy, then in one atomic SQL
 * statement debit credits and write the job, its placeholder outputs and its
 * usage log; after that, push the worker payload (or leave it to the
 * dispatcher).
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
    metadata: jobMetadata(input, payload, cost),
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
    metadata:
      entry.format === 'video'
        ? { model_type: entry.modelType, is_enhanced: entry.enhanced, original_job_id: jobId }
        : {
            model_type: entry.modelType,
            is_sdxl: entry.queue === 'sdxl_queue',
            is_enhanced: entry.enhanced,
            image_index: i,
            total_images: input.numImages,
            original_job_id: jobId,
          },
    createdAt: now,
    updatedAt: now,
  }));
  const usageRow = {
    id: randomUUID(),
    userId,
    action: 'queue_job',
    creditsConsumed: cost,
    metadata: {
      job_id: jobId,
      project_id: input.projectId,
      image_id: entry.format === 'image' ? outputIds[0] : null,
      video_id: entry.format === 'video' ? outputIds[0] : null,
      job_type: entry.jobType,
      model_type: entry.modelType,
      model_variant: entry.modelVariant,
      queue: entry.queue,
      dual_worker_routing: true,
      negative_prompt_supported: entry.negativePromptSupported,
      usage_timestamp: now.toISOString(),
    },
    createdAt: now,
  };

  // ONE statement, so one round trip and atomic without BEGIN/COMMIT: the
  // debit (creating the user on first sight) returns a row only when the
  // credits suffice, and the job, its outputs and its usage log are inserted
  // from that row, so a short balance writes nothing at all.
  const start = deps.settings.startingCredits;
  const debit = sql`debit as (
      insert into ${users} (id, credits)
        select ${userId}::uuid, ${start - cost}::int
        where ${start}::int >= ${cost}::int or exists (select 1 from ${users} where id = ${userId}::uuid)
      on conflict (id) do update set credits = ${users}.credits - ${cost}::int where ${users}.credits >= ${cost}::int
      returning credits
    )`;
  const outputs =
    entry.format === 'video'
      ? insertFrom(videos, [outputRows[0]], sql`job`)
      : insertFrom(images, outputRows.map((r, i) => ({ ...r, imageIndex: i })), sql`job`);
  const statement = sql`with ${debit},
    job as (${insertFrom(jobs, [jobValues], sql`debit`)} returning id),
    outputs as (${outputs}),
    usage as (${insertFrom(usageLogs, [usageRow], sql`job`)})
    select credits from debit`;

  let row: JobRow;
  try {
    const debited = rowsOf(await deps.db.execute(statement));
    if (debited.length === 0) {
      const [u] = await deps.db.select({ credits: users.credits }).from(users).where(eq(users.id, userId));
      const available = u?.credits ?? start;
      throw new DomainError(
        'INSUFFICIENT_CREDITS',
        `This job costs ${cost} credits and you have ${available}. Choose a cheaper job type or fewer images, or add credits.`,
        { required: cost, available },
      );
    }
    row = {
      ...jobValues,
      progress: 0,
      version: 1,
      refundedAt: null,
      errorMessage: null,
      enhancedPrompt: null,
      generationTime: null,
      attempts: 0,
      dispatchedAt: null,
      dispatchEpoch: null,
      pickedAt: null,
      lastSeenAt: null,
      startedAt: null,
      completedAt: null,
    };
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

  // The job waits in the database; the scheduler hands it out (and refills the Redis window) in fair order.
  deps.scheduler.changed(entry.queue);
  const view = toView(row, []);
  const [queueLength] = await Promise.all([waitingCount(deps.db, entry.queue), publishJob(deps, view)]);
  return { job: view, queueLength, entry };
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
  const entry = CATALOG[row.jobType as JobType];
  const queueLength = await waitingCount(deps.db, entry.queue);
  return { job: await viewOf(deps.db, row), queueLength, entry };
}

/** postgres.js returns the rows as the result; PGlite wraps them in `{ rows }`. */
function rowsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? result : ((result as { rows?: unknown[] }).rows ?? []);
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

export interface WorkerPayload {
  id: string;
  type: string;
  prompt: string;
  user_id: string;
  config: Record<string, unknown>;
  negative_prompt?: string;
  video_id: string | null;
  image_id: string | null;
  bucket: string;
  model_variant: string;
  character_id: null;
  created_at: string;
  metadata: Record<string, unknown>;
}

/** The list element the fleet pops (worker-protocol.md §2), with the seed producer's settings. */
async function buildPayload(
  deps: Deps,
  jobId: string,
  userId: string,
  input: ValidJobRequest,
  outputIds: string[],
  now: Date,
): Promise<WorkerPayload> {
  const entry = input.entry;
  const config: Record<string, unknown> = {
    num_images: input.numImages,
    ...(input.seed !== null ? { seed: input.seed } : {}),
    size: entry.sample.size,
    sample_steps: entry.sample.sample_steps,
    sample_guide_scale: entry.sample.sample_guide_scale,
    sample_solver: entry.sample.sample_solver,
    sample_shift: entry.sample.sample_shift,
    frame_num: entry.sample.frame_num,
    enhance_prompt: entry.sample.enhance_prompt,
    expected_time: expectedTimeOf(entry, input.numImages),
    content_type: entry.format,
    file_extension: entry.fileExtension,
  };
  const metadata: Record<string, unknown> = {};
  // Workers fetch references with a plain GET, so uploaded ones travel as signed URLs
  // that outlive the job's longest possible wait.
  const ttl = deps.settings.signedUrlTtl + deps.settings.jobTimeoutGrace + expectedTimeOf(entry, input.numImages);
  const fetchable = async (url: string) =>
    url.startsWith(`${REFERENCE_BUCKET}/`)
      ? (await deps.storage.signedGetUrl(REFERENCE_BUCKET, url.slice(REFERENCE_BUCKET.length + 1), ttl)).url
      : url;
  const imageRef = input.references.find((r) => r.type !== 'start_frame' && r.type !== 'end_frame');
  if (imageRef) {
    metadata.reference_image_url = await fetchable(imageRef.url);
    metadata.reference_type = imageRef.type;
    metadata.reference_strength = imageRef.strength;
  }
  // Frame references under both generations' names: the first reads
  // *_reference_image_url, the second *_reference_url (and ignores the former).
  for (const ref of input.references) {
    if (ref.type === 'start_frame') metadata.start_reference_image_url = metadata.start_reference_url = await fetchable(ref.url);
    if (ref.type === 'end_frame') metadata.end_reference_image_url = metadata.end_reference_url = await fetchable(ref.url);
    if (ref.type === 'start_frame' || ref.type === 'end_frame') metadata.reference_strength ??= ref.strength;
  }
  // The second generation reads image-to-image strength as a denoise
  // strength: how far the output may move away from the reference, the
  // opposite of how strongly the reference holds (README, "Payload").
  if (typeof metadata.reference_strength === 'number') metadata.denoise_strength = denoiseStrengthOf(metadata.reference_strength);
  // Copy mode is never asked for through this API: always an ordinary generation.
  metadata.exact_copy_mode = false;
  return {
    id: jobId,
    type: entry.jobType,
    prompt: input.prompt,
    user_id: userId,
    config,
    ...(entry.negativePromptSupported ? { negative_prompt: buildNegativePrompt(input.prompt) } : {}),
    // The WAN worker names its single output <video_id>.<ext>, images included.
    video_id: entry.queue === 'wan_queue' ? outputIds[0] : null,
    image_id: entry.format === 'image' ? outputIds[0] : null,
    bucket: entry.bucket,
    model_variant: entry.modelVariant,
    character_id: null,
    created_at: now.toISOString(),
    metadata,
  };
}

/** `1 - reference strength`, rounded to hundredths (reference 0.1..1.0 → denoise 0.9..0). */
export function denoiseStrengthOf(referenceStrength: number): number {
  return Math.round((1 - referenceStrength) * 100) / 100;
}

/** The seed's "Jobs Table" metadata keys. */
function jobMetadata(input: ValidJobRequest, payload: WorkerPayload, cost: number): Record<string, unknown> {
  const e = input.entry;
  const imageRef = input.references.find((r) => r.type !== 'start_frame' && r.type !== 'end_frame');
  return {
    model_variant: e.modelVariant,
    queue: e.queue,
    ...(payload.negative_prompt ? { negative_prompt: payload.negative_prompt } : {}),
    seed: input.seed,
    num_images: input.numImages,
    ...(imageRef
      ? { reference_image_url: imageRef.url, reference_type: imageRef.type, reference_strength: imageRef.strength }
      : {}),
    references: input.references,
    expected_generation_time: expectedTimeOf(e, input.numImages),
    content_type: e.format,
    file_extension: e.fileExtension,
    credits: cost,
    dual_worker_routing: true,
    negative_prompt_supported: e.negativePromptSupported,
    edge_function_version: EDGE_FUNCTION_VERSION,
  };
}
