import { randomUUID } from 'node:crypto';
import type { EventBus, EventSubscription } from './events.js';
import type { WorkerQueue } from './queue.js';

/**
 * In-process implementations of the worker queue and the event bus, for a
 * single server process (dev, tests). They mirror the Redis ones closely
 * enough that one behaviour suite runs against both.
 */

/**
 * One list, stored oldest-first with a moving head so RPOP is O(1):
 * LPUSH appends at the end, RPOP takes `items[head]`.
 */
class List {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  lpush(value: string): number {
    this.items.push(value);
    return this.length;
  }

  rpush(value: string): number {
    if (this.head > 0) this.items[--this.head] = value;
    else this.items.unshift(value);
    return this.length;
  }

  /** LRANGE 0 -1: newest first, like Redis. */
  range(): string[] {
    return this.items.slice(this.head).reverse();
  }

  rpop(): string | null {
    if (this.head >= this.items.length) return null;
    const value = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as string; // let the string be collected
    this.head++;
    // Compact once the dead prefix dominates, so memory stays O(length).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return value;
  }

  /** LREM key 0 value. */
  remove(value: string): number {
    const before = this.length;
    this.items = this.items.slice(this.head).filter((item) => item !== value);
    this.head = 0;
    return before - this.length;
  }
}

/** A WorkerQueue held in this process: LPUSH / RPOP / LLEN / LREM 0 semantics. */
export function createMemoryQueue(): WorkerQueue {
  const lists = new Map<string, List>();
  const epoch = randomUUID();
  let closed = false;

  // Async like Redis, so callers cannot come to rely on synchronous effects.
  function run<T>(fn: () => T): Promise<T> {
    if (closed) return Promise.reject(new Error('The in-memory worker queue is closed.'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // Redis deletes a list when it becomes empty; do the same so the Map does
  // not grow with every queue name ever used.
  function dropIfEmpty(queue: string, list: List): void {
    if (list.length === 0) lists.delete(queue);
  }

  return {
    kind: 'memory',
    push: (queue, payload) =>
      run(() => {
        let list = lists.get(queue);
        if (!list) lists.set(queue, (list = new List()));
        return list.lpush(payload);
      }),
    pushBack: (queue, payload) =>
      run(() => {
        let list = lists.get(queue);
        if (!list) lists.set(queue, (list = new List()));
        return list.rpush(payload);
      }),
    replace: (queue, remove, push) =>
      run(() => {
        let list = lists.get(queue);
        if (!list) lists.set(queue, (list = new List()));
        const counts = remove.map((p) => list.remove(p));
        const gone = new Set(remove.filter((_, i) => counts[i] === 0));
        for (const p of push) if (!gone.has(p)) list.lpush(p);
        dropIfEmpty(queue, list);
        return counts;
      }),
    snapshot: (queue) => run(() => ({ items: lists.get(queue)?.range() ?? [], epoch })),
    pop: (queue) =>
      run(() => {
        const list = lists.get(queue);
        if (!list) return null;
        const value = list.rpop();
        dropIfEmpty(queue, list);
        return value;
      }),
    length: (queue) => run(() => lists.get(queue)?.length ?? 0),
    remove: (queue, payload) =>
      run(() => {
        const list = lists.get(queue);
        if (!list) return 0;
        const removed = list.remove(payload);
        dropIfEmpty(queue, list);
        return removed;
      }),
    // The lists live and die with this object.
    epoch: () => run(() => epoch),
    ping: () => run(() => undefined),
    close: async () => {
      closed = true;
      lists.clear();
    },
  };
}

/**
 * An EventSubscription backed by its own unbounded buffer, so one slow
 * consumer never holds up the others. Shared by the memory and Redis buses:
 * the bus calls `push()` for each message and `end()` on close; `return()`
 * (the consumer's side) ends it and runs `release` once.
 */
export class BufferedSubscription<T> implements EventSubscription<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: Array<(result: IteratorResult<T>) => void> = [];
  private ended = false;
  private released = false;

  constructor(private readonly release: () => void | Promise<void>) {}

  /** Delivers one message (dropped once the subscription has ended). */
  push(value: T): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter({ value, done: false });
      return;
    }
    this.items.push(value);
  }

  /** Ends the iterator without calling `release` (the bus is going away). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.items = [];
    this.head = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter({ value: undefined, done: true });
  }

  get isEnded(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head]!;
      this.items[this.head] = undefined as T;
      this.head++;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async return(): Promise<IteratorResult<T>> {
    this.end();
    if (!this.released) {
      this.released = true;
      await this.release();
    }
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * Both buses hand subscribers what came out of JSON, not the publisher's own
 * object: subscribers cannot mutate each other's (or the publisher's) data,
 * and code that works against the memory bus also works against Redis
 * (Dates become strings, undefined becomes null, BigInt throws at publish).
 */
export function toJson(payload: unknown): string {
  return JSON.stringify(payload === undefined ? null : payload);
}

/** The in-process bus, plus an introspection hook for tests and diagnostics. */
export interface MemoryEventBus extends EventBus {
  /** How many live subscriptions listen on `topic` (0 once all were returned). */
  subscriberCount(topic: string): number;
}

/**
 * An EventBus for one process. `publish` delivers synchronously, in publish
 * order, to every subscription of the topic; cost is O(subscribers of that
 * topic), thanks to the topic index.
 */
export function createMemoryEventBus(): MemoryEventBus {
  const byTopic = new Map<string, Set<BufferedSubscription<unknown>>>();
  const live = new Set<BufferedSubscription<unknown>>();
  let closed = false;

  function unindex(topics: string[], sub: BufferedSubscription<unknown>): void {
    live.delete(sub);
    for (const topic of topics) {
      const subs = byTopic.get(topic);
      if (!subs) continue;
      subs.delete(sub);
      if (subs.size === 0) byTopic.delete(topic);
    }
  }

  return {
    kind: 'memory',
    async publish(topic, payload) {
      if (closed) throw new Error('The in-memory event bus is closed.');
      const json = toJson(payload); // throws here for unserialisable payloads, as Redis would
      const subs = byTopic.get(topic);
      if (!subs) return;
      // Parsed once and shared, like RedisPubSub does for local subscribers.
      const value: unknown = JSON.parse(json);
      for (const sub of subs) sub.push(value);
    },
    async subscribe<T>(topics: string[]): Promise<EventSubscription<T>> {
      if (closed) throw new Error('The in-memory event bus is closed.');
      const unique = [...new Set(topics)];
      const sub: BufferedSubscription<unknown> = new BufferedSubscription(() => unindex(unique, sub));
      live.add(sub);
      for (const topic of unique) {
        let subs = byTopic.get(topic);
        if (!subs) byTopic.set(topic, (subs = new Set()));
        subs.add(sub);
      }
      return sub as BufferedSubscription<T>;
    },
    async ping() {
      if (closed) throw new Error('The in-memory event bus is closed.');
    },
    subscriberCount: (topic) => byTopic.get(topic)?.size ?? 0,
    async close() {
      closed = true;
      for (const sub of live) sub.end();
      live.clear();
      byTopic.clear();
    },
  };
}
