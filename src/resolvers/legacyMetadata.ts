import type { StoredReference } from '../db/schema.js';
import type { JobTypeEntry } from './catalog.js';
import { expectedTimeOf } from './catalog.js';

/**
 * The metadata keys the legacy system wrote into jobs, images, videos and
 * usage_logs, and into the worker payload, built here and nowhere else, so
 * legacy-era reports and the unmodified fleet keep reading what they expect.
 * Snake_case on purpose: these are the legacy system's names.
 */

/** The legacy edge function's version, kept in metadata so legacy-era reports can tell rows apart. */
export const EDGE_FUNCTION_VERSION = '3.0.0';

/** The one reference that guides the image (style, composition or character), if any. */
export function imageReferenceOf(references: readonly StoredReference[]): StoredReference | undefined {
  return references.find((r) => r.type !== 'start_frame' && r.type !== 'end_frame');
}

/** `reference_image_url`, `reference_type`, `reference_strength` of the image reference, at `url`. */
export function imageReferenceKeys(ref: StoredReference, url: string): Record<string, unknown> {
  return { reference_image_url: url, reference_type: ref.type, reference_strength: ref.strength };
}

/**
 * The worker payload's `metadata` (worker-protocol.md §2): the image
 * reference, and the WAN fleet's first/last frame URLs, in the names both
 * fleet generations read. `urlOf` turns a stored reference URL into one a
 * worker can fetch.
 */
export async function payloadReferenceKeys(
  references: readonly StoredReference[],
  urlOf: (url: string) => Promise<string>,
): Promise<Record<string, unknown>> {
  const metadata: Record<string, unknown> = {};
  const imageRef = imageReferenceOf(references);
  if (imageRef) Object.assign(metadata, imageReferenceKeys(imageRef, await urlOf(imageRef.url)));
  // Frame references under both generations' names: the first reads
  // *_reference_image_url, the second *_reference_url (and ignores the former).
  for (const ref of references) {
    if (ref.type === 'start_frame') metadata.start_reference_image_url = metadata.start_reference_url = await urlOf(ref.url);
    if (ref.type === 'end_frame') metadata.end_reference_image_url = metadata.end_reference_url = await urlOf(ref.url);
    if (ref.type === 'start_frame' || ref.type === 'end_frame') metadata.reference_strength ??= ref.strength;
  }
  // The second generation reads image-to-image strength as a denoise
  // strength: how far the output may move away from the reference, the
  // opposite of how strongly the reference holds (README, "Payload").
  if (typeof metadata.reference_strength === 'number') metadata.denoise_strength = denoiseStrengthOf(metadata.reference_strength);
  // Copy mode is never asked for through this API: always an ordinary generation.
  metadata.exact_copy_mode = false;
  return metadata;
}

/** `1 - reference strength`, rounded to hundredths (reference 0.1..1.0 → denoise 0.9..0). */
export function denoiseStrengthOf(referenceStrength: number): number {
  return Math.round((1 - referenceStrength) * 100) / 100;
}

/** The worker payload's `config`: the producer's settings for this job type. */
export function payloadConfig(entry: JobTypeEntry, numImages: number, seed: number | null): Record<string, unknown> {
  return {
    num_images: numImages,
    ...(seed !== null ? { seed } : {}),
    size: entry.sample.size,
    sample_steps: entry.sample.sample_steps,
    sample_guide_scale: entry.sample.sample_guide_scale,
    sample_solver: entry.sample.sample_solver,
    sample_shift: entry.sample.sample_shift,
    frame_num: entry.sample.frame_num,
    enhance_prompt: entry.sample.enhance_prompt,
    expected_time: expectedTimeOf(entry, numImages),
    content_type: entry.format,
    file_extension: entry.fileExtension,
  };
}

