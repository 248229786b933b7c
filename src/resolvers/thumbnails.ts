import type { Logger } from 'pino';
import sharp from 'sharp';
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
  const target = thumbnailPathFor(path);
  if (target === path) return null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), THUMBNAIL_TIMEOUT_MS);
  });
  const work = (async () => {
    const source = await storage.get(bucket, path);
    if (!source) return null;
    const webp = await sharp(source.body, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error' })
      .rotate()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    await storage.put(bucket, target, new Uint8Array(webp.buffer, webp.byteOffset, webp.byteLength), {
      contentType: 'image/webp',
      upsert: true,
    });
    return target;
  })().catch((err: unknown) => {
    logger.info({ bucket, path, reason: err instanceof Error ? err.message : String(err) }, 'no thumbnail for this output');
    return null;
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
