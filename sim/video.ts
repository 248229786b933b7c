/**
 * Placeholder videos for the simulator: frames painted by the png module,
 * piped as raw RGB into ffmpeg, encoded as H.264 in an MP4 with faststart.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { paintPlaceholderRgb } from './png.js';

export interface VideoOptions {
  /** Even, 2..8192 (yuv420p needs even sides). */
  width: number;
  height: number;
  /** Exact number of frames in the output, 1..10000. */
  frames: number;
  /** Frames per second, default 16 (WAN 2.1's rate). */
  fps?: number;
  prompt: string;
  seed: number;
  /** Extra caption text, printed before "frame i/N". */
  label?: string;
}

export const NO_VIDEO_ENCODER =
  'no video encoder found: install ffmpeg (apt-get install ffmpeg) or the npm package @ffmpeg-installer/ffmpeg, or set FFMPEG_PATH';

let located: { key: string; path: Promise<string> } | undefined;

/**
 * The first working ffmpeg with libx264 among: $FFMPEG_PATH, the
 * @ffmpeg-installer/ffmpeg binary, `ffmpeg` on PATH. Cached per process (and
 * per FFMPEG_PATH value); a failed search is retried on the next call.
 */
export function findFfmpeg(): Promise<string> {
  const key = process.env.FFMPEG_PATH ?? '';
  if (!located || located.key !== key) {
    const path = locate(key);
    located = { key, path };
    path.catch(() => {
      if (located?.path === path) located = undefined;
    });
  }
  return located.path;
}

async function locate(envPath: string): Promise<string> {
  const candidates: { label: string; path: () => Promise<string> }[] = [];
  if (envPath.trim()) candidates.push({ label: 'FFMPEG_PATH', path: async () => envPath.trim() });
  candidates.push({
    label: '@ffmpeg-installer/ffmpeg',
    path: async () => (await import('@ffmpeg-installer/ffmpeg')).default.path,
  });
  candidates.push({ label: 'PATH', path: async () => 'ffmpeg' });

  const tried: string[] = [];
  for (const c of candidates) {
    let path: string;
    try {
      path = await c.path();
    } catch (err) {
      // The installer throws a plain string on unsupported platforms.
      tried.push(`${c.label}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      continue;
    }
    const problem = await probe(path);
    if (!problem) return path;
    tried.push(`${c.label} (${path}): ${problem}`);
  }
  throw new Error(`${NO_VIDEO_ENCODER} [tried ${tried.join('; ')}]`);
}

/** Undefined when `path` runs and lists the libx264 encoder, otherwise why not. */
function probe(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(path, ['-hide_banner', '-encoders'], { stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (err) {
      resolve(err instanceof Error ? err.message : String(err));
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (out.length < 1_000_000) out += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code === 'ENOENT' ? 'not found' : err.message);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) resolve(`does not run (${signal ?? `exit code ${code}`})`);
      else if (!/\blibx264\b/.test(out)) resolve('has no libx264 encoder');
      else resolve(undefined);
    });
  });
}

function check(cond: boolean, message: string): void {
  if (!cond) throw new RangeError(`renderPlaceholderMp4: ${message}`);
}

/**
 * A playable H.264 MP4 (yuv420p, faststart) with exactly `frames` frames of a
 * moving placeholder showing the prompt, the seed and the frame number.
 */
export async function renderPlaceholderMp4(opts: VideoOptions): Promise<Buffer> {
  const { width, height, frames } = opts;
  const fps = opts.fps ?? 16;
  check(
    Number.isInteger(width) && Number.isInteger(height) && width >= 2 && height >= 2 && width <= 8192 && height <= 8192,
    `size must be whole numbers in 2..8192, got ${width}x${height}`,
  );
  check(width % 2 === 0 && height % 2 === 0, `width and height must be even for yuv420p, got ${width}x${height}`);
  check(Number.isInteger(frames) && frames >= 1 && frames <= 10_000, `frames must be a whole number in 1..10000, got ${frames}`);
  check(Number.isFinite(fps) && fps > 0 && fps <= 240, `fps must be in (0, 240], got ${fps}`);

  const ffmpeg = await findFfmpeg();
  const dir = await mkdtemp(join(tmpdir(), 'sim-video-'));
  const file = join(dir, 'out.mp4');
  try {
    await encode(ffmpeg, { ...opts, fps }, file);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function encode(ffmpeg: string, o: VideoOptions & { fps: number }, file: string): Promise<void> {
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-r', String(o.fps), '-i', '-',
    '-frames:v', String(o.frames), '-an',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
    '-movflags', '+faststart', '-f', 'mp4', file,
  ];
  const child = spawn(ffmpeg, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exited = false;
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => {
      exited = true;
      reject(new Error(`ffmpeg (${ffmpeg}) could not start: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      exited = true;
      if (code === 0) resolve();
      else reject(new Error(`ffmpeg failed (${signal ?? `exit code ${code}`}): ${stderr.trim() || 'no output'}`));
    });
  });
  done.catch(() => {}); // observed below; this only keeps an early failure from being "unhandled"
  // EPIPE when ffmpeg dies early: the real reason arrives through `done`.
  child.stdin.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(120_000, o.frames * 1000));
  try {
    for (let f = 0; f < o.frames && !exited; f++) {
      const frame = paintPlaceholderRgb({
        width: o.width,
        height: o.height,
        prompt: o.prompt,
        seed: o.seed,
        frame: f,
        frames: o.frames,
        label: `${o.label ? `${o.label} ` : ''}frame ${f + 1}/${o.frames}`,
      });
      if (!child.stdin.write(frame)) {
        await Promise.race([new Promise((r) => child.stdin.once('drain', r)), done]);
      } else {
        // Painting is synchronous; let other simulator loops breathe between frames.
        await new Promise((r) => setImmediate(r));
      }
    }
    child.stdin.end();
    await done;
  } finally {
    clearTimeout(timer);
    if (!exited) child.kill('SIGKILL');
  }
}
