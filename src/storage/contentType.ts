/**
 * What a file is, from its first bytes. Workers do not always say: the
 * second fleet generation's WAN worker names image outputs `0.mp4` and
 * uploads them as `video/mp4`, so neither the extension nor the declared type
 * can be trusted to serve the bytes with the right type.
 */

/** Bytes `sniffContentType` needs to recognise every type it knows. */
export const SNIFF_BYTES = 32;

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/** The content type the bytes start with, or null when they are none of the media types storage takes. */
export function sniffContentType(bytes: Uint8Array): string | null {
  const b = bytes;
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) {
    return 'image/png';
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'image/webp';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'image/gif';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'video/webm';
  // ISO base media: a box of type "ftyp" first; its major brand says which.
  // Still images in that container (AVIF, HEIC) are not outputs: left unrecognised.
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (/^(avi[fs]|hei[cxsm]|mif1|msf1)$/.test(brand)) return null;
    if (brand === 'qt  ') return 'video/quicktime';
    return 'video/mp4';
  }
  return null;
}
