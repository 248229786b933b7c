/**
 * The only content types storage accepts and serves as themselves: the
 * images and videos the product makes and takes as references. Anything else
 * (HTML, SVG, scripts…) could run as a page of whichever origin serves it.
 */
export const MEDIA_TYPES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'image/png': ['png'],
  'image/jpeg': ['jpg', 'jpeg'],
  'image/webp': ['webp'],
  'image/gif': ['gif'],
  'video/mp4': ['mp4', 'm4v'],
  'video/webm': ['webm'],
  'video/quicktime': ['mov'],
});

const BY_EXTENSION = new Map(Object.entries(MEDIA_TYPES).flatMap(([type, exts]) => exts.map((e) => [e, type] as const)));

/** `image/PNG; charset=x` → `image/png`; '' when absent. */
export function bareType(contentType: string | null | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

export function isMediaType(contentType: string | null | undefined): boolean {
  return Object.hasOwn(MEDIA_TYPES, bareType(contentType));
}

/**
 * The media type of an upload: its declared type when that is an accepted
 * one; the type its file extension names when it declared none (or only
 * application/octet-stream, as generic HTTP clients do); otherwise null.
 */
export function mediaTypeOf(contentType: string | null | undefined, filename: string): string | null {
  const declared = bareType(contentType);
  if (Object.hasOwn(MEDIA_TYPES, declared)) return declared;
  if (declared !== '' && declared !== 'application/octet-stream') return null;
  const ext = /\.([A-Za-z0-9]{1,5})$/.exec(filename)?.[1]?.toLowerCase();
  return (ext && BY_EXTENSION.get(ext)) ?? null;
}

/** The list for error messages. */
export const MEDIA_TYPE_LIST = Object.keys(MEDIA_TYPES).join(', ');

/**
 * How a stored object is served on the API's own origin: media types inline
 * (so links open in the browser's image or video viewer), anything else as an
 * opaque attachment, never as a page.
 */
export function downloadHeaders(contentType: string | null, path: string): Record<string, string> {
  const media = isMediaType(contentType);
  const name = path.split('/').pop() ?? 'download';
  // The ASCII fallback keeps only safe characters; filename* carries the real name.
  const ascii = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100) || 'download';
  return {
    'Content-Type': media ? bareType(contentType) : 'application/octet-stream',
    'Content-Disposition': `${media ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    // Objects are user-supplied; never let a browser sniff them into HTML.
    'X-Content-Type-Options': 'nosniff',
    // Should anything still render as a document, it runs in an opaque origin without scripts.
    'Content-Security-Policy': 'sandbox',
  };
}
