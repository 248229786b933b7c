/**
 * Exercises the simulator's HTTP behaviour against a tiny stand-in for the
 * fleet-facing endpoints (pop, upload, callback). This is not the real server;
 * it only records what the simulator sends so the calls can be checked
 * against worker-protocol.md.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { SIMULATED_FAILURE, startSimulator, type SimulatorHandle, type SimulatorOptions } from '../../sim/simulator.js';
import { countMp4Frames } from '../../sim/mp4.js';

const SERVICE_KEY = 'service-key-for-tests';
const QUEUE_TOKEN = 'queue-token-for-tests';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Callback {
  at: number;
  auth: string | undefined;
  contentType: string | undefined;
  body: {
    job_id: string;
    status: string;
    progress?: number;
    assets?: string[];
    error_message?: string | null;
    metadata?: { seed: number; generation_time: number; num_images: number };
    enhancedPrompt?: string;
  };
}

class FakeFleetEndpoints {
  readonly pops: Recorded[] = [];
  readonly uploads: Recorded[] = [];
  readonly callbacks: Callback[] = [];
  readonly lists = new Map<string, unknown[]>();
  uploadStatus = 200;
  private server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rec: Recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        const pop = /^\/redis\/rpop\/([^/]+)$/.exec(rec.path);
        if (pop) {
          this.pops.push(rec);
          if (req.headers.authorization !== `Bearer ${QUEUE_TOKEN}`) return send(401, { error: 'Unauthorized' });
          const list = this.lists.get(pop[1]!) ?? [];
          // LPUSH in, RPOP out: the oldest element is at the end.
          return send(200, { result: list.length ? list.pop() : null });
        }
        if (rec.path.startsWith('/supa/storage/v1/object/') && rec.method === 'POST') {
          this.uploads.push(rec);
          return send(this.uploadStatus, this.uploadStatus < 300 ? { Key: rec.path } : { error: 'nope' });
        }
        if (rec.path === '/supa/functions/v1/job-callback' && rec.method === 'POST') {
          this.callbacks.push({
            at: Date.now(),
            auth: req.headers.authorization,
            contentType: req.headers['content-type'],
            body: JSON.parse(rec.body.toString('utf8')),
          });
          return send(200, { success: true });
        }
        send(404, { error: `no route ${rec.method} ${rec.path}` });
      });
    });
  }

  /** LPUSH a payload the way the producer does: as a JSON string element. */
  lpush(queue: string, payload: unknown, raw = false): void {
    const list = this.lists.get(queue) ?? [];
    list.unshift(raw ? payload : JSON.stringify(payload));
    this.lists.set(queue, list);
  }

  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  callbacksFor(jobId: string): Callback['body'][] {
    return this.callbacks.filter((c) => c.body.job_id === jobId).map((c) => c.body);
  }

  finished(jobId: string): boolean {
    return this.callbacksFor(jobId).some((c) => c.status === 'completed' || c.status === 'failed');
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

let fake: FakeFleetEndpoints;
let sim: SimulatorHandle | undefined;
const logs: string[] = [];

async function start(overrides: Partial<SimulatorOptions> = {}): Promise<SimulatorHandle> {
  fake = new FakeFleetEndpoints();
  const base = await fake.listen();
  logs.length = 0;
  sim = startSimulator({
    supabaseUrl: `${base}/supa/`,
    serviceKey: SERVICE_KEY,
    queueUrl: `${base}/redis`,
    queueToken: QUEUE_TOKEN,
    speed: 300,
    failRate: 0,
    queues: ['sdxl_queue', 'wan_queue'],
    pollMs: 20,
    log: (l) => logs.push(l),
    random: () => 0.5,
    ...overrides,
  });
  return sim;
}

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
  await fake?.close();
});

async function formFile(rec: Recorded): Promise<{ names: string[]; file: File }> {
  const form = await new Request('http://local/', {
    method: 'POST',
    headers: { 'content-type': String(rec.headers['content-type']) },
    body: new Uint8Array(rec.body),
  }).formData();
  const file = form.get('file');
  if (!(file instanceof File)) throw new Error('multipart body has no "file" part');
  return { names: [...form.keys()], file };
}

