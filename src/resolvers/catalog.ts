/**
 * The job-type catalog: the one table of data that routing, payload settings,
 * pricing and the `jobTypes` query all read. Expected times are the upper ends
 * of the seed's performance table (per image for SDXL).
 */
export const JOB_TYPES = [
  'sdxl_image_fast',
  'sdxl_image_high',
  'image_fast',
  'image_high',
  'video_fast',
  'video_high',
  'image7b_fast_enhanced',
  'image7b_high_enhanced',
  'video7b_fast_enhanced',
  'video7b_high_enhanced',
] as const;
export type JobType = (typeof JOB_TYPES)[number];
export type MediaFormat = 'image' | 'video';
export type Quality = 'fast' | 'high';
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
  /** The seed's `model_type` in images/videos/usage_logs metadata. */
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

function entry(
  jobType: JobType,
  format: MediaFormat,
  quality: Quality,
  expectedGenerationTime: number,
  creditCost: number,
): JobTypeEntry {
  const sdxl = jobType.startsWith('sdxl_');
  const enhanced = jobType.endsWith('_enhanced');
  return {
    jobType,
    format,
    quality,
    queue: sdxl ? 'sdxl_queue' : 'wan_queue',
    modelVariant: sdxl ? 'lustify_sdxl' : 'wan_2_1_1_3b',
    modelType: sdxl ? 'sdxl' : enhanced ? 'enhanced-7b' : 'wan',
    bucket: jobType,
    fileExtension: format === 'video' ? 'mp4' : 'png',
    contentType: format === 'video' ? 'video/mp4' : 'image/png',
    expectedGenerationTime,
    allowedNumImages: sdxl ? SDXL_COUNTS : ONE,
    creditCost,
    negativePromptSupported: sdxl,
    enhanced,
    sample: sample(quality, format, enhanced),
  };
}

export const CATALOG: Readonly<Record<JobType, JobTypeEntry>> = Object.freeze({
  sdxl_image_fast: entry('sdxl_image_fast', 'image', 'fast', 5, 1),
  sdxl_image_high: entry('sdxl_image_high', 'image', 'high', 8, 2),
  image_fast: entry('image_fast', 'image', 'fast', 40, 1),
  image_high: entry('image_high', 'image', 'high', 100, 2),
  video_fast: entry('video_fast', 'video', 'fast', 180, 3),
  video_high: entry('video_high', 'video', 'high', 240, 5),
  image7b_fast_enhanced: entry('image7b_fast_enhanced', 'image', 'fast', 100, 2),
  image7b_high_enhanced: entry('image7b_high_enhanced', 'image', 'high', 240, 3),
  video7b_fast_enhanced: entry('video7b_fast_enhanced', 'video', 'fast', 240, 5),
  video7b_high_enhanced: entry('video7b_high_enhanced', 'video', 'high', 300, 8),
});

export const QUEUES: readonly QueueName[] = ['sdxl_queue', 'wan_queue'];

/**
 * The one bucket the fleet's second generation (worker-protocol §5) uploads
 * every output to, at `<user_id>/<payload id>/<i>.<ext>`, whatever the job type.
 */
export const SECOND_GENERATION_BUCKET = 'workspace-temp';

/** Every bucket the storage endpoints accept: one per job type, the second generation's output bucket and the seed's two reference buckets. */
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
