import { and, asc, inArray, isNotNull } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.js';
import { images, videos, type JobRow, type StoredReference } from '../db/schema.js';
import type { JobStatus, JobType, MediaFormat, Quality } from '../vocabulary.js';
import { CATALOG } from './catalog.js';

export interface ScheduleView {
  queuePosition: number | null;
  estimatedStartAt: string | null;
  estimatedCompletionAt: string | null;
}

export interface AssetRecord {
  index: number;
  bucket: string;
  path: string;
  contentType: string | null;
  /** A small preview in the same bucket, when the worker uploaded one or the server made one. */
  thumbnailPath: string | null;
}

/**
 * A job as the API shows it. JSON-safe (dates are ISO strings) because the
 * same object travels through the event bus to other instances.
 */
export interface JobView {
  id: string;
  userId: string;
  jobType: JobType;
  format: MediaFormat;
  quality: Quality;
  status: JobStatus;
  progress: number;
  prompt: string;
  negativePrompt: string | null;
  seed: number | null;
  numImages: number;
  references: StoredReference[];
  modelVariant: string;
  queue: string;
  expectedGenerationTime: number;
  generationTime: number | null;
  creditCost: number;
  errorMessage: string | null;
  enhancedPrompt: string | null;
  assets: AssetRecord[];
  metadata: Record<string, unknown>;
  projectId: string | null;
  webhook: string | null;
  webhookEvents: string[] | null;
  version: number;
  /** Hand-outs to workers so far, and the most allowed. */
  attempts: number;
  maxAttempts: number;
  /** When a worker took the current attempt; null while waiting. */
  takenAt: string | null;
  /**
   * Queue position and estimates, when the publisher computed them (the
   * position notifier); otherwise the API computes them on read.
   */
  schedule?: ScheduleView;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toView(row: JobRow, assets: AssetRecord[]): JobView {
  const entry = CATALOG[row.jobType];
  return {
    id: row.id,
    userId: row.userId,
    jobType: row.jobType,
    format: row.format,
    quality: row.quality,
    status: row.status,
    progress: row.progress,
    prompt: row.prompt,
    negativePrompt: row.negativePrompt,
    seed: row.seed,
    numImages: row.numImages,
    references: row.references,
    modelVariant: entry.modelVariant,
    queue: entry.queue,
    expectedGenerationTime: row.expectedGenerationTime,
    generationTime: row.generationTime,
    creditCost: row.creditCost,
    errorMessage: row.errorMessage,
    enhancedPrompt: row.enhancedPrompt,
    assets,
    metadata: row.metadata,
    projectId: row.projectId,
    webhook: row.webhook,
    webhookEvents: row.webhook ? row.webhookEvents : null,
    version: row.version,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    takenAt: iso(row.pickedAt),
    createdAt: row.createdAt.toISOString(),
    startedAt: iso(row.startedAt),
    completedAt: iso(row.completedAt),
  };
}

/** Loads the finished assets of many jobs in two queries (no N+1). */
export async function loadAssets(db: DbOrTx, rows: JobRow[]): Promise<Map<string, AssetRecord[]>> {
  const out = new Map<string, AssetRecord[]>();
  const done = rows.filter((r) => r.status === 'completed');
  const imageJobs = done.filter((r) => r.format === 'image').map((r) => r.id);
  const videoJobs = done.filter((r) => r.format === 'video').map((r) => r.id);
  const push = (jobId: string, a: AssetRecord) => {
    const list = out.get(jobId) ?? [];
    list.push(a);
    out.set(jobId, list);
  };
  if (imageJobs.length) {
    const imgs = await db
      .select({
        jobId: images.jobId,
        index: images.imageIndex,
        bucket: images.bucket,
        path: images.path,
        contentType: images.contentType,
        thumbnailPath: images.thumbnailPath,
      })
      .from(images)
      .where(and(inArray(images.jobId, imageJobs), isNotNull(images.path)))
      .orderBy(asc(images.jobId), asc(images.imageIndex));
    for (const i of imgs) {
      push(i.jobId, {
        index: i.index,
        bucket: i.bucket,
        path: i.path!,
        contentType: i.contentType ?? contentTypeOf(i.path!),
        thumbnailPath: i.thumbnailPath,
      });
    }
  }
  if (videoJobs.length) {
    const vids = await db
      .select({
        jobId: videos.jobId,
        bucket: videos.bucket,
        path: videos.path,
        contentType: videos.contentType,
        thumbnailPath: videos.thumbnailPath,
      })
      .from(videos)
      .where(and(inArray(videos.jobId, videoJobs), isNotNull(videos.path)));
    for (const v of vids) {
      push(v.jobId, {
        index: 0,
        bucket: v.bucket,
        path: v.path!,
        contentType: v.contentType ?? contentTypeOf(v.path!),
        thumbnailPath: v.thumbnailPath,
      });
    }
  }
  return out;
}

export async function viewsOf(db: DbOrTx, rows: JobRow[]): Promise<JobView[]> {
  const assets = await loadAssets(db, rows);
  return rows.map((r) => toView(r, assets.get(r.id) ?? []));
}

export async function viewOf(db: DbOrTx, row: JobRow): Promise<JobView> {
  return (await viewsOf(db, [row]))[0];
}

/** For rows written before content types were stored: a guess from the extension. */
const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  mp4: 'video/mp4',
  webm: 'video/webm',
};

export function contentTypeOf(path: string): string | null {
  const ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
  return CONTENT_TYPES[ext] ?? null;
}
