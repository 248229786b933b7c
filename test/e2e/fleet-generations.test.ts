import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signCallback } from '../../src/auth/callbackSignature.js';
import { renderPlaceholderMp4 } from '../../sim/video.js';
import { images, jobs, usageLogs, users, videos } from '../../src/db/schema.js';
import { fleet, gql, newUser, startTestServer, type TestServer, type TestUser } from '../helpers/app.js';

/**
 * Both fleet generations (docs/worker-protocol.md) against one started
 * server, with requests shaped exactly as each sends them: the first uploads
 * into the job type's bucket (SDXL raw with x-upsert, WAN multipart) and
 * reports paths; the second uploads everything raw into `workspace-temp`
 * under `<user_id>/<job_id>/` with a `.thumb.webp` beside each output and
 * reports asset objects.
 */

const ASSETS = `assets { index bucket path url contentType thumbnailUrl }`;
const GET = `query($id: ID!) { job(id: $id) { id status errorMessage seed ${ASSETS} } }`;

let server: TestServer;
let worker: ReturnType<typeof fleet>;
let workerToken: string;

beforeAll(async () => {
  server = await startTestServer({ STARTING_CREDITS: '1000' });
  workerToken = await server.workerToken();
  worker = fleet(server.url, workerToken);
});
afterAll(async () => {
  await server?.close();
});

/** A real PNG of the given size (distinct colour per call, so outputs differ). */
async function png(width: number, height: number): Promise<Buffer> {
  const c = () => Math.floor(Math.random() * 256);
  return sharp({ create: { width, height, channels: 3, background: { r: c(), g: c(), b: c() } } }).png().toBuffer();
}

async function webp(width: number, height: number): Promise<Buffer> {
  return sharp(await png(width, height)).webp().toBuffer();
}

/** The start of an ISO-BMFF MP4 (an `ftyp` box) and some payload: what the sniffer and the browser go by. */
function mp4(): Buffer {
  const ftyp = Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  return Buffer.concat([ftyp, Buffer.from(randomUUID().repeat(20))]);
}

async function queue(user: TestUser, input: Record<string, unknown>): Promise<string> {
  const res = await gql(server.url, user.token, `mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }`, { i: input });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.queueJob.job.id as string;
}

/** Queues a job and pops it as a worker of that queue would; returns the payload the worker got. */
async function take(user: TestUser, input: Record<string, unknown>): Promise<Record<string, any>> {
  const id = await queue(user, input);
  const q = String(input.jobType).startsWith('sdxl_') ? 'sdxl_queue' : 'wan_queue';
  for (let i = 0; i < 100; i++) {
    const payload = await worker.pop(q);
    if (payload === null) break;
    if (payload.id === id) return payload;
  }
  throw new Error(`job ${id} was not in ${q}`);
}

async function getJob(user: TestUser, id: string): Promise<Record<string, any>> {
  const res = await gql(server.url, user.token, GET, { id });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data!.job;
}

async function download(url: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()) };
}

async function expectDownload(url: string, bytes: Buffer, contentType: string): Promise<void> {
  const got = await download(url);
  expect(got.status, url).toBe(200);
  expect(got.type).toBe(contentType);
  expect(got.bytes.equals(bytes)).toBe(true);
}

/** A server-made thumbnail: a WebP whose longest side is 256 px (or the source's, when smaller). */
async function expectServerThumbnail(url: string, source: { width: number; height: number }): Promise<void> {
  const got = await download(url);
  expect(got.status).toBe(200);
  expect(got.type).toBe('image/webp');
  const meta = await sharp(got.bytes).metadata();
  expect(meta.format).toBe('webp');
  const scale = Math.min(1, 256 / Math.max(source.width, source.height));
  expect(Math.max(meta.width!, meta.height!)).toBe(Math.round(Math.max(source.width, source.height) * scale));
}

/** First generation, SDXL: raw body, image/png, x-upsert, `sdxl_<job_id>_<ts>_<n>.png` in the job type's bucket. */
async function uploadSdxl1(payload: Record<string, any>, n: number, bytes: Buffer): Promise<string> {
  const path = `${payload.user_id}/sdxl_${payload.id}_${Math.floor(Date.now() / 1000)}_${n}.png`;
  const res = await worker.uploadRaw(payload.bucket, path, bytes, 'image/png');
  expect(res.status).toBe(200);
  return path;
}

