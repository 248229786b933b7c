import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The optional `X-Callback-Signature` on job callbacks: an HMAC-SHA256 of the
 * raw request body keyed with `CALLBACK_HMAC_SECRET`, which the fleet's later
 * edge functions check. Senders differ in how they write the digest, so hex
 * and base64 (standard or URL-safe) are accepted, with or without a
 * `sha256=` prefix. The bearer worker token stays what authenticates a
 * callback; a signature that is present must be right.
 */
export function verifyCallbackSignature(secret: string, rawBody: string, header: string): boolean {
  const digest = createHmac('sha256', secret).update(rawBody, 'utf8').digest();
  const given = decodeDigest(header.trim().replace(/^sha256=/i, ''));
  return given !== null && given.length === digest.length && timingSafeEqual(given, digest);
}

/** The digest a sender wrote, or null when it is neither 64 hex digits nor 43–44 base64 characters. */
function decodeDigest(text: string): Buffer | null {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return null;
}

/** The signature a sender computes, hex-encoded (for tests and tools). */
export function signCallback(secret: string, rawBody: string): string {
  return createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex');
}
