import { InvalidPathError } from './storage.js';

/** Longest accepted object path, in UTF-8 bytes (S3's key limit is 1024 bytes). */
export const MAX_PATH_BYTES = 1024;
/** Longest accepted path segment, in UTF-8 bytes (NAME_MAX on common file systems). */
export const MAX_SEGMENT_BYTES = 255;

// C0 controls (incl. NUL), DEL and C1 controls: never legitimate in an object name,
// and NUL/newline can truncate or split paths and log lines downstream.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/**
 * Decodes a bucket-relative object path taken from a URL (percent-encoded at
 * most once) and returns it validated, e.g. `user%201/a.png` → `user 1/a.png`.
 *
 * Decoding happens exactly once, so `%252e%252e` becomes the harmless literal
 * segment `%2e%2e`, never `..`. Throws `InvalidPathError` for malformed
 * percent-encoding and for everything `validateObjectPath` refuses.
 */
export function normalizeObjectPath(path: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    throw new InvalidPathError(
      `The object path "${printable(path)}" has malformed percent-encoding; encode "%" as "%25" and use valid UTF-8 escapes.`,
    );
  }
  return validateObjectPath(decoded);
}

/**
 * Checks an already-decoded object path and returns it unchanged. Does NOT
 * percent-decode (so it is safe to run on a path that `normalizeObjectPath`
 * already produced); the storage backends call it as a second line of defence.
 *
 * Refused: empty paths, a leading `/` (absolute), empty segments (`a//b`, a
 * trailing `/`), `.` and `..` segments, backslashes, control characters,
 * paths over 1024 UTF-8 bytes and segments over 255 UTF-8 bytes.
 */
export function validateObjectPath(path: string): string {
  const shown = printable(path);
  if (path.length === 0) {
    throw new InvalidPathError('The object path is empty; give a path inside the bucket such as "<user_id>/<file>".');
  }
  if (CONTROL_CHARS.test(path)) {
    throw new InvalidPathError(`The object path "${shown}" contains a control character (such as NUL or a newline); remove it.`);
  }
  if (/\p{Surrogate}/u.test(path)) {
    throw new InvalidPathError(`The object path "${shown}" contains an unpaired UTF-16 surrogate, which is not text; use valid Unicode.`);
  }
  if (path.includes('\\')) {
    throw new InvalidPathError(`The object path "${shown}" contains a backslash; separate folders with "/".`);
  }
  if (path.startsWith('/')) {
    throw new InvalidPathError(`The object path "${shown}" starts with "/"; give it relative to the bucket, without a leading slash.`);
  }
  const bytes = Buffer.byteLength(path, 'utf8');
  if (bytes > MAX_PATH_BYTES) {
    throw new InvalidPathError(`The object path is ${bytes} bytes long; the limit is ${MAX_PATH_BYTES} bytes.`);
  }
  for (const segment of path.split('/')) {
    if (segment === '') {
      throw new InvalidPathError(
        `The object path "${shown}" has an empty segment ("//" or a trailing "/"); name the object itself, with single slashes.`,
      );
    }
    if (segment === '.' || segment === '..') {
      throw new InvalidPathError(`The object path "${shown}" contains a "${segment}" segment; paths may not point outside their folder.`);
    }
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      throw new InvalidPathError(`A segment of the object path is longer than ${MAX_SEGMENT_BYTES} bytes; shorten it.`);
    }
  }
  return path;
}

/**
 * Checks a logical bucket name (one path segment: letters, digits, `_`, `-`,
 * `.`, starting with a letter or digit, at most 63 characters) and returns it.
 * A leading dot is refused so bucket names never collide with the local
 * backend's `.meta`/`.tmp` folders.
 */
export function validateBucketName(bucket: string): string {
  if (!BUCKET_NAME.test(bucket)) {
    throw new InvalidPathError(
      `The bucket name "${printable(bucket)}" is not valid; use 1-63 letters, digits, "_", "-" or ".", starting with a letter or digit.`,
    );
  }
  return bucket;
}

/** The storage key of an object: `<bucket>/<path>`. */
export function objectKey(bucket: string, path: string): string {
  return `${bucket}/${path}`;
}

/** Shortens and escapes user input for error messages. */
function printable(value: string): string {
  const cut = value.length > 120 ? `${value.slice(0, 120)}…` : value;
  return JSON.stringify(cut).slice(1, -1);
}
