import { randomUUID } from 'node:crypto';
import type { Deps } from './deps.js';
import { badInput } from './errors.js';
import { REFERENCE_BUCKET } from './validateJob.js';

const TYPES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' };
/** Upload URLs are for "now": long enough for a slow connection, short enough not to be worth leaking. */
export const REFERENCE_UPLOAD_TTL = 15 * 60;
export const REFERENCE_MAX_BYTES = 10 * 1024 * 1024;

export interface ReferenceUpload {
  /** Pass this as a reference `url` in queueJob. */
  path: string;
  uploadUrl: string;
  /** PUT (local disk: the bytes as the body) or POST (S3: a multipart form of `fields`, then the part `file`). */
  method: 'PUT' | 'POST';
  headers: Record<string, string>;
  fields: Record<string, string>;
  maxBytes: number;
  expiresAt: Date;
}

/** A short-lived URL that accepts one image into reference_images/<user>/. */
export async function createReferenceUpload(
  deps: Deps,
  userId: string,
  input: { contentType: string; filename?: string | null },
): Promise<ReferenceUpload> {
  const ext = TYPES[input.contentType];
  if (!ext) {
    throw badInput(`contentType "${input.contentType}" is not accepted: use one of ${Object.keys(TYPES).join(', ')}.`, {
      field: 'contentType',
      allowed: Object.keys(TYPES),
    });
  }
  const stem = (input.filename ?? 'reference')
    .replace(/\.[A-Za-z0-9]{1,5}$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 80) || 'reference';
  const objectPath = `${userId}/${randomUUID()}-${stem}.${ext}`;
  // The size limit is enforced by whoever takes the bytes (a signed S3 POST
  // policy, or this server for local disk), not merely announced in maxBytes.
  const signed = await deps.storage.signedUpload(REFERENCE_BUCKET, objectPath, {
    ttlSeconds: REFERENCE_UPLOAD_TTL,
    contentType: input.contentType,
    maxBytes: REFERENCE_MAX_BYTES,
  });
  return {
    path: `${REFERENCE_BUCKET}/${objectPath}`,
    uploadUrl: signed.url,
    method: signed.method,
    headers: signed.headers,
    fields: signed.fields,
    maxBytes: REFERENCE_MAX_BYTES,
    expiresAt: signed.expiresAt,
  };
}
