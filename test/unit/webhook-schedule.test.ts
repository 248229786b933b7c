import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MAX_ATTEMPTS, retryDelayMs } from '../../src/webhooks/schedule.js';

describe('webhook retry schedule', () => {
  const base = loadConfig({}).webhooks.retryBaseSeconds;

  it('defaults: 10 s base, 10 s answer deadline, private addresses refused', () => {
    expect(loadConfig({}).webhooks).toEqual({ allowPrivate: false, retryBaseSeconds: 10, timeoutMs: 10_000 });
    expect(loadConfig({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_SECONDS: '0.5' }).webhooks).toMatchObject({
      allowPrivate: true,
      retryBaseSeconds: 0.5,
    });
    expect(() => loadConfig({ WEBHOOK_RETRY_BASE_SECONDS: '0' })).toThrow(/WEBHOOK_RETRY_BASE_SECONDS/);
  });

  it('at least 6 attempts spread over at least an hour, whatever the jitter', () => {
    expect(MAX_ATTEMPTS).toBeGreaterThanOrEqual(6);
    for (const random of [() => 0, () => 0.5, () => 0.999999]) {
      let total = 0;
      for (let failed = 1; failed < MAX_ATTEMPTS; failed++) total += retryDelayMs(failed, base, random);
      expect(total).toBeGreaterThanOrEqual(3600 * 1000);
    }
  });

  it('doubles from the base, with ±20 % jitter', () => {
    expect(retryDelayMs(1, 10, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(2, 10, () => 0.5)).toBe(20_000);
    expect(retryDelayMs(4, 10, () => 0.5)).toBe(80_000);
    expect(retryDelayMs(1, 10, () => 0)).toBe(8_000);
    expect(retryDelayMs(1, 10, () => 1)).toBe(12_000);
    const seen = new Set(Array.from({ length: 20 }, () => retryDelayMs(3, 10)));
    expect(seen.size).toBeGreaterThan(1);
  });
});
