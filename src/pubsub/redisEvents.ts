import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { EventBus, EventSubscription } from './events.js';
import {
  closeConnection,
  command,
  connect,
  consoleLogger,
  describeError,
  redactRedisUrl,
  RedisUnavailableError,
  type RedisConnectionOptions,
} from './redisConnection.js';
import { BufferedSubscription, toJson } from './subscription.js';

/**
 * An EventBus on Redis PUBLISH/SUBSCRIBE through graphql-redis-subscriptions'
 * RedisPubSub, with a publisher and a subscriber connection of our own.
 * Channels are `${keyPrefix}${topic}`, payloads JSON. Subscriptions on the
 * same topic share one Redis SUBSCRIBE (RedisPubSub ref-counts them), and
 * each subscription buffers for itself. After a Redis outage the subscriber
 * re-subscribes by itself (ioredis autoResubscribe); messages published
 * during the outage are lost, which the bus contract allows.
 */
export function createRedisEventBus(opts: RedisConnectionOptions): EventBus {
  const prefix = opts.keyPrefix ?? '';
  const logger = opts.logger ?? consoleLogger;
  const publisher = connect(opts, 'publisher');
  const subscriber = connect(opts, 'subscriber');

  /** Channels whose UNSUBSCRIBE failed (Redis down): autoResubscribe will bring them back, so drop them after reconnecting. */
  const orphans = new Set<string>();
  /** Our subscriptions per channel, counting ones still waiting for SUBSCRIBE. */
  const refCount = new Map<string, number>();

  // RedisPubSub.unsubscribe() fires UNSUBSCRIBE and PUNSUBSCRIBE without
  // awaiting them. With the offline queue disabled they reject while Redis is
  // down, which would be an unhandled rejection (a crash under Node's default
  // policy). Wrap them on this instance so failures are caught and remembered.
  const sub = subscriber.client;
  const rawUnsubscribe = sub.unsubscribe.bind(sub) as (...channels: string[]) => Promise<unknown>;
  const rawPunsubscribe = sub.punsubscribe.bind(sub) as (...patterns: string[]) => Promise<unknown>;
  const guarded =
    (raw: (...channels: string[]) => Promise<unknown>, remember: boolean) =>
    (...channels: string[]): Promise<unknown> => {
      const p = raw(...channels);
      p.catch(() => {
        if (remember) for (const channel of channels) orphans.add(channel);
      });
      return p;
    };
  Object.assign(sub, {
    unsubscribe: guarded(rawUnsubscribe, true),
    // RedisPubSub sends PUNSUBSCRIBE even for plain channels; nothing to remember.
    punsubscribe: guarded(rawPunsubscribe, false),
  });
  sub.on('ready', () => {
    if (orphans.size === 0) return;
    // 'ready' is emitted before ioredis re-sends its SUBSCRIBE; defer so our
    // UNSUBSCRIBE goes after it on the wire.
    setImmediate(() => {
      const stale = [...orphans].filter((channel) => !refCount.has(channel));
      orphans.clear();
      if (stale.length > 0 && sub.status === 'ready') void sub.unsubscribe(...stale);
      else for (const channel of stale) orphans.add(channel);
    });
  });

  const pubsub = new RedisPubSub({ publisher: publisher.client, subscriber: subscriber.client });
  const live = new Set<BufferedSubscription<unknown>>();
  let closed = false;

  const closedError = () => new Error('The Redis event bus is closed.');

  /** Releases RedisPubSub ids taken for one of our subscriptions. */
  function release(ids: Array<{ channel: string; id: number }>): void {
    for (const { channel, id } of ids) {
      try {
        pubsub.unsubscribe(id); // sync; RedisPubSub sends UNSUBSCRIBE when the last ref goes
      } catch (err) {
        logger.warn({ channel, err: describeError(err) }, 'event bus: unsubscribe failed');
      }
    }
  }

  function unref(channels: string[]): void {
    for (const channel of channels) {
      const n = (refCount.get(channel) ?? 1) - 1;
      if (n <= 0) refCount.delete(channel);
      else refCount.set(channel, n);
    }
  }

  return {
    kind: 'redis',
    async publish(topic, payload) {
      if (closed) throw closedError();
      const json = toJson(payload);
      // Publishing a string: RedisPubSub would JSON.stringify it again, so go to the publisher directly.
      if (typeof topic === 'string') {
        await command(publisher, opts.url, `PUBLISH ${prefix}${topic}`, () => publisher.client.publish(prefix + topic, json));
        return;
      }
      // Several topics: the commands go out back to back, in order (an ioredis
      // pipeline would save a write but costs more CPU than it saves).
      await command(publisher, opts.url, `PUBLISH ${topic.map((t) => prefix + t).join(' ')}`, () =>
        Promise.all(topic.map((t) => publisher.client.publish(prefix + t, json))),
      );
    },

    async subscribe<T>(topics: string[]): Promise<EventSubscription<T>> {
      if (closed) throw closedError();
      const channels = [...new Set(topics)].map((topic) => prefix + topic);
      const ids: Array<{ channel: string; id: number }> = [];
      // The buffer exists before the first SUBSCRIBE so that a message arriving
      // in the same socket read as the acknowledgement is not lost.
      const buffer: BufferedSubscription<unknown> = new BufferedSubscription(() => {
        live.delete(buffer);
        release(ids);
        unref(channels);
      });
      const onMessage = (message: unknown) => buffer.push(message);
      for (const channel of channels) refCount.set(channel, (refCount.get(channel) ?? 0) + 1);

      // RedisPubSub.subscribe resolves with an id once Redis acknowledged the
      // SUBSCRIBE (at once when another subscription already holds the channel).
      const settled = await Promise.allSettled(
        channels.map(async (channel) => {
          await command(subscriber, opts.url, `SUBSCRIBE ${channel}`, () => Promise.resolve());
          const id = await pubsub.subscribe(channel, onMessage);
          ids.push({ channel, id });
        }),
      );
      const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure || closed) {
        await buffer.return(); // releases the ids we did get
        if (closed) throw closedError();
        const err: unknown = failure!.reason;
        if (err instanceof RedisUnavailableError) throw err;
        throw new RedisUnavailableError(`Redis unavailable at ${redactRedisUrl(opts.url)} (SUBSCRIBE): ${describeError(err)}`, { cause: err });
      }
      live.add(buffer);
      return buffer as BufferedSubscription<T>;
    },

    async ping() {
      // The subscriber matters as much as the publisher: without it no change reaches any client.
      await Promise.all([
        command(publisher, opts.url, 'PING publisher', () => publisher.client.ping()),
        command(subscriber, opts.url, 'PING subscriber', () => subscriber.client.ping()),
      ]);
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const s of live) s.end();
      live.clear();
      // Not pubsub.close(): it quits with an offline-queue-less client and would reject while Redis is down.
      await Promise.all([closeConnection(publisher), closeConnection(subscriber)]);
    },
  };
}

