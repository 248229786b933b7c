import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBus, EventSubscription } from '../../src/pubsub/events.js';
import type { WorkerQueue } from '../../src/pubsub/queue.js';
import { assertRedisReachable, RedisUnavailableError } from '../../src/pubsub/redisConnection.js';
import { createRedisEventBus } from '../../src/pubsub/redisEvents.js';
import { createRedisQueue } from '../../src/pubsub/redisQueue.js';
import { freePort } from '../helpers/app.js';
import { eventually, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';

/**
 * Redis going away and coming back, on a private redis-server this file
 * starts, kills and restarts (never the machine's shared Redis).
 */

let redis: PrivateRedis;
let url: string;

async function elapsed(p: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  try {
    await p;
    return { ms: Date.now() - start, error: undefined };
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
}

describe('Redis going down and coming back', () => {
  const warnings: string[] = [];
  const logger = { warn: (_: object, msg: string) => void warnings.push(msg), info: () => {} };
  let queue: WorkerQueue;
  let bus: EventBus;
  let kept: EventSubscription<string>;
  let dropped: EventSubscription<string>;

  beforeAll(async () => {
    redis = await startPrivateRedis(); // started and answering
    url = redis.url;
    queue = createRedisQueue({ url, logger });
    bus = createRedisEventBus({ url, logger });
    kept = await bus.subscribe<string>(['job:kept']);
    dropped = await bus.subscribe<string>(['job:dropped']);
  });

  afterAll(async () => {
    await Promise.allSettled([queue?.close(), bus?.close()]);
    await redis.kill();
  });

  it('works while Redis is up', async () => {
    expect(await queue.push('sdxl_queue', 'before')).toBe(1);
    expect(await queue.pop('sdxl_queue')).toBe('before');
    await bus.publish('job:kept', 'hello');
    expect(await kept.next()).toEqual({ value: 'hello', done: false });
  });

  it('fails fast while Redis is down instead of hanging', async () => {
    await redis.kill();

    const push = await elapsed(queue.push('sdxl_queue', 'while down'));
    expect(push.error).toBeInstanceOf(RedisUnavailableError);
    expect((push.error as RedisUnavailableError).code).toBe('REDIS_UNAVAILABLE');
    expect((push.error as Error).message).toContain(`redis://127.0.0.1:${redis.port}`);
    expect(push.ms).toBeLessThan(2000);

    // Some time later, in the middle of the reconnect loop, still fast.
    await new Promise((r) => setTimeout(r, 700));
    for (const op of [queue.push('sdxl_queue', 'x'), queue.pop('sdxl_queue'), queue.length('sdxl_queue'), bus.publish('job:kept', 'lost')]) {
      const r = await elapsed(op);
      expect(r.error).toBeInstanceOf(RedisUnavailableError);
      expect(r.ms).toBeLessThan(2000);
    }

    const ping = await elapsed(queue.ping());
    expect(ping.error).toBeInstanceOf(Error);
    expect((ping.error as Error).message).toMatch(/^Redis unavailable at redis:\/\/127\.0\.0\.1:\d+\/? \(PING\): /);
    expect(ping.ms).toBeLessThan(2000);
    await expect(bus.ping()).rejects.toBeInstanceOf(RedisUnavailableError);

    const subscribe = await elapsed(bus.subscribe(['job:new']));
    expect(subscribe.error).toBeInstanceOf(RedisUnavailableError);
    expect(subscribe.ms).toBeLessThan(2000);

    // Giving a subscription back while Redis is down must not throw nor leave an unhandled rejection.
    await expect(dropped.return()).resolves.toEqual({ value: undefined, done: true });

    expect(warnings.some((w) => w.startsWith('Redis connection failed'))).toBe(true);
  });

  it('recovers by itself when Redis is back: queue works, existing subscriptions receive again', async () => {
    await redis.start(); // same port, empty data

    // No reconnect call from us: ioredis's retryStrategy brings the connections back.
    expect(await eventually('push after restart', () => queue.push('sdxl_queue', 'after'))).toBe(1);
    expect(await queue.pop('sdxl_queue')).toBe('after');
    await eventually('ping after restart', () => queue.ping());

    // The subscription made before the outage was re-subscribed by ioredis
    // (autoResubscribe). Keep publishing until one arrives: messages sent
    // before the re-SUBSCRIBE lands are lost, which the bus allows.
    const got = kept.next();
    let arrived = false;
    void got.then(() => (arrived = true));
    await eventually('delivery after restart', async () => {
      await bus.publish('job:kept', 'again');
      await new Promise((r) => setTimeout(r, 50));
      if (!arrived) throw new Error('nothing received yet');
    });
    expect(await got).toEqual({ value: 'again', done: false });
    await bus.ping();
  });

  it('does not keep a Redis subscription for a channel given back during the outage', async () => {
    // ioredis re-subscribed to job:dropped as well (its UNSUBSCRIBE could not be sent); the bus drops it again.
    const raw = new Redis(url);
    try {
      const numsub = async (channel: string) => Number(((await raw.pubsub('NUMSUB', channel)) as [string, number])[1]);
      await eventually('job:kept resubscribed', async () => expect(await numsub('job:kept')).toBe(1));
      await eventually('job:dropped unsubscribed', async () => expect(await numsub('job:dropped')).toBe(0), 3000);
    } finally {
      raw.disconnect();
    }
  });
});

describe('assertRedisReachable', () => {
  it('resolves when Redis answers', async () => {
    await expect(assertRedisReachable(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')).resolves.toBeUndefined();
  });

  it('fails with one actionable line and no password when nothing listens', async () => {
    const closed = await freePort();
    const started = Date.now();
    const error = await assertRedisReachable(`redis://worker:s3cret-pw@127.0.0.1:${closed}/0`, 3000).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toBe(
      `Cannot reach Redis at redis://worker:***@127.0.0.1:${closed}/0 (REDIS_URL): connect ECONNREFUSED — start Redis or fix REDIS_URL.`,
    );
    expect(error!.message).not.toContain('s3cret-pw');
    expect(error!.message).not.toContain('\n');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('gives up within the timeout when the server accepts but never answers', async () => {
    // A loopback listener that accepts the connection and stays silent stands in for a hung Redis.
    const { createServer } = await import('node:net');
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const error = await assertRedisReachable(`redis://:pw@127.0.0.1:${port}`, 500).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error?.message).toMatch(/^Cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(REDIS_URL\): .+ — start Redis or fix REDIS_URL\.$/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      silent.close();
    }
  });
});
