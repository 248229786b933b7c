import { randomUUID } from 'node:crypto';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis, ReplyError, type RedisOptions } from 'ioredis';
import type { EventBus, EventSubscription } from './events.js';
import { BufferedSubscription, toJson } from './memory.js';
import type { WorkerQueue } from './queue.js';

/**
 * Redis implementations of the worker queue and the event bus.
 *
 * Availability policy: the database is the truth, so while Redis is down the
 * server keeps accepting jobs and must learn *at once* that a push failed
 * (to log it / retry later), never hang on a queued command. Hence every
 * connection fails fast (no offline queue, no per-request retries, short
 * timeouts) but reconnects forever by itself, and the event bus's subscriber
 * re-subscribes its channels after a reconnect.
 */

/** Pino-compatible; only `warn` is required. */
export interface RedisLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. The password is never logged. */
  url: string;
  /**
   * Prepended to every list and channel name. Default `''`, so the SDXL list
   * is literally `sdxl_queue`, the key the unmodified GPU workers RPOP from.
   */
  keyPrefix?: string;
  /** Told once when a connection drops and once when it comes back (not on every retry). Default: console. */
  logger?: RedisLogger;
  /** Deadline for one command on a live-looking connection (e.g. a frozen server). Default 2000 ms. */
  commandTimeoutMs?: number;
}

/**
 * Thrown (rejected) by the Redis queue and bus when Redis cannot be reached
 * or did not answer in time; `code` lets callers tell it from a Redis reply
 * error. The operation may or may not have reached Redis if the connection
 * dropped mid-flight.
 */
export class RedisUnavailableError extends Error {
  readonly code = 'REDIS_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

/** Backoff between reconnect attempts: 100 ms doubling, capped at 2 s, forever. */
const MAX_RECONNECT_DELAY_MS = 2000;
export function reconnectDelay(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt - 1, 10), MAX_RECONNECT_DELAY_MS);
}

/** How long a command waits for a connection that is mid-handshake (start-up, just reconnected). */
const HANDSHAKE_WAIT_MS = 1000;

function resilientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    // Reject commands while disconnected instead of buffering them until Redis returns.
    enableOfflineQueue: false,
    // 0, not 1: a command in flight when the socket drops is rejected at once
    // rather than held for one reconnect attempt; with 1 it could be rejected
    // by commandTimeout and *then* resent, i.e. an LPUSH reported as failed
    // that still lands (a job run twice once the caller re-queues it).
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: reconnectDelay,
    // Default already, spelled out because the event bus depends on it.
    autoResubscribe: true,
    enableReadyCheck: true,
  };
}

/** The URL with any password replaced by `***`, safe for logs and error messages. */
export function redactRedisUrl(url: string): string {
  // Not a URL (e.g. "user:pw@host:port", which URL would read as scheme "user:"): cut anything credential-like.
  const fallback = () => url.replace(/^([^/]*\/\/)?[^@/]*@/, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
  if (!url.includes('://')) return fallback();
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return fallback();
  }
}

/** "connect ECONNREFUSED" rather than a stack or a multi-line reply. */
function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; syscall?: unknown; message?: unknown };
    if (typeof e.syscall === 'string' && typeof e.code === 'string') return `${e.syscall} ${e.code}`;
    if (typeof e.message === 'string' && e.message) return e.message.split('\n')[0]!.trim();
  }
  return String(err).split('\n')[0]!.trim();
}

const consoleLogger: RedisLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  info: (obj, msg) => console.info(msg, obj),
};

/** One ioredis connection plus what we need to explain its failures. */
interface Connection {
  client: Redis;
  lastError?: unknown;
  /** The one wait for the current handshake, shared by every command issued meanwhile (keeps their order, and one listener set). */
  handshake?: Promise<void>;
}

function connect(opts: RedisConnectionOptions, role: string): Connection {
  const logger = opts.logger ?? consoleLogger;
  const redis = redactRedisUrl(opts.url);
  const client = new Redis(opts.url, resilientOptions(opts.commandTimeoutMs ?? 2000));
  const conn: Connection = { client };
  // Edge-triggered logging: one line when the link goes down, one when it is
  // back, instead of one per reconnect attempt. The 'error' listener must
  // exist anyway, or ioredis prints every error to the console itself.
  let down = false;
  client.on('error', (err: unknown) => {
    conn.lastError = err;
    if (!down) {
      down = true;
      logger.warn({ redis, role, err: describeError(err) }, 'Redis connection failed; Redis operations fail fast until it reconnects');
    }
  });
  client.on('ready', () => {
    conn.lastError = undefined;
    if (down) {
      down = false;
      (logger.info ?? logger.warn).call(logger, { redis, role }, 'Redis connection restored');
    }
  });
  return conn;
}

/**
 * Resolves when the connection can take a command. A connection that is
 * mid-handshake gets a short grace period (so the very first command after
 * start-up does not fail); one that is down (waiting to reconnect, or closed)
 * fails immediately.
 */
function whenReady(conn: Connection): Promise<void> {
  const { client } = conn;
  const why = () => (conn.lastError ? describeError(conn.lastError) : `connection ${client.status}`);
  switch (client.status) {
    case 'ready':
      return Promise.resolve();
    case 'wait':
    case 'connecting':
    case 'connect':
      conn.handshake ??= new Promise<void>((resolve, reject) => {
        const finish = (err?: Error) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          client.off('close', onClose);
          client.off('end', onClose);
          conn.handshake = undefined;
          if (err) reject(err);
          else resolve();
        };
        const onReady = () => finish();
        const onClose = () => finish(new Error(why()));
        const timer = setTimeout(() => finish(new Error(`not ready within ${HANDSHAKE_WAIT_MS} ms (${why()})`)), HANDSHAKE_WAIT_MS);
        client.once('ready', onReady);
        client.once('close', onClose);
        client.once('end', onClose);
      });
      return conn.handshake;
    default:
      return Promise.reject(new Error(client.status === 'end' ? 'connection closed by this process' : why()));
  }
}

