import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { images, jobs, usageLogs, videos } from '../../src/db/schema.js';
import { QUEUE_JOB_PATH } from '../../src/http/rest.js';
import { CATALOG } from '../../src/resolvers/catalog.js';
import type { JobType } from '../../src/vocabulary.js';
import { gql, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';

/**
 * After a full lifecycle (queued over the legacy system's REST door, run by the fleet's
 * HTTP calls), the rows carry the metadata keys of the legacy system's "Database Schema
 * Updates" and "Usage Tracking" sections, so seed-era reports keep working.
 */

let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isIso = (v: unknown) => typeof v === 'string' && v.includes('T') && !Number.isNaN(Date.parse(v));

/** Asserts every key is present (a JSON null counts as present) and returns the object for finer checks. */
function expectKeys(obj: Record<string, unknown>, keys: string[], what: string): void {
  const missing = keys.filter((k) => !(k in obj));
  expect(missing, `${what} misses seed keys`).toEqual([]);
}

const JOB_KEYS = [
  'model_variant',
  'queue',
  'seed',
  'num_images',
  'generation_time',
  'expected_generation_time',
  'dual_worker_routing',
  'negative_prompt_supported',
  'edge_function_version',
  'content_type',
  'file_extension',
];
const REFERENCE_KEYS = ['reference_image_url', 'reference_type', 'reference_strength'];
const IMAGE_KEYS = [
  'model_type',
  'is_sdxl',
  'is_enhanced',
  'seed',
  'generation_time',
  'image_index',
  'total_images',
  'original_job_id',
  'callback_processed_at',
  'callback_debug',
];
const CALLBACK_DEBUG_KEYS = ['job_type', 'primary_asset', 'received_assets', 'processing_timestamp'];
const VIDEO_KEYS = [
  'model_type',
  'is_enhanced',
  'seed',
  'generation_time',
  'stored_path',
  'bucket',
  'path_consistency_fixed',
  'callback_processed_at',
];
const USAGE_KEYS = [
  'job_id',
  'project_id',
  'image_id',
  'video_id',
  'model_type',
  'model_variant',
  'queue',
  'dual_worker_routing',
  'negative_prompt_supported',
  'usage_timestamp',
];

async function queueViaRest(token: string, body: Record<string, unknown>): Promise<Record<string, any>> {
  const res = await fetch(`${server.url}${QUEUE_JOB_PATH}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return res.json();
}

async function popJob(queue: string, id: string): Promise<Record<string, any>> {
  for (let i = 0; i < 100; i++) {
    const payload = await worker.pop(queue);
    if (payload === null) break;
    if (payload.id === id) return payload;
  }
  throw new Error(`payload of job ${id} not found in ${queue}`);
}

/** Runs a popped job as the fleet does: processing, uploads, completed. Returns the asset paths. */
async function runAsFleet(payload: Record<string, any>, report: { seed?: number; generation_time?: number } | null) {
  const type = payload.type as JobType;
  const entry = CATALOG[type];
  expect((await worker.callback({ job_id: payload.id, status: 'processing', progress: 50 })).status).toBe(200);
  const paths: string[] = [];
  if (entry.queue === 'sdxl_queue') {
    for (let n = 1; n <= payload.config.num_images; n++) {
      const path = `${payload.user_id}/sdxl_${payload.id}_1752700000_${n}.png`;
      expect((await worker.uploadRaw(payload.bucket, path, new Uint8Array([137, 80, 78, 71, n]))).status).toBe(200);
      paths.push(path);
    }
  } else {
    const path = `${payload.user_id}/${payload.video_id}.${entry.fileExtension}`;
    const up = await worker.uploadMultipart(type, path, new Uint8Array([0, 0, 0, 8, 1, 2, 3, 4]), entry.contentType);
    expect(up.status).toBe(200);
    paths.push(path);
  }
  const done = await worker.callback({
    job_id: payload.id,
    status: 'completed',
    assets: paths,
    error_message: null,
    ...(report ? { metadata: { ...report, num_images: paths.length } } : {}),
  });
  expect(done.status).toBe(200);
  return paths;
}

async function rowsOf(jobId: string) {
  const db = server.app.deps.db;
  const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
  const imgs = await db.select().from(images).where(eq(images.jobId, jobId)).orderBy(asc(images.imageIndex));
  const vids = await db.select().from(videos).where(eq(videos.jobId, jobId));
  const logs = (await db.select().from(usageLogs).where(eq(usageLogs.userId, job.userId))).filter(
    (l) => l.metadata.job_id === jobId,
  );
  return { job, imgs, vids, logs };
}

function expectUsageLog(log: Record<string, unknown>, jobId: string, type: JobType, ids: { projectId: string | null; imageId: string | null; videoId: string | null }) {
  const entry = CATALOG[type];
  expectKeys(log, USAGE_KEYS, 'usage_logs.metadata');
  expect(log).toMatchObject({
    job_id: jobId,
    project_id: ids.projectId,
    image_id: ids.imageId,
    video_id: ids.videoId,
    model_type: entry.modelType,
    model_variant: entry.modelVariant,
    queue: entry.queue,
    dual_worker_routing: true,
    negative_prompt_supported: entry.negativePromptSupported,
  });
  expect(isIso(log.usage_timestamp)).toBe(true);
}

describe('seed data shapes after a full lifecycle', () => {
  it('SDXL, 3 images with a reference: jobs, images and usage_logs metadata', async () => {
    const token = await server.userToken();
    const projectId = randomUUID();
    const queued = await queueViaRest(token, {
      jobType: 'sdxl_image_high',
      metadata: {
        prompt: 'two dancers on a rooftop',
        num_images: 3,
        reference_image_url: 'https://93.184.215.14/ref.jpg',
        reference_type: 'character',
        reference_strength: 0.6,
        credits: 1,
      },
      projectId,
    });
    const jobId = queued.job.id as string;
    const payload = await popJob('sdxl_queue', jobId);
    const paths = await runAsFleet(payload, { seed: 987654321, generation_time: 21.5 });
    const { job, imgs, vids, logs } = await rowsOf(jobId);

    expect(job.status).toBe('completed');
    expectKeys(job.metadata, [...JOB_KEYS, 'negative_prompt', ...REFERENCE_KEYS], 'jobs.metadata');
    expect(job.metadata).toMatchObject({
      model_variant: 'lustify_sdxl',
      queue: 'sdxl_queue',
      negative_prompt: payload.negative_prompt,
      seed: 987654321,
      num_images: 3,
      reference_image_url: 'https://93.184.215.14/ref.jpg',
      reference_type: 'character',
      reference_strength: 0.6,
      generation_time: 21.5,
      expected_generation_time: CATALOG.sdxl_image_high.expectedGenerationTime * 3,
      dual_worker_routing: true,
      negative_prompt_supported: true,
      content_type: 'image',
      file_extension: 'png',
    });
    expect(typeof job.metadata.edge_function_version).toBe('string');

    expect(vids).toEqual([]);
    expect(imgs).toHaveLength(3);
    for (const [i, img] of imgs.entries()) {
      expect(img.path).toBe(paths[i]);
      expect(img.status).toBe('completed');
      expectKeys(img.metadata, IMAGE_KEYS, `images[${i}].metadata`);
      expect(img.metadata).toMatchObject({
        model_type: 'sdxl',
        is_sdxl: true,
        is_enhanced: false,
        seed: 987654321,
        generation_time: 21.5,
        image_index: i,
        total_images: 3,
        original_job_id: jobId,
      });
      expect(isIso(img.metadata.callback_processed_at)).toBe(true);
      const debug = img.metadata.callback_debug as Record<string, unknown>;
      expectKeys(debug, CALLBACK_DEBUG_KEYS, `images[${i}].metadata.callback_debug`);
      expect(debug).toMatchObject({ job_type: 'sdxl_image_high', primary_asset: paths[0], received_assets: paths });
      expect(isIso(debug.processing_timestamp)).toBe(true);
    }

    expect(logs).toHaveLength(1);
    expect(logs[0].action).toBe('queue_job');
    expect(logs[0].creditsConsumed).toBe(CATALOG.sdxl_image_high.creditCost * 3);
    expectUsageLog(logs[0].metadata, jobId, 'sdxl_image_high', { projectId, imageId: imgs[0].id, videoId: null });

    // Job.metadata over GraphQL is the job's.
    const viaGql = await gql(server.url, token, 'query($id: ID!) { job(id: $id) { status metadata } }', { id: jobId });
    expect(viaGql.data!.job.status).toBe('completed');
    expect(viaGql.data!.job.metadata).toEqual(job.metadata);
  });

  it('WAN video (the WAN worker sends no metadata): jobs, videos and usage_logs metadata', async () => {
    const token = await server.userToken();
    const projectId = randomUUID();
    const videoId = randomUUID();
    const queued = await queueViaRest(token, {
      jobType: 'video7b_high_enhanced',
      metadata: { prompt: 'a paper boat in the rain', seed: 31337 },
      projectId,
      videoId,
    });
    const jobId = queued.job.id as string;
    const payload = await popJob('wan_queue', jobId);
    expect(payload.video_id).toBe(videoId);
    const [path] = await runAsFleet(payload, null);
    const { job, imgs, vids, logs } = await rowsOf(jobId);

    expect(job.status).toBe('completed');
    expectKeys(job.metadata, JOB_KEYS, 'jobs.metadata');
    expect(job.metadata).not.toHaveProperty('negative_prompt');
    expect(job.metadata).toMatchObject({
      model_variant: 'wan_2_1_1_3b',
      queue: 'wan_queue',
      seed: 31337,
      num_images: 1,
      generation_time: null,
      negative_prompt_supported: false,
      content_type: 'video',
      file_extension: 'mp4',
    });

    expect(imgs).toEqual([]);
    expect(vids).toHaveLength(1);
    expect(vids[0].id).toBe(videoId);
    expect(vids[0].path).toBe(path);
    expectKeys(vids[0].metadata, VIDEO_KEYS, 'videos.metadata');
    expect(vids[0].metadata).toMatchObject({
      model_type: 'enhanced-7b',
      is_enhanced: true,
      seed: 31337,
      generation_time: null,
      stored_path: path,
      bucket: 'video7b_high_enhanced',
      path_consistency_fixed: true,
    });
    expect(isIso(vids[0].metadata.callback_processed_at)).toBe(true);

    expect(logs).toHaveLength(1);
    expectUsageLog(logs[0].metadata, jobId, 'video7b_high_enhanced', { projectId, imageId: null, videoId });

    const viaGql = await gql(server.url, token, 'query($id: ID!) { job(id: $id) { metadata } }', { id: jobId });
    expect(viaGql.data!.job.metadata).toEqual(job.metadata);
  });

  it('WAN image with a worker-reported seed: the image row, no negative prompt, usage log with image_id', async () => {
    const token = await server.userToken();
    const queued = await queueViaRest(token, { jobType: 'image_fast', metadata: { prompt: 'a teapot' } });
    const jobId = queued.job.id as string;
    expect(queued.job.metadata.seed).toBeNull();
    const payload = await popJob('wan_queue', jobId);
    const [path] = await runAsFleet(payload, { seed: 4242, generation_time: 30.25 });
    const { job, imgs, logs } = await rowsOf(jobId);
    expectKeys(job.metadata, JOB_KEYS, 'jobs.metadata');
    expect(job.metadata).toMatchObject({ seed: 4242, generation_time: 30.25, num_images: 1 });
    expect(imgs).toHaveLength(1);
    expectKeys(imgs[0].metadata, IMAGE_KEYS, 'images.metadata');
    expect(imgs[0].metadata).toMatchObject({
      model_type: 'wan',
      is_sdxl: false,
      is_enhanced: false,
      seed: 4242,
      image_index: 0,
      total_images: 1,
      callback_debug: { job_type: 'image_fast', primary_asset: path, received_assets: [path] },
    });
    expect(imgs[0].id).toMatch(UUID);
    expectUsageLog(logs[0].metadata, jobId, 'image_fast', { projectId: null, imageId: imgs[0].id, videoId: null });
  });
});
