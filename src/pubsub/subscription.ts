import type { EventSubscription } from './events.js';

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