/** Runs one command, turning connection-level failures into RedisUnavailableError. */
async function command<T>(conn: Connection, url: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    await whenReady(conn);
    return await fn();
  } catch (err) {
    if (err instanceof ReplyError) throw err; // Redis answered (e.g. WRONGTYPE): not an availability problem
    throw new RedisUnavailableError(`Redis unavailable at ${redactRedisUrl(url)} (${what}): ${describeError(err)}`, { cause: err });
  }
}

async function closeConnection(conn: Connection): Promise<void> {
  const { client } = conn;
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  client.disconnect(); // also stops the reconnect loop
}

/** WorkerQueue.replace as one atomic script: a popper sees the list before or after, never between. */
const REPLACE_SCRIPT = `
local n = tonumber(ARGV[1])
local counts, gone = {}, {}
for i = 1, n do
  local c = redis.call('LREM', KEYS[1], 0, ARGV[1 + i])
  counts[i] = c
  if c == 0 then gone[ARGV[1 + i]] = true end
end
for i = n + 2, #ARGV do
  if not gone[ARGV[i]] then redis.call('LPUSH', KEYS[1], ARGV[i]) end
end
return counts`;

/**
 * A WorkerQueue on real Redis lists named `${keyPrefix}${queue}` (LPUSH in,
 * RPOP out), so GPU workers can pop from Redis directly. Every method rejects
 * with RedisUnavailableError within about two seconds while Redis is down,
 * and works again by itself once Redis is back.
 */
export function createRedisQueue(opts: RedisConnectionOptions): WorkerQueue {
  const prefix = opts.keyPrefix ?? '';
  const conn = connect(opts, 'queue');
  const run = <T>(what: string, fn: () => Promise<T>) => command(conn, opts.url, what, fn);
  return {
    kind: 'redis',
    push: (queue, payload) => run(`LPUSH ${prefix}${queue}`, () => conn.client.lpush(prefix + queue, payload)),
    pushBack: (queue, payload) => run(`RPUSH ${prefix}${queue}`, () => conn.client.rpush(prefix + queue, payload)),
    replace: (queue, remove, push) =>
      run(`EVAL replace ${prefix}${queue}`, async () => {
        const counts = (await conn.client.eval(REPLACE_SCRIPT, 1, prefix + queue, String(remove.length), ...remove, ...push)) as number[];
        return counts.map(Number);
      }),
    // LRANGE and the epoch in one MULTI, so a restart cannot fall between them.
    snapshot: (queue) =>
      run(`LRANGE ${prefix}${queue}`, async () => {
        const fresh = randomUUID();
        const replies = await conn.client
          .multi()
          .lrange(prefix + queue, 0, -1)
          .call('SET', `${prefix}genjob:queue-epoch`, fresh, 'NX', 'GET')
          .exec();
        if (!replies) throw new Error('MULTI aborted');
        for (const [err] of replies) if (err) throw err;
        return { items: replies[0]![1] as string[], epoch: (replies[1]![1] as string | null) ?? fresh };
      }),
    pop: (queue) => run(`RPOP ${prefix}${queue}`, () => conn.client.rpop(prefix + queue)),
    length: (queue) => run(`LLEN ${prefix}${queue}`, () => conn.client.llen(prefix + queue)),
    remove: (queue, payload) => run(`LREM ${prefix}${queue}`, () => conn.client.lrem(prefix + queue, 0, payload)),
    // SET NX GET in one step: every instance agrees on the first id written
    // since Redis last started empty.
    epoch: () =>
      run('SET epoch', async () => {
        const fresh = randomUUID();
        const previous = (await conn.client.call('SET', `${prefix}genjob:queue-epoch`, fresh, 'NX', 'GET')) as string | null;
        return previous ?? fresh;
      }),
    ping: async () => {
      await run('PING', () => conn.client.ping());
    },
    close: () => closeConnection(conn),
  };
}

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
      await command(publisher, opts.url, `PUBLISH ${prefix}${topic}`, () => publisher.client.publish(prefix + topic, json));
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

/**
 * For start-up: resolves when Redis at `url` answers PING within
 * `timeoutMs`, otherwise throws an Error with a one-line, password-free
 * message saying what to do, e.g.
 * `Cannot reach Redis at redis://127.0.0.1:6390 (REDIS_URL): connect ECONNREFUSED — start Redis or fix REDIS_URL.`
 *
 * @param envVar the setting the URL came from, named in the message.
 */
export async function assertRedisReachable(url: string, timeoutMs = 3000, envVar = 'REDIS_URL'): Promise<void> {
  let client: Redis | undefined;
  let lastError: unknown;
  let timer: NodeJS.Timeout | undefined;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null, // one attempt: this is a probe
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
    });
    client.on('error', (err: unknown) => {
      lastError = err;
    });
    const probe = client;
    await Promise.race([
      probe.connect().then(() => probe.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    // connect() itself only says "Connection is closed."; the 'error' event has the cause.
    let reason = describeError(lastError ?? err);
    const password = passwordOf(url);
    if (password) reason = reason.split(password).join('***');
    throw new Error(`Cannot reach Redis at ${redactRedisUrl(url)} (${envVar}): ${reason} — start Redis or fix ${envVar}.`);
  } finally {
    clearTimeout(timer);
    client?.disconnect();
  }
}

function passwordOf(url: string): string | undefined {
  try {
    const password = decodeURIComponent(new URL(url).password);
    return password || undefined;
  } catch {
    return undefined;
  }
}
