/**
 * Attempts per retry schedule. With the default WEBHOOK_RETRY_BASE_SECONDS
 * (10 s) the nine waits double from 10 s to 2,560 s: 5,110 s in all, and at
 * least 4,088 s (68 min) with the jitter below — more than the contract's
 * "at least 6 attempts over at least an hour".
 */
export const MAX_ATTEMPTS = 10;

/**
 * Wait before the next attempt after `failedAttempts` failures in a row:
 * base · 2^(failedAttempts-1), ±20 % jitter so receivers that come back are
 * not hit by every delayed delivery in the same second.
 */
export function retryDelayMs(failedAttempts: number, baseSeconds: number, random: () => number = Math.random): number {
  const exact = baseSeconds * 1000 * 2 ** Math.max(0, failedAttempts - 1);
  return Math.round(exact * (0.8 + 0.4 * random()));
}
