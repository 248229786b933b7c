import type { EventBus, EventSubscription } from './events.js';
import { BufferedSubscription, toJson } from './subscription.js';

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
      let value: unknown;
      for (const t of typeof topic === 'string' ? [topic] : topic) {
        const subs = byTopic.get(t);
        if (!subs) continue;
        // Parsed once and shared, like RedisPubSub does for local subscribers.
        if (value === undefined) value = JSON.parse(json);
        for (const sub of subs) sub.push(value);
      }
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