/** Second generation: raw body with its content type and x-upsert, into workspace-temp. */
async function upload2(path: string, bytes: Buffer, contentType: string): Promise<void> {
  const res = await worker.uploadRaw('workspace-temp', path, bytes, contentType);
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Everything a refused request must leave as it was. */
async function snapshot(user: TestUser, jobId: string) {
  const db = server.app.deps.db;
  return {
    job: (await db.select().from(jobs).where(eq(jobs.id, jobId)))[0],
    images: await db.select().from(images).where(eq(images.jobId, jobId)).orderBy(asc(images.imageIndex)),
    videos: await db.select().from(videos).where(eq(videos.jobId, jobId)),
    credits: (await db.select().from(users).where(eq(users.id, user.id)))[0]?.credits,
    usage: (await db.select().from(usageLogs).where(eq(usageLogs.userId, user.id))).length,
    queues: [await worker.llen('sdxl_queue'), await worker.llen('wan_queue')],
  };
}

describe('first generation (paths in the job type bucket)', () => {
  it('SDXL batch of 3: raw uploads, string assets; server-made WebP thumbnails', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_fast', prompt: 'gen1 sdxl batch', numImages: 3 });
    const sizes = [
      { width: 640, height: 480 },
      { width: 300, height: 900 },
      { width: 120, height: 100 },
    ];
    const outputs = await Promise.all(sizes.map((s) => png(s.width, s.height)));
    const paths: string[] = [];
    for (const [i, bytes] of outputs.entries()) paths.push(await uploadSdxl1(payload, i + 1, bytes));
    const res = await worker.callback({
      job_id: payload.id,
      status: 'completed',
      assets: paths,
      error_message: null,
      metadata: { seed: 42, generation_time: 3.5, num_images: 3 },
    });
    expect(res.status).toBe(200);

    const job = await getJob(user, payload.id);
    expect(job.status).toBe('completed');
    expect(job.assets.map((a: any) => [a.index, a.bucket, a.path, a.contentType])).toEqual(
      paths.map((p, i) => [i, 'sdxl_image_fast', p, 'image/png']),
    );
    for (const [i, a] of job.assets.entries()) {
      await expectDownload(a.url, outputs[i]!, 'image/png');
      expect(a.thumbnailUrl).toEqual(expect.any(String));
      await expectServerThumbnail(a.thumbnailUrl, sizes[i]!);
    }
    // Stored beside the output, in the same bucket.
    const rows = await server.app.deps.db.select().from(images).where(eq(images.jobId, payload.id)).orderBy(asc(images.imageIndex));
    expect(rows.map((r) => [r.bucket, r.thumbnailPath])).toEqual(paths.map((p) => ['sdxl_image_fast', p.replace(/\.png$/, '.thumb.webp')]));
  });

  it('WAN video: multipart upload, one string asset; the server makes a poster-frame thumbnail', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'video_fast', prompt: 'gen1 wan video' });
    const bytes = await renderPlaceholderMp4({ width: 64, height: 112, frames: 3, prompt: 'p', seed: 1 });
    const path = `${payload.user_id}/${payload.video_id}.mp4`;
    expect((await worker.uploadMultipart(payload.type, path, bytes, 'video/mp4')).status).toBe(200);
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [path], error_message: null })).status).toBe(200);

    const job = await getJob(user, payload.id);
    expect(job.status).toBe('completed');
    expect(job.assets).toHaveLength(1);
    expect(job.assets[0]).toMatchObject({ bucket: 'video_fast', path, contentType: 'video/mp4' });
    await expectDownload(job.assets[0].url, bytes, 'video/mp4');
    await expectServerThumbnail(job.assets[0].thumbnailUrl, { width: 64, height: 112 });
  });

  it('WAN video that ffmpeg cannot read: completed, thumbnailUrl null', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'video_fast', prompt: 'gen1 unreadable video' });
    const bytes = mp4(); // an ftyp box and noise: an MP4 by its first bytes, nothing to decode
    const path = `${payload.user_id}/${payload.video_id}.mp4`;
    expect((await worker.uploadMultipart(payload.type, path, bytes, 'video/mp4')).status).toBe(200);
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [path] })).status).toBe(200);
    const job = await getJob(user, payload.id);
    expect(job.status).toBe('completed');
    expect(job.assets[0]).toMatchObject({ contentType: 'video/mp4', thumbnailUrl: null });
    await expectDownload(job.assets[0].url, bytes, 'video/mp4');
  });

  it('WAN image: multipart upload of a PNG named <video_id>.png; server-made thumbnail', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'image_fast', prompt: 'gen1 wan image' });
    const bytes = await png(480, 832);
    const path = `${payload.user_id}/${payload.video_id}.png`;
    expect((await worker.uploadMultipart(payload.type, path, bytes, 'image/png')).status).toBe(200);
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [path], error_message: null })).status).toBe(200);

    const job = await getJob(user, payload.id);
    expect(job.assets[0]).toMatchObject({ bucket: 'image_fast', path, contentType: 'image/png' });
    await expectDownload(job.assets[0].url, bytes, 'image/png');
    await expectServerThumbnail(job.assets[0].thumbnailUrl, { width: 480, height: 832 });
  });

  it('an output that is not a decodable image completes the job without a thumbnail', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_fast', prompt: 'gen1 broken png' });
    // A PNG signature followed by garbage: recognised as PNG, not decodable.
    const bytes = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('not really a png')]);
    const path = await uploadSdxl1(payload, 1, bytes);
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [path] })).status).toBe(200);
    const job = await getJob(user, payload.id);
    expect(job.status).toBe('completed');
    expect(job.assets[0]).toMatchObject({ contentType: 'image/png', thumbnailUrl: null });
    expect(await server.app.deps.storage.exists('sdxl_image_fast', path.replace(/\.png$/, '.thumb.webp'))).toBe(false);
  });
});

