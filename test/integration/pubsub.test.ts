import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { EventBus, EventSubscription } from '../../src/pubsub/events.js';
import { createMemoryEventBus, type MemoryEventBus } from '../../src/pubsub/memoryEvents.js';
import { createMemoryQueue } from '../../src/pubsub/memoryQueue.js';
import type { WorkerQueue } from '../../src/pubsub/queue.js';
import { assertRedisReachable } from '../../src/pubsub/redisConnection.js';
import { createRedisEventBus } from '../../src/pubsub/redisEvents.js';
import { createRedisQueue } from '../../src/pubsub/redisQueue.js';

/**
 * One behaviour suite for both implementations of the worker queue and the
 * event bus: the in-process ones and the Redis ones against a real Redis.
 * Every Redis test gets a fresh random key/channel prefix and deletes its keys.
 */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const quiet = { warn() {}, info() {} };

/** A plain client for looking at Redis from the outside. */
let raw: Redis;
const numsub = async (channel: string) => Number(((await raw.pubsub('NUMSUB', channel)) as [string, number])[1]);

interface Backend {
  name: 'memory' | 'redis';
  queue(prefix: string): WorkerQueue;
  bus(prefix: string): EventBus;
  /** Whether anything still listens on the topic: the memory bus's index, or Redis's own PUBSUB NUMSUB. */
  listening(bus: EventBus, prefix: string, topic: string): Promise<boolean>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    queue: () => createMemoryQueue(),
    bus: () => createMemoryEventBus(),
    listening: async (bus, _prefix, topic) => (bus as MemoryEventBus).subscriberCount(topic) > 0,
  },
  {
    name: 'redis',
    queue: (keyPrefix) => createRedisQueue({ url: REDIS_URL, keyPrefix, logger: quiet }),
    bus: (keyPrefix) => createRedisEventBus({ url: REDIS_URL, keyPrefix, logger: quiet }),
    listening: async (_bus, prefix, topic) => (await numsub(prefix + topic)) > 0,
  },
];

/** The next message, or a test failure after `ms` (instead of hanging until the test timeout). */
async function nextWithin<T>(sub: EventSubscription<T>, ms = 2000): Promise<IteratorResult<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      sub.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function take<T>(sub: EventSubscription<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const r = await nextWithin(sub);
    expect(r.done).toBe(false);
    out.push(r.value as T);
  }
  return out;
}

async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  await assertRedisReachable(REDIS_URL, 3000, 'TEST_REDIS_URL');
  raw = new Redis(REDIS_URL);
});

afterAll(async () => {
  await raw?.quit();
});

