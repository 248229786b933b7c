/**
 * A stand-in for the GPU fleet: one loop per queue, each taking one job at a
 * time over exactly the HTTP calls the real SDXL and WAN workers make
 * (docs/worker-protocol.md): RPOP the job, send `processing` callbacks,
 * upload placeholder outputs, send the final callback. `generation` picks
 * which of the fleet's two generations it speaks.
 */
import sharp from 'sharp';
import { renderPlaceholderPng } from './png.js';
import { renderPlaceholderMp4 } from './video.js';

export interface SimulatorOptions {
  /** Base URL for uploads and callbacks (the fleet's SUPABASE_URL). */
  supabaseUrl: string;
  /** Bearer token on uploads and callbacks (SUPABASE_SERVICE_KEY). */
  serviceKey: string;
  /** Base URL for `GET /rpop/<queue>` (UPSTASH_REDIS_REST_URL). */
  queueUrl: string;
  /** Bearer token on pops (UPSTASH_REDIS_REST_TOKEN). */
  queueToken: string;
  /** A job takes about `config.expected_time / speed` seconds. > 0. */
  speed: number;
  /** Probability 0..1 that a job fails with a simulated GPU failure. */
  failRate: number;
  /** One worker loop per entry: "sdxl_queue" and/or "wan_queue" (repeat a name for more workers). */
  queues: string[];
  /** Pause between pops while a queue is empty (the fleet uses about 2000 ms). */
  pollMs: number;
  /** One line per event; never given secrets. Default: nothing is logged. */
  log?: (line: string) => void;
  /** Source of randomness for the failure draw and random seeds, [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Which fleet generation to speak (docs/worker-protocol.md). 1 (default):
   * uploads into the job type's bucket, raw (SDXL) or multipart (WAN), and
   * reports asset paths. 2: raw uploads with x-upsert into `workspace-temp`
   * at `<user_id>/<job_id>/<i>.png` or `0.mp4` plus a `.thumb.webp` beside
   * each, and reports asset objects.
   */
  generation?: 1 | 2;
}

export interface SimulatorHandle {
  /** Ends every loop after its current job (and any pop in flight); resolves when all have ended. */
  stop(): Promise<void>;
  /** Jobs taken off the queues and finished so far (completed, failed or dropped as malformed). */
  readonly processed: number;
}

const SDXL_TYPES = ['sdxl_image_fast', 'sdxl_image_high'] as const;
const WAN_TYPES = [
  'image_fast',
  'image_high',
  'video_fast',
  'video_high',
  'image7b_fast_enhanced',
  'image7b_high_enhanced',
  'video7b_fast_enhanced',
  'video7b_high_enhanced',
] as const;

/** The job types each fleet worker accepts; anything else it fails. */
export const QUEUE_JOB_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  sdxl_queue: SDXL_TYPES,
  wan_queue: WAN_TYPES,
});

/** Timeouts the fleet uses for each kind of call. */
export const TIMEOUTS_MS = Object.freeze({ pop: 10_000, upload: 60_000, callback: 30_000, reference: 30_000 });

export const SIMULATED_FAILURE = 'Simulated GPU failure (SIM_FAIL_RATE)';

const PROGRESS_STEPS = [0, 25, 50, 75] as const;
const DEFAULT_EXPECTED_TIME = 30;
const DEFAULT_FRAMES = 83;
const MAX_SEED = 4294967295;

type Json = Record<string, unknown>;

type Popped =
  | { kind: 'job'; job: Json }
  | { kind: 'empty' }
  | { kind: 'unreachable'; reason: string }
  | { kind: 'malformed'; reason: string };

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Ids arrive as strings (uuids); numbers are tolerated and stringified. */
function idOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim()) return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** `"480*832"` (width*height; `x` also accepted) → sides within 16..4096, else the fallback. */
export function parseSize(v: unknown, fallback: { width: number; height: number }): { width: number; height: number } {
  if (typeof v !== 'string') return fallback;
  const m = /^\s*(\d{1,5})\s*[*xX]\s*(\d{1,5})\s*$/.exec(v);
  if (!m) return fallback;
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 16 || height < 16 || width > 4096 || height > 4096) return fallback;
  return { width, height };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function snippet(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: unknown }).cause;
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    return `${err.message}${detail}`;
  }
  return String(err);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * An http(s) base URL that paths can be appended to. Credentials are refused
 * too: fetch() rejects them, and its error message would print them.
 */