describe('second generation (objects in workspace-temp)', () => {
  it('SDXL batch of 3: raw uploads with thumbnails, object assets; each asset and thumbnail downloads its bytes', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_high', prompt: 'gen2 sdxl batch', numImages: 3 });
    const folder = `${payload.user_id}/${payload.id}`;
    const outputs = await Promise.all([png(1024, 1024), png(832, 480), png(480, 832)]);
    const thumbs = await Promise.all([webp(256, 256), webp(256, 148), webp(148, 256)]);
    const assets = [];
    for (const i of [0, 1, 2]) {
      await upload2(`${folder}/${i}.png`, outputs[i]!, 'image/png');
      await upload2(`${folder}/${i}.thumb.webp`, thumbs[i]!, 'image/webp');
      assets.push({
        type: 'image',
        url: `${folder}/${i}.png`,
        thumbnail_url: `${folder}/${i}.thumb.webp`,
        metadata: { width: 1024, height: 1024, format: 'png', seed: 777, asset_index: i, file_size_bytes: outputs[i]!.length },
      });
    }
    const res = await worker.callback({ job_id: payload.id, status: 'completed', assets, metadata: { seed: 777, generation_time: 8.1, num_images: 3 } });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ success: true, debug: { assetsProcessed: 3 } });

    const job = await getJob(user, payload.id);
    expect(job).toMatchObject({ status: 'completed', seed: 777 });
    expect(job.assets.map((a: any) => [a.index, a.bucket, a.path, a.contentType])).toEqual(
      [0, 1, 2].map((i) => [i, 'workspace-temp', `${folder}/${i}.png`, 'image/png']),
    );
    for (const [i, a] of job.assets.entries()) {
      await expectDownload(a.url, outputs[i]!, 'image/png');
      await expectDownload(a.thumbnailUrl, thumbs[i]!, 'image/webp');
    }
    const rows = await server.app.deps.db.select().from(images).where(eq(images.jobId, payload.id)).orderBy(asc(images.imageIndex));
    expect(rows.map((r) => [r.bucket, r.thumbnailPath, r.contentType])).toEqual(
      [0, 1, 2].map((i) => ['workspace-temp', `${folder}/${i}.thumb.webp`, 'image/png']),
    );
    // The worker's own metadata is kept with each image.
    expect(rows[1]!.metadata.worker_metadata).toEqual(assets[1]!.metadata);
  });

  it('WAN video: 0.mp4 and 0.thumb.webp, url with a leading "workspace-temp/", metadata without a seed', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'video_high', prompt: 'gen2 wan video' });
    const folder = `${payload.user_id}/${payload.id}`;
    const bytes = mp4();
    const thumb = await webp(148, 256);
    await upload2(`${folder}/0.mp4`, bytes, 'video/mp4');
    await upload2(`${folder}/0.thumb.webp`, thumb, 'image/webp');
    const res = await worker.callback({
      job_id: payload.id,
      status: 'completed',
      assets: [{ type: 'video', url: `workspace-temp/${folder}/0.mp4`, thumbnail_url: `${folder}/0.thumb.webp`, metadata: { format: 'mp4', duration_seconds: 5.2 } }],
      error_message: null,
      metadata: { generation_time: 41 },
    });
    expect(res.status, await res.clone().text()).toBe(200);

    const job = await getJob(user, payload.id);
    expect(job.status).toBe('completed');
    expect(job.assets[0]).toMatchObject({ bucket: 'workspace-temp', path: `${folder}/0.mp4`, contentType: 'video/mp4' });
    await expectDownload(job.assets[0].url, bytes, 'video/mp4');
    await expectDownload(job.assets[0].thumbnailUrl, thumb, 'image/webp');
    const [row] = await server.app.deps.db.select().from(videos).where(eq(videos.jobId, payload.id));
    expect(row).toMatchObject({ bucket: 'workspace-temp', path: `${folder}/0.mp4`, thumbnailPath: `${folder}/0.thumb.webp` });
  });

  it('WAN image: a PNG named 0.mp4 and labelled video/mp4 is stored, listed and served as image/png', async () => {
    const user = await newUser(server);
    const payload = await take(user, { jobType: 'image_high', prompt: 'gen2 wan image' });
    const folder = `${payload.user_id}/${payload.id}`;
    const bytes = await png(480, 832);
    const thumb = await webp(148, 256);
    await upload2(`${folder}/0.mp4`, bytes, 'video/mp4');
    await upload2(`${folder}/0.thumb.webp`, thumb, 'image/webp');
    const res = await worker.callback({
      job_id: payload.id,
      status: 'completed',
      assets: [{ type: 'image', url: `${folder}/0.mp4`, thumbnail_url: `${folder}/0.thumb.webp`, metadata: { format: 'mp4' } }],
      metadata: { generation_time: 12 },
    });
    expect(res.status, await res.clone().text()).toBe(200);

    const job = await getJob(user, payload.id);
    expect(job.assets[0]).toMatchObject({ bucket: 'workspace-temp', path: `${folder}/0.mp4`, contentType: 'image/png' });
    await expectDownload(job.assets[0].url, bytes, 'image/png');
    await expectDownload(job.assets[0].thumbnailUrl, thumb, 'image/webp');
  });

  it('the payload carries both generations\' names for references', async () => {
    const user = await newUser(server);
    const sdxl = await take(user, {
      jobType: 'sdxl_image_fast',
      prompt: 'with a style reference',
      references: [{ url: 'https://1.1.1.1/ref.png', type: 'style', strength: 0.7 }],
    });
    expect(sdxl.metadata).toMatchObject({
      reference_image_url: 'https://1.1.1.1/ref.png',
      reference_strength: 0.7,
      denoise_strength: 0.3,
      exact_copy_mode: false,
    });
    const wan = await take(user, {
      jobType: 'video_fast',
      prompt: 'from a first frame',
      references: [{ url: 'https://1.1.1.1/first.png', type: 'start_frame', strength: 0.9 }],
    });
    expect(wan.metadata).toMatchObject({
      start_reference_image_url: 'https://1.1.1.1/first.png',
      start_reference_url: 'https://1.1.1.1/first.png',
      reference_strength: 0.9,
      denoise_strength: 0.1,
      exact_copy_mode: false,
    });
  });
});

