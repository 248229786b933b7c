import { randomUUID } from 'node:crypto';
import type { WorkerQueue } from './queue.js';

/**
 * The worker queue held in this process, for a single server (dev, tests).
 * It mirrors the Redis one closely enough that one behaviour suite runs
 * against both.
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
  const sightings = new Map<string, Map<string, number>>();
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
    // One process: nothing removes an entry behind our back, so no removal marks are needed.
    removedByUs: (_queue, payloads) => run(() => payloads.map(() => false)),
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
    sighted: (queue, worker, at, keepMs) =>
      run(() => {
        let seen = sightings.get(queue);
        if (!seen) sightings.set(queue, (seen = new Map()));
        seen.set(worker, at);
        if (seen.size > 1000) for (const [w, t] of seen) if (t < at - keepMs) seen.delete(w);
      }),
    workersSince: (queue, since) =>
      run(() => {
        let n = 0;
        for (const t of sightings.get(queue)?.values() ?? []) if (t >= since) n++;
        return n;
      }),
    // The lists live and die with this object.
    epoch: () => run(() => epoch),
    ping: () => run(() => undefined),
    close: async () => {
      closed = true;
      lists.clear();
      sightings.clear();
    },
  };
}