export function isPlainHttpUrl(v: unknown): v is string {
  if (typeof v !== 'string' || !/^https?:\/\/[^/]/i.test(v) || !URL.canParse(v)) return false;
  const u = new URL(v);
  return !u.username && !u.password && !u.search && !u.hash && !v.includes('?') && !v.includes('#');
}

function validate(o: SimulatorOptions): void {
  const problems: string[] = [];
  for (const [name, url] of [
    ['supabaseUrl', o.supabaseUrl],
    ['queueUrl', o.queueUrl],
  ] as const) {
    if (!isPlainHttpUrl(url)) {
      problems.push(`${name} must be an http(s) URL without user:password, ?query or #fragment`);
    }
  }
  if (!o.serviceKey) problems.push('serviceKey is empty');
  if (!o.queueToken) problems.push('queueToken is empty');
  if (!(Number.isFinite(o.speed) && o.speed > 0)) problems.push(`speed must be a number > 0, got ${o.speed}`);
  if (!(o.failRate >= 0 && o.failRate <= 1)) problems.push(`failRate must be within 0..1, got ${o.failRate}`);
  if (!(Number.isFinite(o.pollMs) && o.pollMs >= 0)) problems.push(`pollMs must be a number >= 0, got ${o.pollMs}`);
  if (o.generation !== undefined && o.generation !== 1 && o.generation !== 2) problems.push(`generation must be 1 or 2, got ${String(o.generation)}`);
  if (!Array.isArray(o.queues) || o.queues.length === 0) problems.push('queues is empty');
  else {
    const unknown = o.queues.filter((q) => !Object.hasOwn(QUEUE_JOB_TYPES, q));
    if (unknown.length) problems.push(`unknown queue(s) ${unknown.join(', ')}: use sdxl_queue and/or wan_queue`);
  }
  if (problems.length) throw new TypeError(`startSimulator: ${problems.join('; ')}`);
}

function isVideoType(type: string): boolean {
  return type.startsWith('video');
}

/** The placeholder outputs of one job: SDXL `numImages` PNGs, WAN one MP4 or PNG. */
async function render(type: string, prompt: string, seed: number, numImages: number, config: Json): Promise<Buffer[]> {
  if (type.startsWith('sdxl_')) {
    const size = parseSize(config.size, { width: 1024, height: 1024 });
    return Array.from({ length: numImages }, (_, i) =>
      renderPlaceholderPng({ ...size, prompt, seed, index: i, label: `SIMULATED ${type} ${i + 1}/${numImages}` }),
    );
  }
  const size = parseSize(config.size, { width: 480, height: 832 });
  if (!isVideoType(type)) return [renderPlaceholderPng({ ...size, prompt, seed, label: `SIMULATED ${type}` })];
  const f = config.frame_num;
  const frames = typeof f === 'number' && Number.isInteger(f) && f >= 1 && f <= 10_000 ? f : DEFAULT_FRAMES;
  const even = (n: number) => n - (n % 2); // yuv420p needs even sides
  const mp4 = await renderPlaceholderMp4({
    width: even(size.width),
    height: even(size.height),
    frames,
    prompt,
    seed,
    label: 'SIMULATED',
  });
  return [mp4];
}

/**
 * Starts one worker loop per entry of `queues`. Each loop pops a job, runs it
 * to its final callback, then pops again at once; while its queue is empty
 * (or unreachable) it waits `pollMs` between pops.
 */
