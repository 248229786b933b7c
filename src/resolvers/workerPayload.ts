import { expectedTimeOf } from './catalog.js';
import type { Deps } from './deps.js';
import { payloadConfig, payloadReferenceKeys } from './legacyMetadata.js';
import { buildNegativePrompt } from './negativePrompt.js';
import { REFERENCE_BUCKET, type ValidJobRequest } from './validateJob.js';

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

/** The list element the fleet pops (worker-protocol.md §2), with the legacy producer's settings. */
export async function buildPayload(
  deps: Deps,
  jobId: string,
  userId: string,
  input: ValidJobRequest,
  outputIds: string[],
  now: Date,
): Promise<WorkerPayload> {
  const entry = input.entry;
  // Workers fetch references with a plain GET, so uploaded ones travel as signed URLs
  // that outlive the job's longest possible wait.
  const ttl = deps.settings.signedUrlTtl + deps.settings.jobTimeoutGrace + expectedTimeOf(entry, input.numImages);
  const fetchable = async (url: string) =>
    url.startsWith(`${REFERENCE_BUCKET}/`)
      ? (await deps.storage.signedGetUrl(REFERENCE_BUCKET, url.slice(REFERENCE_BUCKET.length + 1), ttl)).url
      : url;
  const metadata = await payloadReferenceKeys(input.references, fetchable);
  return {
    id: jobId,
    type: entry.jobType,
    prompt: input.prompt,
    user_id: userId,
    config: payloadConfig(entry, input.numImages, input.seed),
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
