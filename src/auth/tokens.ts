import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { isUuid } from '../vocabulary.js';

/** Who is calling, decided by the token's `role` claim (http-contract.md "Tokens"). */
export type Principal =
  | { kind: 'user'; id: string; admin: boolean; expiresAt?: number }
  | { kind: 'worker'; id: string | null; expiresAt?: number };

export class AuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthError';
  }
}

export interface AuthOptions {
  /** HS256 key. */
  secret?: string;
  /** Verify against an external identity provider's keys instead. */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface Auth {
  /** Verifies a bearer token; throws AuthError with a message a person can act on. */
  verify(token: string): Promise<Principal>;
  /** Issues an HS256 token (development and tests); only when a secret is configured. */
  sign(claims: { sub: string; role?: string }, expiresIn?: string): Promise<string>;
}

export function createAuth(opts: AuthOptions): Auth {
  const secretKey = opts.secret ? new TextEncoder().encode(opts.secret) : undefined;
  const jwks = opts.jwksUrl ? createRemoteJWKSet(new URL(opts.jwksUrl)) : undefined;

  async function verifyPayload(token: string): Promise<JWTPayload> {
    const common = { issuer: opts.issuer, audience: opts.audience };
    try {
      if (jwks) {
        return (await jwtVerify(token, jwks, { ...common, algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] })).payload;
      }
      // Pinning the algorithm is what refuses `alg: none` and key-confusion tricks.
      return (await jwtVerify(token, secretKey!, { ...common, algorithms: ['HS256'] })).payload;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new AuthError('The token has expired: sign in again to get a new one.');
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
        throw new AuthError(`The token was not issued for this API (${(err as Error).message}).`);
      throw new AuthError('The token is not valid: send a token signed by this deployment as "Authorization: Bearer <token>".');
    }
  }

  // Clients and workers send the same token on every request; verifying it
  // once per few minutes, not per request, saves a signature check (HMAC or
  // RSA) on the hot path. Entries never outlive the token's own expiry.
  const cache = new Map<string, { principal: Principal; until: number }>();
  const CACHE_MS = 5 * 60_000;
  const CACHE_MAX = 10_000;

  async function principalOf(token: string): Promise<{ principal: Principal; exp?: number }> {
    const payload = await verifyPayload(token);
    const role = typeof payload.role === 'string' ? payload.role : undefined;
    if (role === 'worker' || role === 'service_role') {
      const id = typeof payload.sub === 'string' ? payload.sub : null;
      return { principal: { kind: 'worker', id, ...expiry(payload.exp) }, exp: payload.exp };
    }
    if (!isUuid(payload.sub)) {
      throw new AuthError('The token has no user id: its "sub" claim must be a UUID.');
    }
    return { principal: { kind: 'user', id: payload.sub.toLowerCase(), admin: role === 'admin', ...expiry(payload.exp) }, exp: payload.exp };
  }

  return {
    async verify(token) {
      const now = Date.now();
      const hit = cache.get(token);
      if (hit && hit.until > now) return hit.principal;
      const { principal, exp } = await principalOf(token);
      if (cache.size >= CACHE_MAX) cache.clear();
      cache.set(token, { principal, until: Math.min(now + CACHE_MS, exp === undefined ? Infinity : exp * 1000) });
      return principal;
    },
    async sign(claims, expiresIn = '30d') {
      if (!secretKey) throw new Error('Cannot issue tokens without JWT_SECRET.');
      return new SignJWT({ role: claims.role ?? 'authenticated' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.sub)
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(secretKey);
    },
  };
}

/** `expiresAt` (ms since the epoch) from a token's `exp` claim (seconds), when it has one. */
function expiry(exp: number | undefined): { expiresAt?: number } {
  return typeof exp === 'number' && Number.isFinite(exp) ? { expiresAt: exp * 1000 } : {};
}

/** Embedded mode: a secret generated once and kept in DATA_DIR, so tokens survive restarts. */
export function loadOrCreateSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** A separate key for signing storage URLs, so a leaked URL never helps forge a JWT. */
export function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(purpose).digest();
}