export function startSimulator(opts: SimulatorOptions): SimulatorHandle {
  validate(opts);
  const supabase = trimSlash(opts.supabaseUrl);
  const queueBase = trimSlash(opts.queueUrl);
  const log = opts.log ?? (() => {});
  const random = opts.random ?? Math.random;
  const serviceAuth = `Bearer ${opts.serviceKey}`;
  const generation = opts.generation ?? 1;

  let stopping = false;
  let processed = 0;
  const wakers = new Set<() => void>();

  /** A pause that stop() cuts short. */
  function idle(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakers.add(done);
    });
  }

  async function pop(queue: string): Promise<Popped> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${queueBase}/rpop/${encodeURIComponent(queue)}`, {
        method: 'GET',
        headers: { Authorization: `Bearer ${opts.queueToken}` },
        signal: AbortSignal.timeout(TIMEOUTS_MS.pop),
      });
      text = await res.text();
    } catch (err) {
      return { kind: 'unreachable', reason: describe(err) };
    }
    if (res.status !== 200) return { kind: 'unreachable', reason: `HTTP ${res.status} ${snippet(text)}`.trim() };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { kind: 'unreachable', reason: `answer is not JSON: ${snippet(text)}` };
    }
    const result = isRecord(body) ? body.result : undefined;
    if (result === null || result === undefined) return { kind: 'empty' };
    // Upstash returns the list element as a string; the fleet json.loads() it.
    if (typeof result !== 'string') {
      return { kind: 'malformed', reason: `"result" is a ${Array.isArray(result) ? 'array' : typeof result}, not a JSON string` };
    }
    let job: unknown;
    try {
      job = JSON.parse(result);
    } catch {
      return { kind: 'malformed', reason: `"result" is not valid JSON: ${snippet(result)}` };
    }
    if (!isRecord(job)) return { kind: 'malformed', reason: `payload is not a JSON object: ${snippet(result)}` };
    return { kind: 'job', job };
  }

  async function callback(tag: string, body: Json): Promise<void> {
    try {
      const res = await fetch(`${supabase}/functions/v1/job-callback`, {
        method: 'POST',
        headers: { Authorization: serviceAuth, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUTS_MS.callback),
      });
      const text = await res.text();
      // The fleet only logs a bad callback answer; it never retries.
      if (res.status !== 200) log(`${tag} callback (${String(body.status)}) answered HTTP ${res.status}: ${snippet(text)}`);
    } catch (err) {
      log(`${tag} callback (${String(body.status)}) lost: ${describe(err)}`);
    }
  }

  async function upload(
    tag: string,
    bucket: string,
    relPath: string,
    media: Buffer,
    style: 'raw' | 'multipart',
    contentType: string,
  ): Promise<void> {
    const url = `${supabase}/storage/v1/object/${[bucket, ...relPath.split('/')].map(encodeURIComponent).join('/')}`;
    const bytes = new Uint8Array(media.buffer, media.byteOffset, media.byteLength) as Uint8Array<ArrayBuffer>;
    let init: RequestInit;
    if (style === 'raw') {
      // SDXL worker: raw body, explicit content type, upsert.
      init = {
        method: 'POST',
        headers: { Authorization: serviceAuth, 'Content-Type': contentType, 'x-upsert': 'true' },
        body: bytes,
      };
    } else {
      // WAN worker: multipart/form-data with one part named "file", no upsert.
      const form = new FormData();
      form.append('file', new Blob([bytes], { type: contentType }), relPath.slice(relPath.lastIndexOf('/') + 1));
      init = { method: 'POST', headers: { Authorization: serviceAuth }, body: form };
    }
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUTS_MS.upload) });
      text = await res.text();
    } catch (err) {
      throw new Error(`Upload of ${bucket}/${relPath} failed: ${describe(err)}`);
    }
    // SDXL accepts 200 or 201; the WAN worker only 200.
    const ok = res.status === 200 || (style === 'raw' && res.status === 201);
    if (!ok) throw new Error(`Upload of ${bucket}/${relPath} failed: HTTP ${res.status} ${snippet(text)}`.trim());
    log(`${tag} uploaded ${bucket}/${relPath} (${media.length} bytes, ${style})`);
  }

  /** The fleet downloads reference images with a plain GET and carries on without them on failure. */
  async function fetchReferences(tag: string, job: Json, sdxl: boolean): Promise<void> {
    const meta = isRecord(job.metadata) ? job.metadata : {};
    // The second generation's WAN worker reads the frame references under other names (and ignores the first's).
    const keys = sdxl
      ? ['reference_image_url']
      : generation === 2
        ? ['start_reference_url', 'end_reference_url']
        : ['start_reference_image_url', 'end_reference_image_url'];
    for (const key of keys) {
      const url = meta[key];
      if (typeof url !== 'string' || !url) continue;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUTS_MS.reference) });
        const body = await res.arrayBuffer();
        if (res.status !== 200) log(`${tag} ${key} not usable (HTTP ${res.status}); continuing without it`);
        else log(`${tag} fetched ${key} (${body.byteLength} bytes, ${res.headers.get('content-type') ?? 'no content type'})`);
      } catch (err) {
        log(`${tag} ${key} not usable (${describe(err)}); continuing without it`);
      }
    }
  }

  async function runJob(queue: string, job: Json): Promise<void> {
    const jobId = idOf(job.id);
    if (!jobId) {
      log(`[${queue}] dropped a job without an id: ${snippet(JSON.stringify(job))}`);
      return;
    }
    const type = typeof job.type === 'string' ? job.type : String(job.type);
    const tag = `[${queue}] job ${jobId}`;
    const fail = async (message: string) => {
      log(`${tag} failed: ${message}`);
      await callback(tag, { job_id: jobId, status: 'failed', assets: [], error_message: message });
    };

    const served = QUEUE_JOB_TYPES[queue]!;
    if (!served.includes(type)) {
      await fail(`Job type ${type} is not served by ${queue} (it serves ${served.join(', ')})`);
      return;
    }
    const userId = idOf(job.user_id);
    if (!userId) {
      await fail('Job payload has no user_id');
      return;
    }
    const sdxl = queue === 'sdxl_queue';
    const prompt = typeof job.prompt === 'string' ? job.prompt : '';
    const config = isRecord(job.config) ? job.config : {};
    const expected = positive(config.expected_time) ?? DEFAULT_EXPECTED_TIME;
    const genMs = (expected / opts.speed) * 1000;
    const started = Date.now();
    log(`${tag} taken: ${type}, "${snippet(prompt, 60)}", ~${(genMs / 1000).toFixed(1)} s`);

    try {
      await fetchReferences(tag, job, sdxl);
      log(`${tag} processing 0%`);
      await callback(tag, { job_id: jobId, status: 'processing', progress: 0 });

      // Draw the outcome and render the outputs up front, so that rendering
      // time is part of the simulated generation time rather than added to it.
      const failing = random() < opts.failRate;
      let seed = 0;
      let numImages = 1;
      let media: Buffer[] = [];
      if (!failing) {
        if (Number.isSafeInteger(config.seed)) seed = config.seed as number;
        else {
          if (config.seed !== undefined && config.seed !== null) {
            log(`${tag} ignores config.seed ${snippet(JSON.stringify(config.seed))}: not an integer`);
          }
          seed = Math.min(MAX_SEED, Math.floor(random() * (MAX_SEED + 1)));
        }
        if (sdxl) numImages = [1, 3, 6].includes(config.num_images as number) ? (config.num_images as number) : 1;
        media = await render(type, prompt, seed, numImages, config);
      }

      for (const progress of PROGRESS_STEPS.slice(1)) {
        await sleep(started + (genMs * progress) / 100 - Date.now());
        log(`${tag} processing ${progress}%`);
        await callback(tag, { job_id: jobId, status: 'processing', progress });
      }
      await sleep(started + genMs - Date.now());
      if (failing) {
        await fail(SIMULATED_FAILURE);
        return;
      }

      if (generation === 2) {
        await completeSecondGeneration(tag, job, jobId, userId, type, sdxl, media, seed, numImages, started);
        return;
      }
      const assets: string[] = [];
      if (sdxl) {
        // sdxl_<job_id>_<unix_ts>_<n>.png, n from 1, in the bucket the payload names.
        const bucket = typeof job.bucket === 'string' && job.bucket ? job.bucket : type;
        const ts = Math.floor(Date.now() / 1000);
        for (const [i, png] of media.entries()) {
          const relPath = `${userId}/sdxl_${jobId}_${ts}_${i + 1}.png`;
          await upload(tag, bucket, relPath, png, 'raw', 'image/png');
          assets.push(relPath);
        }
      } else {
        // The WAN worker uploads to <job_type>/<user_id>/<video_id>.<ext>: the bucket is the job type.
        const video = isVideoType(type);
        const relPath = `${userId}/${idOf(job.video_id) ?? jobId}.${video ? 'mp4' : 'png'}`;
        await upload(tag, type, relPath, media[0]!, 'multipart', video ? 'video/mp4' : 'image/png');
        assets.push(relPath);
      }

      const generationTime = Math.round((Date.now() - started) / 10) / 100;
      const body: Json = {
        job_id: jobId,
        status: 'completed',
        assets,
        error_message: null,
        // The real WAN worker sends no metadata; the simulator reports the seed for both.
        metadata: { seed, generation_time: generationTime, num_images: numImages },
      };
      if (type.endsWith('_enhanced')) body.enhancedPrompt = `${prompt}, highly detailed, cinematic lighting`;
      log(`${tag} completed in ${generationTime} s: ${assets.length} asset(s), seed ${seed}`);
      await callback(tag, body);
    } catch (err) {
      await fail(err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * The second generation's ending (worker-protocol §5): every output raw
   * with x-upsert into workspace-temp under `<user_id>/<job_id>/`, a WebP
   * thumbnail beside each, then asset objects in the callback. The WAN worker
   * names even image outputs `0.mp4` and labels them video/mp4, and reports
   * no seed.
   */
  async function completeSecondGeneration(
    tag: string,
    job: Json,
    jobId: string,
    userId: string,
    type: string,
    sdxl: boolean,
    media: Buffer[],
    seed: number,
    numImages: number,
    started: number,
  ): Promise<void> {
    const bucket = 'workspace-temp';
    const video = isVideoType(type);
    const assets: Json[] = [];
    for (const [i, bytes] of media.entries()) {
      const file = sdxl ? `${i}.png` : '0.mp4';
      const path = `${userId}/${jobId}/${file}`;
      const thumbPath = `${userId}/${jobId}/${i}.thumb.webp`;
      await upload(tag, bucket, path, bytes, 'raw', sdxl ? 'image/png' : 'video/mp4');
      await upload(tag, bucket, thumbPath, await thumbnailOf(type, bytes, isRecord(job.config) ? job.config : {}, seed), 'raw', 'image/webp');
      assets.push({
        type: video ? 'video' : 'image',
        url: path,
        thumbnail_url: thumbPath,
        metadata: sdxl
          ? { ...parseSize((job.config as Json | undefined)?.size, { width: 1024, height: 1024 }), format: 'png', seed, asset_index: i, file_size_bytes: bytes.length }
          : { format: 'mp4', asset_index: 0, file_size_bytes: bytes.length },
      });
    }
    const generationTime = Math.round((Date.now() - started) / 10) / 100;
    const metadata: Json = sdxl ? { seed, generation_time: generationTime, num_images: numImages } : { generation_time: generationTime };
    log(`${tag} completed in ${generationTime} s: ${assets.length} asset(s) in ${bucket} (second generation)`);
    await callback(tag, { job_id: jobId, status: 'completed', assets, error_message: null, metadata });
  }

  async function loop(queue: string, worker: number): Promise<void> {
    const name = worker > 0 ? `${queue}#${worker + 1}` : queue;
    let problem: string | undefined;
    log(`[${name}] worker started`);
    while (!stopping) {
      const popped = await pop(queue);
      if (popped.kind === 'unreachable') {
        if (popped.reason !== problem) log(`[${name}] pop failed: ${popped.reason}; retrying every ${opts.pollMs} ms`);
        problem = popped.reason;
        await idle(opts.pollMs);
        continue;
      }
      if (problem !== undefined) log(`[${name}] queue answers again`);
      problem = undefined;
      if (popped.kind === 'empty') {
        await idle(opts.pollMs);
        continue;
      }
      if (popped.kind === 'malformed') log(`[${name}] dropped a malformed job: ${popped.reason}`);
      else {
        try {
          await runJob(queue, popped.job);
        } catch (err) {
          log(`[${name}] job crashed: ${describe(err)}`);
        }
      }
      processed++;
    }
    log(`[${name}] worker stopped`);
  }

  const seen = new Map<string, number>();
  const loops = opts.queues.map((q) => {
    const n = seen.get(q) ?? 0;
    seen.set(q, n + 1);
    return loop(q, n);
  });
  const all = Promise.all(loops).then(() => undefined);

  return {
    stop() {
      stopping = true;
      for (const wake of [...wakers]) wake();
      return all;
    },
    get processed() {
      return processed;
    },
  };
}

/** A 256 px WebP preview, as the second generation uploads beside each output (a video's is drawn like its frames). */
async function thumbnailOf(type: string, output: Buffer, config: Json, seed: number): Promise<Buffer> {
  const source = isVideoType(type)
    ? renderPlaceholderPng({ ...parseSize(config.size, { width: 480, height: 832 }), prompt: '', seed, label: 'SIMULATED' })
    : output;
  return sharp(source).resize(256, 256, { fit: 'inside' }).webp({ quality: 80 }).toBuffer();
}
