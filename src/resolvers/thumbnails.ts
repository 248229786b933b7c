import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Storage } from '../storage/storage.js';

/** Longest side of a server-made thumbnail, the same as the fleet's second generation makes. */
export const THUMBNAIL_SIZE = 256;
/** A thumbnail that takes longer than this is given up: the callback that waits for it has a 30 s budget. */
const THUMBNAIL_TIMEOUT_MS = 10_000;
/** Larger sources are not decoded (about 8k × 8k); generation outputs are far smaller. */
const MAX_INPUT_PIXELS = 64_000_000;

/** `u/sdxl_1.png` → `u/sdxl_1.thumb.webp`: beside the output, named like the second generation names its own. */
export function thumbnailPathFor(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  const stem = dot > slash + 1 ? path.slice(0, dot) : path;
  return `${stem}.thumb.webp`;
}

/**
 * Makes a WebP thumbnail of a video output from its first frame (a poster),
 * with the ffmpeg binary that ships as an npm package, and stores it beside
 * the output. Same promise as `makeThumbnail`: null rather than an error, so
 * a video that ffmpeg cannot read, or a platform without the binary, only
 * costs the thumbnail.
 */
export async function makeVideoPoster(
  storage: Storage,
  logger: Logger,
  bucket: string,
  path: string,
): Promise<string | null> {
  return withinBudget(logger, bucket, path, async () => {
    const ffmpeg = await ffmpegPath();
    if (!ffmpeg) return null;
    const source = await storage.get(bucket, path);
    if (!source) return null;
    // A file, not a pipe: MP4s whose index comes last cannot be read from a stream.
    const dir = await mkdtemp(join(tmpdir(), 'genjob-poster-'));
    try {
      const input = join(dir, 'input');
      await writeFile(input, source.body);
      const frame = await firstFrame(ffmpeg, input);
      return await storeWebp(storage, bucket, path, frame);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

let sharpModule: Promise<typeof import('sharp')> | undefined;

/** sharp (libvips, about 28 MB resident once loaded) is loaded by the first thumbnail, not at start-up. */
async function loadSharp(): Promise<typeof import('sharp').default> {
  sharpModule ??= import('sharp');
  return (await sharpModule).default;
}

let ffmpegLookup: Promise<string | null> | undefined;

/** The bundled ffmpeg binary, or null where the package has none for this platform. */
function ffmpegPath(): Promise<string | null> {
  ffmpegLookup ??= import('@ffmpeg-installer/ffmpeg')
    .then((m) => (m as unknown as { default?: { path?: string }; path?: string }).default?.path ?? (m as { path?: string }).path ?? null)
    .catch(() => null);
  return ffmpegLookup;
}

/** The first video frame as PNG bytes (ffmpeg on a file; killed when the budget runs out). */
function firstFrame(ffmpeg: string, input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-v', 'error', '-i', input, '-frames:v', '1', '-f', 'image2pipe', '-vcodec', 'png', 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), THUMBNAIL_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-500)));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const png = Buffer.concat(out);
      if (code === 0 && png.length > 0) resolve(png);
      else reject(new Error(`ffmpeg could not read a frame (exit ${code}): ${err.trim() || 'no output'}`));
    });
  });
}

/** Encodes a picture as the 256 px WebP thumbnail of `path` and stores it beside it. */
async function storeWebp(storage: Storage, bucket: string, path: string, picture: Uint8Array): Promise<string> {
  const target = thumbnailPathFor(path);
  const webp = await (await loadSharp())(picture, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
    .rotate()
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toBuffer();
  await storage.put(bucket, target, new Uint8Array(webp.buffer, webp.byteOffset, webp.byteLength), {
    contentType: 'image/webp',
    upsert: true,
  });
  return target;
}

/** Runs one thumbnail job; null when it fails or outlasts the budget (it is logged, never thrown). */
async function withinBudget(
  logger: Logger,
  bucket: string,
  path: string,
  work: () => Promise<string | null>,
): Promise<string | null> {
  if (thumbnailPathFor(path) === path) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), THUMBNAIL_TIMEOUT_MS);
  });
  const attempt = work().catch((err: unknown) => {
    logger.info({ bucket, path, reason: err instanceof Error ? err.message : String(err) }, 'no thumbnail for this output');
    return null;
  });
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes a WebP thumbnail (longest side 256 px) of an image output and stores
 * it beside the output, in the same bucket. Resolves to its path, or to null
 * when the output is missing, is not a decodable image or takes too long:
 * a thumbnail is a convenience and never fails a job.
 */
export async function makeThumbnail(
  storage: Storage,
  logger: Logger,
  bucket: string,
  path: string,
): Promise<string | null> {
  return withinBudget(logger, bucket, path, async () => {
    const source = await storage.get(bucket, path);
    if (!source) return null;
    return storeWebp(storage, bucket, path, source.body);
  });
}