describe('simulator worker', () => {
  it('runs SDXL and WAN jobs exactly over the fleet protocol', async () => {
    const before = Math.floor(Date.now() / 1000);
    const s = await start();
    fake.lpush('sdxl_queue', {
      id: 'job-sdxl',
      type: 'sdxl_image_fast',
      prompt: 'a red fox in the snow',
      user_id: 'user-1',
      negative_prompt: 'blurry',
      bucket: 'sdxl_image_fast',
      config: { num_images: 3, expected_time: 15 },
    });
    fake.lpush('wan_queue', {
      id: 'job-video',
      type: 'video_fast',
      prompt: 'waves on a beach',
      user_id: 'user-2',
      video_id: 'vid-1',
      bucket: 'video_fast',
      config: { size: '64*48', frame_num: 5, seed: 1234, expected_time: 30 },
    });
    fake.lpush('wan_queue', {
      id: 'job-enhanced',
      type: 'image7b_fast_enhanced',
      prompt: 'a castle',
      user_id: 'user-2',
      config: { size: '96*64', seed: 7, expected_time: 30, enhance_prompt: true },
    });

    await waitFor(
      () => ['job-sdxl', 'job-video', 'job-enhanced'].every((j) => fake.finished(j)),
      'all three jobs to finish',
    );
    const after = Math.floor(Date.now() / 1000);

    // Pops: GET with the queue token, on both queues, under the queue base URL.
    expect(fake.pops.length).toBeGreaterThanOrEqual(4);
    for (const p of fake.pops) {
      expect(p.method).toBe('GET');
      expect(p.headers.authorization).toBe(`Bearer ${QUEUE_TOKEN}`);
    }
    expect(new Set(fake.pops.map((p) => p.path))).toEqual(new Set(['/redis/rpop/sdxl_queue', '/redis/rpop/wan_queue']));

    // Every upload and callback carries the service key, never the queue token.
    for (const u of fake.uploads) expect(u.headers.authorization).toBe(`Bearer ${SERVICE_KEY}`);
    for (const c of fake.callbacks) {
      expect(c.auth).toBe(`Bearer ${SERVICE_KEY}`);
      expect(c.contentType).toMatch(/^application\/json/);
    }

    // SDXL: three raw PNG uploads with x-upsert, named sdxl_<job>_<ts>_<n>.png, 1024x1024 by default.
    const sdxlUploads = fake.uploads.filter((u) => u.path.includes('/sdxl_image_fast/'));
    expect(sdxlUploads).toHaveLength(3);
    const sdxlNames: string[] = [];
    sdxlUploads.forEach((u, i) => {
      const m = /^\/supa\/storage\/v1\/object\/sdxl_image_fast\/user-1\/(sdxl_job-sdxl_(\d+)_(\d)\.png)$/.exec(u.path);
      expect(m, u.path).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThanOrEqual(before);
      expect(Number(m![2])).toBeLessThanOrEqual(after);
      expect(Number(m![3])).toBe(i + 1);
      sdxlNames.push(`user-1/${m![1]}`);
      expect(u.headers['content-type']).toBe('image/png');
      expect(u.headers['x-upsert']).toBe('true');
      const png = PNG.sync.read(u.body);
      expect([png.width, png.height]).toEqual([1024, 1024]);
    });
    // Batch images differ from each other.
    expect(sdxlUploads[0]!.body.equals(sdxlUploads[1]!.body)).toBe(false);

    const sdxl = fake.callbacksFor('job-sdxl');
    expect(sdxl.map((c) => c.status)).toEqual(['processing', 'processing', 'processing', 'processing', 'completed']);
    const progress = sdxl.slice(0, 4).map((c) => c.progress!);
    expect(progress[0]).toBe(0);
    for (let i = 1; i < progress.length; i++) expect(progress[i]).toBeGreaterThan(progress[i - 1]!);
    const done = sdxl[4]!;
    expect(done.assets).toEqual(sdxlNames);
    expect(done.error_message).toBeNull();
    // No seed in the payload: the worker picks one (random() = 0.5) and reports it.
    expect(done.metadata).toEqual({ seed: 2147483648, generation_time: expect.any(Number), num_images: 3 });
    // About expected_time / speed = 15 / 300 s.
    expect(done.metadata!.generation_time).toBeGreaterThanOrEqual(0.05);
    expect(done.enhancedPrompt).toBeUndefined();

    // WAN video: one multipart upload, part "file", video/mp4, no x-upsert, path <job_type>/<user>/<video_id>.mp4.
    const videoUpload = fake.uploads.find((u) => u.path.includes('/video_fast/'))!;
    expect(videoUpload.path).toBe('/supa/storage/v1/object/video_fast/user-2/vid-1.mp4');
    expect(videoUpload.headers['x-upsert']).toBeUndefined();
    expect(videoUpload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const video = await formFile(videoUpload);
    expect(video.names).toEqual(['file']);
    expect(video.file.type).toBe('video/mp4');
    expect(video.file.name).toBe('vid-1.mp4');
    expect(countMp4Frames(Buffer.from(await video.file.arrayBuffer()))).toBe(5);

    const vid = fake.callbacksFor('job-video');
    expect(vid.map((c) => c.status)).toEqual(['processing', 'processing', 'processing', 'processing', 'completed']);
    expect(vid.slice(0, 4).map((c) => c.progress)).toEqual([0, 25, 50, 75]);
    // Progress is spread over the simulated time (30 / 300 s = 100 ms): 75% comes >= 75 ms after 0%.
    const vidTimes = fake.callbacks.filter((c) => c.body.job_id === 'job-video').map((c) => c.at);
    expect(vidTimes[3]! - vidTimes[0]!).toBeGreaterThanOrEqual(70);
    expect(vid[4]!.assets).toEqual(['user-2/vid-1.mp4']);
    expect(vid[4]!.metadata).toMatchObject({ seed: 1234, num_images: 1 });
    expect(vid[4]!.enhancedPrompt).toBeUndefined();

    // WAN enhanced image: PNG part, named after the job id when there is no video_id, enhanced prompt reported.
    const imgUpload = fake.uploads.find((u) => u.path.includes('/image7b_fast_enhanced/'))!;
    expect(imgUpload.path).toBe('/supa/storage/v1/object/image7b_fast_enhanced/user-2/job-enhanced.png');
    expect(imgUpload.headers['x-upsert']).toBeUndefined();
    const img = await formFile(imgUpload);
    expect(img.file.type).toBe('image/png');
    const decoded = PNG.sync.read(Buffer.from(await img.file.arrayBuffer()));
    expect([decoded.width, decoded.height]).toEqual([96, 64]);
    const enh = fake.callbacksFor('job-enhanced');
    expect(enh.at(-1)).toMatchObject({
      status: 'completed',
      assets: ['user-2/job-enhanced.png'],
      enhancedPrompt: 'a castle, highly detailed, cinematic lighting',
      metadata: { seed: 7, num_images: 1 },
    });

    // The WAN worker takes one job at a time, in FIFO order.
    const wanOrder = fake.callbacks.filter((c) => c.body.job_id !== 'job-sdxl').map((c) => c.body.job_id);
    expect(wanOrder.lastIndexOf('job-video')).toBeLessThan(wanOrder.indexOf('job-enhanced'));

    await s.stop();
    expect(s.processed).toBe(3);
    expect(logs.join('\n')).not.toContain(SERVICE_KEY);
    expect(logs.join('\n')).not.toContain(QUEUE_TOKEN);
  });

  it('fails every job with empty assets when SIM_FAIL_RATE is 1', async () => {
    await start({ failRate: 1 });
    fake.lpush('sdxl_queue', { id: 'f1', type: 'sdxl_image_high', prompt: 'p', user_id: 'u', config: { num_images: 6 } });
    fake.lpush('wan_queue', { id: 'f2', type: 'video_high', prompt: 'p', user_id: 'u', video_id: 'v', config: {} });
    await waitFor(() => fake.finished('f1') && fake.finished('f2'), 'both jobs to fail');
    for (const id of ['f1', 'f2']) {
      const last = fake.callbacksFor(id).at(-1)!;
      expect(last).toEqual({ job_id: id, status: 'failed', assets: [], error_message: SIMULATED_FAILURE });
    }
    expect(fake.uploads).toHaveLength(0);
  });

  it('fails a job whose type this queue does not serve, without processing callbacks', async () => {
    await start();
    fake.lpush('sdxl_queue', { id: 'wrong', type: 'video_fast', prompt: 'p', user_id: 'u', config: {} });
    await waitFor(() => fake.finished('wrong'), 'the wrong-queue job to fail');
    const cbs = fake.callbacksFor('wrong');
    expect(cbs).toHaveLength(1);
    expect(cbs[0]).toMatchObject({ status: 'failed', assets: [] });
    expect(cbs[0]!.error_message).toMatch(/video_fast.*not served by sdxl_queue/);
  });

  it('reports an upload the server rejects as a failed job', async () => {
    await start();
    fake.uploadStatus = 403;
    fake.lpush('sdxl_queue', { id: 'up', type: 'sdxl_image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    await waitFor(() => fake.finished('up'), 'the job to fail');
    const last = fake.callbacksFor('up').at(-1)!;
    expect(last).toMatchObject({ status: 'failed', assets: [] });
    expect(last.error_message).toMatch(/Upload of sdxl_image_fast\/u\/sdxl_up_\d+_1\.png failed: HTTP 403/);
  });

  it('treats 201 as success for SDXL uploads but not for WAN uploads, like the fleet', async () => {
    await start();
    fake.uploadStatus = 201;
    fake.lpush('sdxl_queue', { id: 's201', type: 'sdxl_image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    fake.lpush('wan_queue', { id: 'w201', type: 'image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    await waitFor(() => fake.finished('s201') && fake.finished('w201'), 'both jobs to finish');
    expect(fake.callbacksFor('s201').at(-1)!.status).toBe('completed');
    expect(fake.callbacksFor('w201').at(-1)).toMatchObject({ status: 'failed', error_message: expect.stringMatching(/HTTP 201/) });
  });

  it('pops again at once after a job, and stop() cuts an idle wait short', async () => {
    const s = await start({ pollMs: 60_000, queues: ['sdxl_queue'] });
    // The first pop happens at start; queue the jobs after it so only "pop again at once" can pick them up.
    await waitFor(() => fake.pops.length >= 1, 'the first pop');
    // Too late for the first pop: the worker is now idle for 60 s.
    fake.lpush('sdxl_queue', { id: 'late', type: 'sdxl_image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.finished('late')).toBe(false);
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeLessThan(1000);

    // A fresh worker with two jobs queued before it starts runs both back to back.
    await fake.close();
    const s2 = await start({ pollMs: 60_000, queues: ['sdxl_queue'] });
    for (const id of ['a', 'b']) {
      fake.lpush('sdxl_queue', { id, type: 'sdxl_image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    }
    await waitFor(() => fake.finished('a') && fake.finished('b'), 'both jobs, well before the 60 s poll interval', 5000);
    await s2.stop();
    expect(s2.processed).toBe(2);
  });

  it('keeps polling through refused pops and drops malformed elements', async () => {
    await start({ queueToken: 'wrong-token', queues: ['wan_queue'] });
    await waitFor(() => fake.pops.length >= 3, 'repeated pops');
    expect(fake.callbacks).toHaveLength(0);
    expect(logs.filter((l) => l.includes('pop failed: HTTP 401'))).toHaveLength(1);
    await sim!.stop();
    await fake.close();

    const s = await start({ queues: ['wan_queue'] });
    fake.lpush('wan_queue', { not: 'a string' }, true);
    fake.lpush('wan_queue', '{broken json', true);
    fake.lpush('wan_queue', { id: 'ok', type: 'image_fast', prompt: 'p', user_id: 'u', config: { size: '32*32' } });
    await waitFor(() => fake.finished('ok'), 'the valid job after two malformed ones');
    expect(logs.filter((l) => l.includes('dropped a malformed job'))).toHaveLength(2);
    await s.stop();
    expect(s.processed).toBe(3);
  });

  it('rejects options it cannot run with', () => {
    expect(() =>
      startSimulator({
        supabaseUrl: 'nope',
        serviceKey: 'k',
        queueUrl: 'http://localhost:1',
        queueToken: 't',
        speed: 0,
        failRate: 2,
        queues: ['gpu_queue'],
        pollMs: 10,
      }),
    ).toThrow(/supabaseUrl.*speed.*failRate.*gpu_queue/);
  });

  it('SIM_GENERATION 2: raw uploads with x-upsert into workspace-temp, a thumbnail beside each, asset objects', async () => {
    await start({ generation: 2 });
    fake.lpush('sdxl_queue', {
      id: 'job-2s',
      type: 'sdxl_image_fast',
      prompt: 'p',
      user_id: 'user-1',
      config: { num_images: 3, size: '64*48', seed: 5, expected_time: 3 },
    });
    fake.lpush('wan_queue', {
      id: 'job-2w',
      type: 'image_fast',
      prompt: 'p',
      user_id: 'user-2',
      video_id: 'vid-9',
      config: { size: '32*64', expected_time: 3 },
      metadata: { start_reference_url: 'http://127.0.0.1:1/first.png', start_reference_image_url: 'http://127.0.0.1:1/ignored.png' },
    });
    await waitFor(() => fake.finished('job-2s') && fake.finished('job-2w'), 'both second-generation jobs');

    for (const u of fake.uploads) {
      expect(u.headers['x-upsert']).toBe('true');
      expect(String(u.headers['content-type'])).not.toMatch(/multipart/);
    }
    const paths = fake.uploads.map((u) => [u.path.replace('/supa/storage/v1/object/', ''), u.headers['content-type']]);
    expect(paths.filter(([p]) => String(p).includes('job-2s'))).toEqual([
      ['workspace-temp/user-1/job-2s/0.png', 'image/png'],
      ['workspace-temp/user-1/job-2s/0.thumb.webp', 'image/webp'],
      ['workspace-temp/user-1/job-2s/1.png', 'image/png'],
      ['workspace-temp/user-1/job-2s/1.thumb.webp', 'image/webp'],
      ['workspace-temp/user-1/job-2s/2.png', 'image/png'],
      ['workspace-temp/user-1/job-2s/2.thumb.webp', 'image/webp'],
    ]);
    // The WAN worker names even an image 0.mp4 and labels it video/mp4; the bytes are a PNG.
    expect(paths.filter(([p]) => String(p).includes('job-2w'))).toEqual([
      ['workspace-temp/user-2/job-2w/0.mp4', 'video/mp4'],
      ['workspace-temp/user-2/job-2w/0.thumb.webp', 'image/webp'],
    ]);
    const wanImage = fake.uploads.find((u) => u.path.endsWith('job-2w/0.mp4'))!;
    expect(PNG.sync.read(wanImage.body).width).toBe(32);
    const thumb = fake.uploads.find((u) => u.path.endsWith('job-2s/0.thumb.webp'))!;
    expect(thumb.body.subarray(8, 12).toString('latin1')).toBe('WEBP');

    const sdxlDone = fake.callbacksFor('job-2s').at(-1)! as unknown as Record<string, any>;
    expect(sdxlDone.status).toBe('completed');
    expect(sdxlDone.assets).toEqual(
      [0, 1, 2].map((i) => ({
        type: 'image',
        url: `user-1/job-2s/${i}.png`,
        thumbnail_url: `user-1/job-2s/${i}.thumb.webp`,
        metadata: expect.objectContaining({ seed: 5, asset_index: i, width: 64, height: 48 }),
      })),
    );
    expect(sdxlDone.enhancedPrompt).toBeUndefined();
    const wanDone = fake.callbacksFor('job-2w').at(-1)! as unknown as Record<string, any>;
    expect(wanDone.assets).toEqual([
      { type: 'image', url: 'user-2/job-2w/0.mp4', thumbnail_url: 'user-2/job-2w/0.thumb.webp', metadata: expect.any(Object) },
    ]);
    // The WAN worker reports no seed.
    expect(wanDone.metadata).toEqual({ generation_time: expect.any(Number) });
    // It reads the second generation's frame reference name, not the first's.
    expect(logs.some((l) => l.includes('start_reference_url not usable'))).toBe(true);
    expect(logs.some((l) => l.includes('start_reference_image_url'))).toBe(false);
  });
});