async function deleteKeys(prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await raw.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

describe.each(backends)('$name backend', (backend) => {
  let prefix: string;
  const opened: Array<{ close(): Promise<void> }> = [];
  const queue = () => {
    const q = backend.queue(prefix);
    opened.push(q);
    return q;
  };
  const bus = () => {
    const b = backend.bus(prefix);
    opened.push(b);
    return b;
  };

  beforeEach(() => {
    prefix = `test:pubsub:${randomUUID()}:`;
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((x) => x.close()));
    if (backend.name === 'redis') await deleteKeys(prefix);
  });

  describe('worker queue', () => {
    it('is FIFO: LPUSH a,b,c then RPOP gives a,b,c', async () => {
      const q = queue();
      expect(q.kind).toBe(backend.name);
      expect(await q.push('sdxl_queue', 'a')).toBe(1);
      expect(await q.push('sdxl_queue', 'b')).toBe(2);
      expect(await q.push('sdxl_queue', 'c')).toBe(3);
      expect(await q.pop('sdxl_queue')).toBe('a');
      expect(await q.pop('sdxl_queue')).toBe('b');
      expect(await q.pop('sdxl_queue')).toBe('c');
    });

    it('reports the length and pops null when empty', async () => {
      const q = queue();
      expect(await q.length('wan_queue')).toBe(0);
      expect(await q.pop('wan_queue')).toBeNull();
      await q.push('wan_queue', '{"id":"1"}');
      await q.push('wan_queue', '{"id":"2"}');
      expect(await q.length('wan_queue')).toBe(2);
      await q.pop('wan_queue');
      await q.pop('wan_queue');
      expect(await q.length('wan_queue')).toBe(0);
      expect(await q.pop('wan_queue')).toBeNull();
    });

    it('keeps queues apart', async () => {
      const q = queue();
      await q.push('sdxl_queue', 'image');
      await q.push('wan_queue', 'video');
      expect(await q.pop('wan_queue')).toBe('video');
      expect(await q.pop('sdxl_queue')).toBe('image');
    });

    it('removes every element equal to the payload and keeps the order of the rest', async () => {
      const q = queue();
      for (const p of ['x', 'keep1', 'x', 'keep2', 'x']) await q.push('sdxl_queue', p);
      expect(await q.remove('sdxl_queue', 'x')).toBe(3);
      expect(await q.remove('sdxl_queue', 'x')).toBe(0);
      expect(await q.remove('no_such_queue', 'x')).toBe(0);
      expect(await q.length('sdxl_queue')).toBe(2);
      expect(await q.pop('sdxl_queue')).toBe('keep1');
      expect(await q.pop('sdxl_queue')).toBe('keep2');
    });

    it('answers ping', async () => {
      await expect(queue().ping()).resolves.toBeUndefined();
    });

    it('counts distinct workers seen polling a queue since a time, forgetting old sightings', async () => {
      const q = queue();
      const now = Date.now();
      await q.sighted('sdxl_queue', 'w1', now - 10_000, 60_000);
      await q.sighted('sdxl_queue', 'w2', now - 1_000, 60_000);
      await q.sighted('sdxl_queue', 'w1', now, 60_000); // the same worker again: counted once
      await q.sighted('wan_queue', 'w3', now, 60_000);
      expect(await q.workersSince('sdxl_queue', now - 5_000)).toBe(2);
      expect(await q.workersSince('sdxl_queue', now - 500)).toBe(1);
      expect(await q.workersSince('wan_queue', now - 5_000)).toBe(1);
      expect(await q.workersSince('no_such_queue', 0)).toBe(0);
      if (backend.name === 'redis') {
        // Another instance on the same Redis sees them too.
        expect(await queue().workersSince('sdxl_queue', now - 5_000)).toBe(2);
        await q.sighted('sdxl_queue', 'w4', now + 120_000, 60_000); // trims everything older than a minute before it
        expect(await q.workersSince('sdxl_queue', 0)).toBe(1);
      }
    });

    it('keeps order across many concurrent pushes', async () => {
      const q = queue();
      const payloads = Array.from({ length: 200 }, (_, i) => `job-${i}`);
      await Promise.all(payloads.map((p) => q.push('sdxl_queue', p)));
      const popped: Array<string | null> = [];
      for (let i = 0; i < payloads.length; i++) popped.push(await q.pop('sdxl_queue'));
      expect(popped).toEqual(payloads);
    });
  });

  it('has a stable queue epoch per set of lists', async () => {
    const q = queue();
    const epoch = await q.epoch();
    expect(epoch).toMatch(/^[0-9a-f-]{36}$/);
    await q.push('sdxl_queue', 'x');
    expect(await q.epoch()).toBe(epoch);
    if (backend.name === 'memory') expect(await queue().epoch()).not.toBe(epoch); // a new process starts empty
  });

  describe('event bus', () => {
    it('delivers messages published after subscribe resolves, in order', async () => {
      const b = bus();
      expect(b.kind).toBe(backend.name);
      const sub = await b.subscribe<number>(['job:1']);
      // Fired without awaiting each one: the bus must not reorder one publisher's messages.
      await Promise.all(Array.from({ length: 100 }, (_, i) => b.publish('job:1', i)));
      expect(await take(sub, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      await sub.return();
    });

    it('delivers JSON: what a subscriber gets is what JSON round-trips to', async () => {
      const b = bus();
      const sub = await b.subscribe<unknown>(['job:json']);
      const original = { at: new Date(0), nested: { n: 1, list: [1, 'two', null] }, gone: undefined };
      await b.publish('job:json', original);
      await b.publish('job:json', 'a string');
      await b.publish('job:json', undefined);
      const [first, second, third] = await take(sub, 3);
      expect(first).toEqual({ at: '1970-01-01T00:00:00.000Z', nested: { n: 1, list: [1, 'two', null] } });
      expect(first).not.toBe(original);
      expect(second).toBe('a string');
      expect(third).toBeNull();
      await sub.return();
    });

    it('delivers to every subscriber of a topic; a slow one does not hold up the other', async () => {
      const b = bus();
      const slow = await b.subscribe<number>(['user:1']);
      const fast = await b.subscribe<number>(['user:1']);
      for (let i = 0; i < 20; i++) await b.publish('user:1', i);
      expect(await take(fast, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      // The slow one buffered everything meanwhile.
      expect(await take(slow, 20)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      await Promise.all([slow.return(), fast.return()]);
    });

    it('does not deliver another topic', async () => {
      const b = bus();
      const sub = await b.subscribe<string>(['topic:A']);
      await b.publish('topic:B', 'for B');
      await b.publish('topic:A', 'for A');
      // Same publisher, so 'for B' would have arrived first had it been delivered.
      expect(await take(sub, 1)).toEqual(['for A']);
      await sub.return();
    });

    it('carries several topics in one subscription, deduplicating repeated topics', async () => {
      const b = bus();
      const sub = await b.subscribe<string>(['job:7', 'user:3', 'job:7']);
      await b.publish('job:7', 'j1');
      await b.publish('other', 'nope');
      await b.publish('user:3', 'u1');
      await b.publish('job:7', 'j2');
      expect(await take(sub, 3)).toEqual(['j1', 'u1', 'j2']);
      await sub.return();
    });

    it('stops delivery and releases every topic on return(), ends a pending next(), and is safe to call twice', async () => {
      const b = bus();
      const sub = await b.subscribe<string>(['job:9', 'user:9']);
      expect(await backend.listening(b, prefix, 'job:9')).toBe(true);
      const pending = sub.next();
      await sub.return();
      expect(await pending).toEqual({ value: undefined, done: true });
      // Released on every topic, not merely muted.
      await eventually(async () => !(await backend.listening(b, prefix, 'job:9')) && !(await backend.listening(b, prefix, 'user:9')));
      await b.publish('job:9', 'after return');
      expect(await sub.next()).toEqual({ value: undefined, done: true });
      await expect(sub.return()).resolves.toEqual({ value: undefined, done: true });
      // The topic is usable again by a new subscription.
      const again = await b.subscribe<string>(['job:9']);
      await b.publish('job:9', 'fresh');
      expect(await take(again, 1)).toEqual(['fresh']);
      await again.return();
    });

    it('works with for await and ends the loop on break', async () => {
      const b = bus();
      const sub = await b.subscribe<number>(['loop']);
      for (let i = 1; i <= 3; i++) await b.publish('loop', i);
      const seen: number[] = [];
      for await (const n of sub) {
        seen.push(n);
        if (n === 3) break; // calls return()
      }
      expect(seen).toEqual([1, 2, 3]);
      expect(await sub.next()).toEqual({ value: undefined, done: true });
    });

    it('ends every iterator on close() and refuses new work', async () => {
      const b = bus();
      const sub = await b.subscribe<string>(['job:close']);
      const pending = sub.next();
      await b.close();
      expect(await pending).toEqual({ value: undefined, done: true });
      expect(await sub.next()).toEqual({ value: undefined, done: true });
      await expect(b.publish('job:close', 'x')).rejects.toThrow();
      await expect(b.subscribe(['job:close'])).rejects.toThrow();
      await sub.return(); // still fine after close
    });

    it('answers ping', async () => {
      await expect(bus().ping()).resolves.toBeUndefined();
    });
  });

  if (backend.name === 'redis') describe('Redis specifics', () => {
    it('uses the queue name as the Redis list name, verbatim, when there is no prefix', async () => {
      // A random name, so a real sdxl_queue on this Redis is never touched.
      const name = `pubsub_test_queue_${randomUUID()}`;
      const q = createRedisQueue({ url: REDIS_URL, logger: quiet });
      opened.push(q);
      try {
        await q.push(name, '{"id":"job-1"}');
        await q.push(name, '{"id":"job-2"}');
        expect(await raw.type(name)).toBe('list');
        expect(await raw.lrange(name, 0, -1)).toEqual(['{"id":"job-2"}', '{"id":"job-1"}']);
        // What a GPU worker does: RPOP straight from Redis gets the oldest job.
        expect(await raw.rpop(name)).toBe('{"id":"job-1"}');
      } finally {
        await raw.del(name);
      }
    });

    it('keeps one queue epoch across instances until Redis loses its data', async () => {
      const a = queue();
      const b = queue();
      const epoch = await a.epoch();
      expect(await b.epoch()).toBe(epoch);
      expect(await a.epoch()).toBe(epoch);
      await raw.del(`${prefix}genjob:queue-epoch`); // what an empty restart looks like
      const next = await b.epoch();
      expect(next).not.toBe(epoch);
      expect(await a.epoch()).toBe(next);
    });

    it('marks what it removes as removed by us, so a missing entry tells who took it', async () => {
      const q = queue();
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(() => JSON.stringify({ id: randomUUID() }));
      for (const p of [a, b, c, d]) await q.push('sdxl_queue', p);
      expect(await q.remove('sdxl_queue', a)).toBe(1);
      expect(await raw.rpop(`${prefix}sdxl_queue`)).toBe(b); // a worker popping the list itself
      expect(await q.removedByUs('sdxl_queue', [a, b])).toEqual([true, false]);
      // Gone: -1 when we removed it, 0 when a worker took it.
      expect(await q.remove('sdxl_queue', a)).toBe(-1);
      expect(await q.remove('sdxl_queue', b)).toBe(0);
      expect(await q.replace('sdxl_queue', [a, b, c], [a, b])).toEqual([-1, 0, 1]);
      // a (ours) pushed again, b (a worker's) not; c removed and marked; pushing clears a's mark.
      expect(await raw.lrange(`${prefix}sdxl_queue`, 0, -1)).toEqual([a, d]);
      expect(await q.removedByUs('sdxl_queue', [a, b, c, d])).toEqual([false, false, true, false]);
      expect(await q.pushBack('sdxl_queue', c)).toBe(3);
      expect(await q.removedByUs('sdxl_queue', [c])).toEqual([false]);
      expect(await raw.ttl(`${prefix}genjob:unlisted:${JSON.parse(a).id}`)).toBe(-2);
      await q.remove('sdxl_queue', c);
      expect(await raw.ttl(`${prefix}genjob:unlisted:${JSON.parse(c).id}`)).toBeGreaterThan(3600);
      // Entries that are not ours (no JSON id) are removed without a mark.
      await q.push('sdxl_queue', 'plain');
      expect(await q.remove('sdxl_queue', 'plain')).toBe(1);
      expect(await q.remove('sdxl_queue', 'plain')).toBe(0);
    });

    it('prefixes the list name with keyPrefix', async () => {
      const q = queue();
      await q.push('sdxl_queue', 'p');
      expect(await raw.lrange(`${prefix}sdxl_queue`, 0, -1)).toEqual(['p']);
    });

    it('publishes on the prefixed channel as JSON', async () => {
      const b = bus();
      const listener = new Redis(REDIS_URL);
      try {
        const got = new Promise<[string, string]>((resolve) => listener.once('message', (c: string, m: string) => resolve([c, m])));
        await listener.subscribe(`${prefix}job:raw`);
        await b.publish('job:raw', { status: 'done' });
        expect(await got).toEqual([`${prefix}job:raw`, '{"status":"done"}']);
      } finally {
        listener.disconnect();
      }
    });

    it('delivers a message published by another instance (another server process)', async () => {
      const instanceA = bus();
      const instanceB = bus();
      const sub = await instanceA.subscribe<{ from: string }>(['job:cross']);
      await instanceB.publish('job:cross', { from: 'B' });
      expect(await take(sub, 1)).toEqual([{ from: 'B' }]);
      await sub.return();
    });

    it('shares one Redis SUBSCRIBE per channel and releases it when the last subscription returns', async () => {
      const b = bus();
      const channel = `${prefix}job:shared`;
      const first = await b.subscribe<string>(['job:shared']);
      const second = await b.subscribe<string>(['job:shared']);
      expect(await numsub(channel)).toBe(1);
      await first.return();
      await b.publish('job:shared', 'still here');
      expect(await take(second, 1)).toEqual(['still here']);
      expect(await numsub(channel)).toBe(1);
      await second.return();
      await eventually(async () => (await numsub(channel)) === 0);
    });

    it('has subscribed in Redis by the time subscribe() resolves', async () => {
      const b = bus();
      const sub = await b.subscribe<string>([`job:ack:${randomUUID()}`]);
      // Asked of Redis itself through another connection, right after the promise resolved.
      const channels = (await raw.pubsub('CHANNELS', `${prefix}job:ack:*`)) as string[];
      expect(channels).toHaveLength(1);
      await sub.return();
    });
  });
});
