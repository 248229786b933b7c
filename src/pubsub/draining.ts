import type { EventBus, EventSubscription } from './events.js';

/** An event bus whose subscriptions can all be ended while publishing goes on. */
export interface DrainableEventBus extends EventBus {
  /**
   * Ends every live subscription (their streams complete normally, so SSE
   * responses finish and websocket operations send `complete`) and refuses
   * new ones. Publishing keeps working: requests still in flight during a
   * shutdown must be able to announce their changes to other instances.
   */
  endSubscriptions(): Promise<void>;
}

export function drainable(bus: EventBus): DrainableEventBus {
  const live = new Set<EventSubscription<unknown>>();
  let ending = false;
  return {
    kind: bus.kind,
    publish: (topic, payload) => bus.publish(topic, payload),
    async subscribe<T>(topics: string[]): Promise<EventSubscription<T>> {
      if (ending) throw new Error('The server is shutting down: subscribe again on another instance.');
      const sub = await bus.subscribe<T>(topics);
      const tracked = sub as EventSubscription<unknown>;
      live.add(tracked);
      const release = sub.return.bind(sub);
      sub.return = () => {
        live.delete(tracked);
        return release();
      };
      return sub;
    },
    ping: () => bus.ping(),
    close: () => bus.close(),
    async endSubscriptions() {
      ending = true;
      await Promise.all([...live].map((s) => s.return()));
    },
  };
}