/** The legacy "Jobs Table" metadata of a newly queued job. */
export function queuedJobMetadata(job: {
  entry: JobTypeEntry;
  numImages: number;
  seed: number | null;
  references: StoredReference[];
  negativePrompt?: string;
  cost: number;
}): Record<string, unknown> {
  const e = job.entry;
  const imageRef = imageReferenceOf(job.references);
  return {
    model_variant: e.modelVariant,
    queue: e.queue,
    ...(job.negativePrompt ? { negative_prompt: job.negativePrompt } : {}),
    seed: job.seed,
    num_images: job.numImages,
    ...(imageRef ? imageReferenceKeys(imageRef, imageRef.url) : {}),
    references: job.references,
    expected_generation_time: expectedTimeOf(e, job.numImages),
    content_type: e.format,
    file_extension: e.fileExtension,
    credits: job.cost,
    dual_worker_routing: true,
    negative_prompt_supported: e.negativePromptSupported,
    edge_function_version: EDGE_FUNCTION_VERSION,
  };
}

/** An images row's metadata: output `index` of `total`. */
export function imageMetadata(entry: JobTypeEntry, jobId: string, index: number, total: number): Record<string, unknown> {
  return {
    model_type: entry.modelType,
    is_sdxl: entry.queue === 'sdxl_queue',
    is_enhanced: entry.enhanced,
    image_index: index,
    total_images: total,
    original_job_id: jobId,
  };
}

/** A videos row's metadata. */
export function videoMetadata(entry: JobTypeEntry, jobId: string): Record<string, unknown> {
  return { model_type: entry.modelType, is_enhanced: entry.enhanced, original_job_id: jobId };
}

/** The usage_logs metadata of a `queue_job` debit. */
export function queueUsageMetadata(
  entry: JobTypeEntry,
  job: { jobId: string; projectId: string | null; outputId: string; at: Date },
): Record<string, unknown> {
  return {
    job_id: job.jobId,
    project_id: job.projectId,
    image_id: entry.format === 'image' ? job.outputId : null,
    video_id: entry.format === 'video' ? job.outputId : null,
    job_type: entry.jobType,
    model_type: entry.modelType,
    model_variant: entry.modelVariant,
    queue: entry.queue,
    dual_worker_routing: true,
    negative_prompt_supported: entry.negativePromptSupported,
    usage_timestamp: job.at.toISOString(),
  };
}

/** The usage_logs metadata of a refund. */
export function refundUsageMetadata(job: { id: string; jobType: string }, reason: string | null, at: Date): Record<string, unknown> {
  return { job_id: job.id, job_type: job.jobType, reason, usage_timestamp: at.toISOString() };
}

/** What a worker's callback adds to the job's metadata. */
export function callbackMetadata(body: {
  metadata?: Record<string, unknown> | null;
  enhancedPrompt?: string | null;
}): Record<string, unknown> {
  const m: Record<string, unknown> = { callback_processed_at: new Date().toISOString() };
  if (body.metadata) m.worker_metadata = body.metadata;
  if (body.enhancedPrompt) m.enhanced_prompt = body.enhancedPrompt;
  return m;
}

/** A completed image row's metadata (the queued row's keys, plus what the worker reported). */
export function completedImageMetadata(
  entry: JobTypeEntry,
  result: { jobId: string; index: number; assets: readonly unknown[]; seed: number | null; generationTime: number | null; at: string },
  debug: Record<string, unknown>,
): Record<string, unknown> {
  return {
    ...imageMetadata(entry, result.jobId, result.index, result.assets.length),
    seed: result.seed,
    generation_time: result.generationTime,
    callback_processed_at: result.at,
    callback_debug: debug,
  };
}

/** The `callback_debug` every completed image of one callback carries. */
export function callbackDebug(jobType: string, assets: string[], at: string): Record<string, unknown> {
  return { job_type: jobType, primary_asset: assets[0], received_assets: assets, processing_timestamp: at };
}

/** A completed video row's metadata, added to what the queued row held. */
export function completedVideoMetadata(result: {
  bucket: string;
  path: string;
  seed: number | null;
  generationTime: number | null;
  at: string;
}): Record<string, unknown> {
  return {
    seed: result.seed,
    generation_time: result.generationTime,
    stored_path: result.path,
    bucket: result.bucket,
    path_consistency_fixed: true,
    callback_processed_at: result.at,
  };
}
