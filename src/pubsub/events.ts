/**
 * The event bus that carries job changes to subscribers on every instance.
 * It may lose a message (the database is the truth); it must not reorder
 * messages published by one process on one topic.
 */
export interface EventSubscription<T> extends AsyncIterableIterator<T> {
  /** Stops delivery and releases the subscription. Safe to call twice. */
  return(): Promise<IteratorResult<T>>;
}

export interface EventBus {
  readonly kind: 'memory' | 'redis';
  /**
   * One message on `topic`, or on each of several topics (in that order):
   * the payload is serialised once for all of them.
   */
  publish(topic: string | readonly string[], payload: unknown): Promise<void>;
  /**
   * Resolves once the subscription is active (messages published after the
   * promise resolves are delivered), to an iterator of the payloads published
   * on any of `topics`.
   */
  subscribe<T>(topics: string[]): Promise<EventSubscription<T>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
