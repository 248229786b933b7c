import { JOB_TYPES, type JobType, type MediaFormat, type Quality } from '../vocabulary.js';

/*
 * The job-type catalog: the one table of data that routing, payload settings,
 * pricing and the `jobTypes` query all read. Expected times are the upper ends
 * of the legacy system's performance table (per image for SDXL).
 */

export type QueueName = 'sdxl_queue' | 'wan_queue';

export interface SampleSettings {
  size: string;
  sample_steps: number;
  sample_guide_scale: number;
  sample_solver: string;
  sample_shift: number;
  frame_num: number;
  enhance_prompt: boolean;
}

export interface JobTypeEntry {
  jobType: JobType;
  format: MediaFormat;
  quality: Quality;
  queue: QueueName;
  modelVariant: 'lustify_sdxl' | 'wan_2_1_1_3b';
  /** The legacy system's `model_type` in images/videos/usage_logs metadata. */
  modelType: 'sdxl' | 'wan' | 'enhanced-7b';
  bucket: JobType;
  fileExtension: 'png' | 'mp4';
  contentType: 'image/png' | 'video/mp4';
  /** Seconds for one output. */
  expectedGenerationTime: number;
  allowedNumImages: readonly number[];
  /** Credits for one output; SDXL jobs cost this × numImages. */
  creditCost: number;
  negativePromptSupported: boolean;
  enhanced: boolean;
  sample: SampleSettings;
}

const SDXL_COUNTS = [1, 3, 6] as const;
const ONE = [1] as const;

/** What follows from the output's format alone. */
const MEDIA = {
  image: { fileExtension: 'png', contentType: 'image/png' },
  video: { fileExtension: 'mp4', contentType: 'video/mp4' },
} as const satisfies Record<MediaFormat, Pick<JobTypeEntry, 'fileExtension' | 'contentType'>>;

/** The producer's sampler settings (worker payload `config`), by quality, format and enhancement. */
function sample(quality: Quality, format: MediaFormat, enhanced: boolean): SampleSettings {
  return {
    size: '480*832',
    sample_steps: quality === 'fast' ? 25 : 50,
    sample_guide_scale: quality === 'fast' ? 6.5 : 7.5,
    sample_solver: 'unipc',
    sample_shift: 5.0,
    frame_num: format === 'video' ? 83 : 1,
    enhance_prompt: enhanced,
  };
}

/** What the workers behind each queue can do. */
const WORKERS = {
  sdxl_queue: { allowedNumImages: SDXL_COUNTS, negativePromptSupported: true },
  wan_queue: { allowedNumImages: ONE, negativePromptSupported: false },
} as const satisfies Record<QueueName, Pick<JobTypeEntry, 'allowedNumImages' | 'negativePromptSupported'>>;

type Row = Pick<
  JobTypeEntry,
  'jobType' | 'format' | 'quality' | 'queue' | 'modelVariant' | 'modelType' | 'enhanced' | 'expectedGenerationTime' | 'creditCost'
>;

/**
 * One row of the table, completed with what its queue, format and quality
 * imply. Outputs go to the bucket named after the job type, as in the legacy system.
 */
const row = (r: Row): JobTypeEntry => ({
  ...r,
  ...WORKERS[r.queue],
  ...MEDIA[r.format],
  bucket: r.jobType,
  sample: sample(r.quality, r.format, r.enhanced),
});

// prettier-ignore
export const CATALOG: Readonly<Record<JobType, JobTypeEntry>> = Object.freeze({
  sdxl_image_fast:       row({ jobType: 'sdxl_image_fast',       format: 'image', quality: 'fast', queue: 'sdxl_queue', modelVariant: 'lustify_sdxl', modelType: 'sdxl',        enhanced: false, expectedGenerationTime: 5,   creditCost: 1 }),
  sdxl_image_high:       row({ jobType: 'sdxl_image_high',       format: 'image', quality: 'high', queue: 'sdxl_queue', modelVariant: 'lustify_sdxl', modelType: 'sdxl',        enhanced: false, expectedGenerationTime: 8,   creditCost: 2 }),
  image_fast:            row({ jobType: 'image_fast',            format: 'image', quality: 'fast', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'wan',         enhanced: false, expectedGenerationTime: 40,  creditCost: 1 }),
  image_high:            row({ jobType: 'image_high',            format: 'image', quality: 'high', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'wan',         enhanced: false, expectedGenerationTime: 100, creditCost: 2 }),
  video_fast:            row({ jobType: 'video_fast',            format: 'video', quality: 'fast', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'wan',         enhanced: false, expectedGenerationTime: 180, creditCost: 3 }),
  video_high:            row({ jobType: 'video_high',            format: 'video', quality: 'high', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'wan',         enhanced: false, expectedGenerationTime: 240, creditCost: 5 }),
  image7b_fast_enhanced: row({ jobType: 'image7b_fast_enhanced', format: 'image', quality: 'fast', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'enhanced-7b', enhanced: true,  expectedGenerationTime: 100, creditCost: 2 }),
  image7b_high_enhanced: row({ jobType: 'image7b_high_enhanced', format: 'image', quality: 'high', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'enhanced-7b', enhanced: true,  expectedGenerationTime: 240, creditCost: 3 }),
  video7b_fast_enhanced: row({ jobType: 'video7b_fast_enhanced', format: 'video', quality: 'fast', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'enhanced-7b', enhanced: true,  expectedGenerationTime: 240, creditCost: 5 }),
  video7b_high_enhanced: row({ jobType: 'video7b_high_enhanced', format: 'video', quality: 'high', queue: 'wan_queue',  modelVariant: 'wan_2_1_1_3b', modelType: 'enhanced-7b', enhanced: true,  expectedGenerationTime: 300, creditCost: 8 }),
});

export const QUEUES: readonly QueueName[] = ['sdxl_queue', 'wan_queue'];

/**
 * The one bucket the fleet's second generation (worker-protocol §5) uploads
 * every output to, at `<user_id>/<payload id>/<i>.<ext>`, whatever the job type.
 */
export const SECOND_GENERATION_BUCKET = 'workspace-temp';

/** Every bucket the storage endpoints accept: one per job type, the second generation's output bucket and the legacy system's two reference buckets. */
export const BUCKETS: readonly string[] = [...JOB_TYPES, SECOND_GENERATION_BUCKET, 'reference_images', 'workspace_assets'];

export function isJobType(value: string): value is JobType {
  return Object.hasOwn(CATALOG, value);
}

export function priceOf(e: JobTypeEntry, numImages: number): number {
  return e.creditCost * numImages;
}

export function expectedTimeOf(e: JobTypeEntry, numImages: number): number {
  return e.expectedGenerationTime * numImages;
}
