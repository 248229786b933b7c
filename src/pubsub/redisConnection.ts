import { Redis, ReplyError, type RedisOptions } from 'ioredis';

/**
 * The Redis connection handling shared by the worker queue and the event bus.
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
export function describeError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; syscall?: unknown; message?: unknown };
    if (typeof e.syscall === 'string' && typeof e.code === 'string') return `${e.syscall} ${e.code}`;
    if (typeof e.message === 'string' && e.message) return e.message.split('\n')[0]!.trim();
  }
  return String(err).split('\n')[0]!.trim();
}

export const consoleLogger: RedisLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  info: (obj, msg) => console.info(msg, obj),
};

/** One ioredis connection plus what we need to explain its failures. */
export interface Connection {
  client: Redis;
  lastError?: unknown;
  /** The one wait for the current handshake, shared by every command issued meanwhile (keeps their order, and one listener set). */
  handshake?: Promise<void>;
}

export function connect(opts: RedisConnectionOptions, role: string): Connection {
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
export async function command<T>(conn: Connection, url: string, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    await whenReady(conn);
    return await fn();
  } catch (err) {
    if (err instanceof ReplyError) throw err; // Redis answered (e.g. WRONGTYPE): not an availability problem
    throw new RedisUnavailableError(`Redis unavailable at ${redactRedisUrl(url)} (${what}): ${describeError(err)}`, { cause: err });
  }
}

export async function closeConnection(conn: Connection): Promise<void> {
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
