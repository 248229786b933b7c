import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { App } from '../app.js';
import { observeRequest, requestIdFrom } from './requestContext.js';
import { healthRoutes, stillStarting, stillStopping } from './health.js';

/**
 * WHATWG URL parsing resolves `..` and `%2e%2e` segments before any handler
 * sees the path, which would let `/storage/v1/object/<bucket>/../<other>/x`
 * land silently in another bucket. Refuse such raw paths up front.
 */
const DOT_SEGMENT = /(^|\/)(\.|%2e){1,2}(\/|$|\?)/i;

function guard(req: IncomingMessage, res: ServerResponse): boolean {
  const raw = (req.url ?? '/').split('?')[0];
  if (!DOT_SEGMENT.test(raw) && !raw.includes('\\') && !/%5c|%00/i.test(raw)) return true;
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ statusCode: '400', error: 'InvalidKey', message: 'Paths may not contain ".", ".." segments, backslashes or NUL.' }));
  return false;
}

export interface Listening {
  server: Server;
  port: number;
  url: string;
  /**
   * Stops serving. Refuses new connections and new requests at once (`/ready`
   * answers 503 on kept-alive sockets), runs `beforeWait` (the app ends its
   * subscriptions there, so SSE streams finish), lets requests in flight
   * finish within `timeoutMs` (default 0: no wait), closes websockets with
   * 1001, then cuts whatever is left.
   */
  close(opts?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  timeoutMs?: number;
  beforeWait?: () => Promise<void>;
}

export interface ListenOptions {
  /** How long a request or websocket upgrade that arrives while the app starts may wait for it (then 503). Default 30 s. */
  startupWaitMs?: number;
  /** Logs one line per request (and the app's lines carry the request id). Default: the app's logger once it is up. */
  logger?: Logger;
}

const DEFAULT_STARTUP_WAIT_MS = 30_000;

/** Writes a fetch Response (from the health routes) to a Node response. */
async function writeAnswer(res: ServerResponse, answer: Promise<Response>, headers: Record<string, string> = {}): Promise<void> {
  const a = await answer;
  res.writeHead(a.status, { ...Object.fromEntries(a.headers), ...headers });
  res.end(Buffer.from(await a.arrayBuffer()));
}

function jsonAnswer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** An HTTP answer on a socket that asked to upgrade (no websocket is opened). */
function refuseUpgrade(socket: Duplex, status: number, reason: string, body: unknown, requestId: string): void {
  if (!socket.writable) return void socket.destroy();
  const text = JSON.stringify(body);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `retry-after: 1\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${text}`,
  );
}

/** `/health` and `/ready` while the app is still starting, and once it is stopping: the same code as while it runs. */
const beforeStart = healthRoutes(stillStarting);
const whileStopping = healthRoutes(stillStopping);

/**
 * Serves an app (HTTP, SSE and graphql-ws) on host:port; port 0 picks a free
 * one. Given a promise, it listens at once: `/health` answers while the app
 * is still starting, `/ready` says 503 until it is up, and everything else —
 * plain requests, SSE and websocket upgrades alike — waits for it, at most
 * `startupWaitMs`, then gets a 503. Nothing is ever answered by the wrong
 * handler while the app starts.
 */
export async function listen(appOrPromise: App | Promise<App>, port: number, host = '0.0.0.0', opts: ListenOptions = {}): Promise<Listening> {
  const startupWaitMs = opts.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS;
  let app: App | undefined;
  let closeWs: (() => Promise<void>) | undefined;
  let draining = false;
  const starting = Promise.resolve(appOrPromise);
  void starting.catch(() => {});
  const inFlight = new Set<ServerResponse>();
  let idle: (() => void) | undefined;
  const logger = () => opts.logger ?? app?.deps.logger;

  /** Resolves with the app, or null when it is not up within the bound. */
  const whenStarted = (): Promise<App | null> =>
    app
      ? Promise.resolve(app)
      : new Promise((resolve) => {
          const timer = setTimeout(() => resolve(null), startupWaitMs);
          starting.then(
            (a) => {
              clearTimeout(timer);
              resolve(a);
            },
            () => {
              clearTimeout(timer);
              resolve(null);
            },
          );
        });

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (!guard(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    const url = new URL(path, 'http://localhost');
    if (draining) {
      // A new request on a kept-alive socket after the signal: refused, and the socket closes after it.
      const health = whileStopping(new Request(url), url);
      if (health) return void writeAnswer(res, health, { connection: 'close' });
      return jsonAnswer(res, 503, { status: 'stopping', error: 'The server is shutting down: retry on another instance.' }, { connection: 'close', 'retry-after': '1' });
    }
    if (app) return void app.yoga(req, res);
    const early = beforeStart(new Request(url), url);
    if (early) return void writeAnswer(res, early);
    void whenStarted().then((a) => {
      if (res.destroyed) return;
      if (a && !draining) return void a.yoga(req, res);
      jsonAnswer(res, 503, { status: 'starting', error: 'The server is still starting: retry in a moment.' }, { 'retry-after': '1' });
    });
  };

  const server = createServer((req, res) => {
    inFlight.add(res);
    res.once('close', () => {
      inFlight.delete(res);
      // While draining, a connection whose last answer went out is closed at
      // once, not kept alive for a request that would only be refused.
      if (draining) server.closeIdleConnections();
      if (inFlight.size === 0) idle?.();
    });
    const log = logger();
    if (log) observeRequest(req, res, { logger: log, metrics: () => app?.deps.metrics }, () => handle(req, res));
    else {
      res.setHeader('x-request-id', requestIdFrom(req.headers['x-request-id']));
      handle(req, res);
    }
  });

  // Registered before the app's websocket server exists: an upgrade that
  // arrives while the app starts waits here instead of falling through to
  // the plain request handler (which would answer it with a 200 page).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (app && !draining) return; // the app's websocket server (its own listener) takes it
    const requestId = requestIdFrom(req.headers['x-request-id']);
    if (draining) return refuseUpgrade(socket, 503, 'Service Unavailable', { error: 'The server is shutting down: reconnect to another instance.' }, requestId);
    void whenStarted().then((a) => {
      if (socket.destroyed) return;
      if (!a || draining) return refuseUpgrade(socket, 503, 'Service Unavailable', { error: 'The server is still starting: reconnect in a moment.' }, requestId);
      server.emit('upgrade', req, socket, head); // now handled by the app's listener
    });
  });

  const attach = (a: App) => {
    app = a;
    closeWs = a.attachWebSockets(server);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  if (!(appOrPromise instanceof Promise)) attach(appOrPromise);
  else void starting.then(attach, () => {});
  const actual = (server.address() as AddressInfo).port;

  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    async close({ timeoutMs = 0, beforeWait }: CloseOptions = {}) {
      const deadline = Date.now() + timeoutMs;
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Answers still to be written tell their clients not to reuse the connection.
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      await beforeWait?.().catch((err: unknown) => logger()?.warn({ err: String(err) }, 'ending subscriptions failed'));
      if (inFlight.size > 0 && Date.now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, deadline - Date.now());
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (inFlight.size > 0 && timeoutMs > 0) {
        logger()?.warn({ requests: inFlight.size, timeoutMs }, 'SHUTDOWN_TIMEOUT reached: cutting the requests still in flight');
      }
      await closeWs?.();
      server.closeAllConnections();
      await closed;
    },
  };
}