describe('refusals: 400 and nothing changes', () => {
  async function refusedCallback(user: TestUser, payload: Record<string, any>, assets: unknown[], pattern: RegExp) {
    const before = await snapshot(user, payload.id);
    const res = await worker.callback({ job_id: payload.id, status: 'completed', assets, metadata: { generation_time: 1 } });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ success: false, error: 'Invalid callback' });
    expect(body.details).toMatch(pattern);
    expect(await snapshot(user, payload.id)).toEqual(before);
    expect((await getJob(user, payload.id)).status).toBe('queued');
  }

  it('object assets outside <user_id>/<payload id>/, an unknown asset type, a thumbnail in another user\'s folder', async () => {
    const user = await newUser(server);
    const other = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_fast', prompt: 'refusals' });
    const otherPayload = await take(other, { jobType: 'sdxl_image_fast', prompt: 'someone else' });
    const folder = `${payload.user_id}/${payload.id}`;
    const bytes = await png(64, 64);
    await upload2(`${folder}/0.png`, bytes, 'image/png');
    await upload2(`${other.id}/${otherPayload.id}/0.png`, bytes, 'image/png');
    await upload2(`${other.id}/${otherPayload.id}/0.thumb.webp`, await webp(64, 64), 'image/webp');
    const ok = { type: 'image', url: `${folder}/0.png` };

    // Another user's folder, another job's folder of the same user, the user's root, a path that climbs out.
    await refusedCallback(user, payload, [{ ...ok, url: `${other.id}/${otherPayload.id}/0.png` }], /outside this job's folder/);
    const second = await take(user, { jobType: 'sdxl_image_fast', prompt: 'sibling' });
    await upload2(`${user.id}/${second.id}/0.png`, bytes, 'image/png');
    await refusedCallback(user, payload, [{ ...ok, url: `${user.id}/${second.id}/0.png` }], /outside this job's folder/);
    await refusedCallback(user, payload, [{ ...ok, url: `${user.id}/0.png` }], /outside this job's folder/);
    await refusedCallback(user, payload, [{ ...ok, url: `${folder}/../${second.id}/0.png` }], /"\.\." segment/);
    // Mixed with a good asset: the whole callback is refused.
    await refusedCallback(user, payload, [ok, { ...ok, url: `${other.id}/${otherPayload.id}/0.png` }], /assets\.1\.url/);
    // Unknown type.
    await refusedCallback(user, payload, [{ ...ok, type: 'audio' }], /assets\.0\.type: an asset "type" must be "image" or "video"/);
    await refusedCallback(user, payload, [{ url: ok.url }], /assets\.0\.type/);
    // Thumbnail in another user's folder.
    await refusedCallback(
      user,
      payload,
      [{ ...ok, thumbnail_url: `${other.id}/${otherPayload.id}/0.thumb.webp` }],
      /assets\.0\.thumbnail_url .* outside this job's folder/,
    );

    // The same callback, done right, still completes the job afterwards.
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [ok] })).status).toBe(200);
    expect((await getJob(user, payload.id)).assets[0]).toMatchObject({ bucket: 'workspace-temp', path: ok.url });
  });

  it('a first-generation callback naming another user\'s image makes no thumbnail of it', async () => {
    const user = await newUser(server);
    const other = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_fast', prompt: 'not yours' });
    const path = `${other.id}/sdxl_${randomUUID()}_1700000000_1.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', path, await png(300, 200), 'image/png')).status).toBe(200);
    await refusedCallback(user, payload, [path], /not in the job owner's folder/);
    expect(await server.app.deps.storage.exists('sdxl_image_fast', path.replace(/\.png$/, '.thumb.webp'))).toBe(false);
  });

  it('uploads into workspace-temp outside a handed-out payload\'s folder, or not media, are refused and not stored', async () => {
    const user = await newUser(server);
    const other = await newUser(server);
    const payload = await take(user, { jobType: 'sdxl_image_fast', prompt: 'upload refusals' });
    const bytes = await png(32, 32);
    const cases: Array<[string, string, number, RegExp]> = [
      [`${other.id}/${payload.id}/0.png`, 'image/png', 400, /No job of user/], // the job's payload under another user
      [`${user.id}/${randomUUID()}/0.png`, 'image/png', 400, /No job of user/], // no such payload
      [`${user.id}/0.png`, 'image/png', 400, /no job folder/], // no job folder
      [`${user.id}/${payload.id}/0.html`, 'text/html', 415, /not accepted/], // not media (the rule of every bucket)
    ];
    for (const [path, type, status, pattern] of cases) {
      const res = await worker.uploadRaw('workspace-temp', path, bytes, type);
      expect(res.status, path).toBe(status);
      expect((await res.json()).message).toMatch(pattern);
      expect(await server.app.deps.storage.exists('workspace-temp', path)).toBe(false);
    }
    // A finished job's outputs cannot be replaced.
    await upload2(`${user.id}/${payload.id}/0.png`, bytes, 'image/png');
    expect((await worker.callback({ job_id: payload.id, status: 'completed', assets: [{ type: 'image', url: `${user.id}/${payload.id}/0.png` }] })).status).toBe(200);
    const replaced = await worker.uploadRaw('workspace-temp', `${user.id}/${payload.id}/0.png`, await png(32, 32), 'image/png');
    expect(replaced.status).toBe(400);
    expect((await server.app.deps.storage.get('workspace-temp', `${user.id}/${payload.id}/0.png`))!.body).toEqual(new Uint8Array(bytes));
  });
});

describe('X-Callback-Signature with CALLBACK_HMAC_SECRET set', () => {
  const SECRET = 'callback-hmac-secret-for-tests';
  let signed: TestServer;
  beforeAll(async () => {
    signed = await startTestServer({ CALLBACK_HMAC_SECRET: SECRET });
  });
  afterAll(async () => {
    await signed?.close();
  });

  it('refuses a wrong signature (nothing changes); accepts a right one and none at all', async () => {
    const token = await signed.workerToken();
    const w = fleet(signed.url, token);
    const user = await newUser(signed);
    const ids: string[] = [];
    for (const prompt of ['sig 1', 'sig 2', 'sig 3']) {
      const res = await gql(signed.url, user.token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "${prompt}" }) { job { id } } }`);
      ids.push(res.data!.queueJob.job.id);
    }
    const post = (body: object, signature?: string) =>
      fetch(`${signed.url}/functions/v1/job-callback`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(signature !== undefined ? { 'x-callback-signature': signature } : {}),
        },
        body: JSON.stringify(body),
      });
    const statusOf = async (id: string) => (await gql(signed.url, user.token, `query($id: ID!) { job(id: $id) { status } }`, { id })).data!.job.status;

    const failing = { job_id: ids[0], status: 'failed', error_message: 'x' };
    for (const bad of ['0'.repeat(64), signCallback('another secret', JSON.stringify(failing)), 'not a signature', '']) {
      const res = await post(failing, bad);
      expect(res.status).toBe(401);
      expect((await res.json()).details).toMatch(/X-Callback-Signature/);
    }
    expect(await statusOf(ids[0]!)).toBe('queued');
    // A signature of another body does not carry over.
    expect((await post(failing, signCallback(SECRET, JSON.stringify({ ...failing, job_id: ids[1] })))).status).toBe(401);
    expect(await statusOf(ids[0]!)).toBe('queued');

    const body = JSON.stringify(failing);
    const hex = signCallback(SECRET, body);
    expect((await post(failing, `sha256=${hex}`)).status).toBe(200);
    expect(await statusOf(ids[0]!)).toBe('failed');
    expect((await post({ ...failing, job_id: ids[1] }, Buffer.from(signCallback(SECRET, JSON.stringify({ ...failing, job_id: ids[1] })), 'hex').toString('base64'))).status).toBe(200);
    // The bearer worker key alone stays sufficient.
    expect((await w.callback({ ...failing, job_id: ids[2] })).status).toBe(200);
    expect(await statusOf(ids[2]!)).toBe('failed');
  });
});
