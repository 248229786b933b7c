import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

export type RateDecision =
  | { allowed: true }
  | { allowed: false; limit: number; retryAfterSeconds: number; retryAt: Date };

/** The message of a refusal: the limit and when to try again. */
export function rateLimitMessage(d: Extract<RateDecision, { allowed: false }>): string {
  return `Rate limit reached: at most ${d.limit} requests per minute per user (per IP address without a token). Try again in ${d.retryAfterSeconds} s (after ${d.retryAt.toISOString()}).`;
}

export interface RateLimiter {
  /** Counts one operation for `key` and says whether it may go ahead. */
  consume(key: string): Promise<RateDecision>;
  close(): Promise<void>;
}

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Operations each key may make per minute (RATE_LIMIT_PER_MINUTE). */
  perMinute: number;
  /** Keep the counters in Redis so every instance shares them (REDIS_URL); in memory otherwise. */
  redis?: { url: string; keyPrefix: string };
  logger: Logger;
}

/**
 * A fixed one-minute window per key (rate-limiter-flexible). With Redis the
 * counters are shared by every instance, so the limit holds however requests
 * are balanced; if Redis stops answering, an in-memory limiter per instance
 * takes over (the API keeps serving, as it does for queueing, and the limit
 * then holds per instance until Redis is back).
 */
export async function createRateLimiter(opts: RateLimiterOptions): Promise<RateLimiter> {
  const duration = 60;
  const memory = new RateLimiterMemory({ points: opts.perMinute, duration });
  let client: Redis | undefined;
  let limiter: RateLimiterAbstract = memory;
  if (opts.redis) {
    client = new Redis(opts.redis.url, {
      // Fail fast to the in-memory limiter instead of queueing commands while Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // A Redis that accepts the command but never answers (frozen, or a
      // network partition) must not hold requests: after this the in-memory
      // limiter decides (2 s: a loaded Redis can be slow without being gone).
      commandTimeout: 2000,
      lazyConnect: false,
    });
    client.on('error', (err: Error) => opts.logger.debug({ err: err.message }, 'rate limiter redis error'));
    // Until the connection is ready the in-memory limiter would count, and
    // its counts are not Redis's: start counting in Redis from the first request.
    const connected = client;
    await new Promise<void>((resolve) => {
      if (connected.status === 'ready') return resolve();
      const timer = setTimeout(resolve, 5_000);
      connected.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    limiter = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `${opts.redis.keyPrefix}ratelimit`,
      points: opts.perMinute,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
      // Once a key is over its limit, refuse it from memory until its window
      // ends: a flooding client then costs no Redis round trip per request.
      inMemoryBlockOnConsumed: opts.perMinute + 1,
    });
  }
  return {
    async consume(key) {
      try {
        await limiter.consume(key, 1);
        return { allowed: true };
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
          return { allowed: false, limit: opts.perMinute, retryAfterSeconds, retryAt: new Date(Date.now() + err.msBeforeNext) };
        }
        // Neither store answered: let the request through rather than refuse everyone.
        opts.logger.warn({ err: String(err) }, 'rate limiter unavailable; request allowed');
        return { allowed: true };
      }
    },
    async close() {
      client?.disconnect();
    },
  };
}
