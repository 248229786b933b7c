/**
 * The words every layer shares: the values the jobs table's typed columns
 * hold, the GraphQL enums list and the domain checks against. One home each,
 * so a new status or reference type is added in one place. Imports nothing.
 */

/** Every job type, in the order the API lists them. What each one means is the catalog (resolvers/catalog.ts). */
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

export const JOB_STATUSES = ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** A job in one of these may still change: it can be cancelled, and the sweeper watches it. */
export const ACTIVE_STATUSES = ['queued', 'processing'] as const satisfies readonly JobStatus[];
export const isActive = (status: JobStatus): boolean => (ACTIVE_STATUSES as readonly JobStatus[]).includes(status);
/** A job in one of these never changes again; subscriptions complete on it. */
export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set<JobStatus>(['completed', 'failed', 'cancelled']);

export const MEDIA_FORMATS = ['image', 'video'] as const;
export type MediaFormat = (typeof MEDIA_FORMATS)[number];

export const QUALITIES = ['fast', 'high'] as const;
export type Quality = (typeof QUALITIES)[number];

/** References that guide an image (any job type). */
export const IMAGE_REFERENCE_TYPES = ['style', 'composition', 'character'] as const;
/** References that pin a video's first/last frame (video job types only). */
export const FRAME_REFERENCE_TYPES = ['start_frame', 'end_frame'] as const;
export const REFERENCE_TYPES = [...IMAGE_REFERENCE_TYPES, ...FRAME_REFERENCE_TYPES] as const;
export type ReferenceType = (typeof REFERENCE_TYPES)[number];

export function isFrameReference(type: ReferenceType): type is (typeof FRAME_REFERENCE_TYPES)[number] {
  return (FRAME_REFERENCE_TYPES as readonly string[]).includes(type);
}

/** A UUID in its canonical text form (any version, either case): job ids, user ids, output ids. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}
