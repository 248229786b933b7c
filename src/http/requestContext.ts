import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/registry.js';

/**
 * Request ids and the one log line per request. The id is the caller's
 * `x-request-id` when it is sane (so a trace crosses the load balancer and
 * us), a new UUID otherwise; it goes back on the answer, and every log line
 * written while the request is handled carries it: the logger's mixin reads
 * it from an AsyncLocalStorage scope, so no code below has to pass it along.
 */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

interface RequestScope {
  requestId: string;
}

const scope = new AsyncLocalStorage<RequestScope>();

/** The caller's id when sane (1–128 of letters, digits and `-_.:`), else a new UUID. */
export function requestIdFrom(header: string | string[] | null | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && SANE_ID.test(value) ? value : randomUUID();
}

/** The id of the request being handled in this async context, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore()?.requestId;
}

/** For pino's `mixin` option: adds `reqId` to every line written inside a request. */
export function requestIdMixin(): { reqId?: string } {
  const id = scope.getStore()?.requestId;
  return id ? { reqId: id } : {};
}

/** Runs `fn` with `requestId` as the current request (websocket operations use the upgrade's id). */
export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return scope.run({ requestId }, fn);
}

/**
 * A route pattern for logs and metrics labels: a fixed, small set, never the
 * raw path (ids and object paths would explode the metric's label values).
 */
export function routeOf(path: string): string {
  if (path === '/graphql' || path === '/health' || path === '/ready' || path === '/metrics') return path;
  if (path === '/console' || path.startsWith('/console/')) return '/console';
  if (path.startsWith('/rpop/')) return '/rpop/:queue';
  if (path.startsWith('/llen/')) return '/llen/:queue';
  if (path.startsWith('/storage/v1/object/sign/')) return '/storage/v1/object/sign/:bucket/*';
  if (path.startsWith('/storage/v1/')) return '/storage/v1/object/:bucket/*';
  if (path === '/functions/v1/job-callback' || path === '/functions/v1/queue-job') return path;
  return 'other';
}

export interface ObserveOptions {
  logger: Logger;
  /** The app's metrics, once it has started (requests answered while it starts are only logged). */
  metrics: () => Metrics | undefined;
}

/**
 * Gives a Node request its id (header on the answer, scope for the logs),
 * logs one line when the answer is done (or the client went away), observes
 * its duration, and runs `handle` inside the request's scope.
 */
export function observeRequest(req: IncomingMessage, res: ServerResponse, opts: ObserveOptions, handle: () => void): void {
  const started = process.hrtime.bigint();
  const requestId = requestIdFrom(req.headers['x-request-id']);
  // Yoga and the route handlers see the id the answer carries.
  req.headers['x-request-id'] = requestId;
  res.setHeader('x-request-id', requestId);
  res.once('close', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = routeOf((req.url ?? '/').split('?')[0]);
    const status = res.headersSent ? res.statusCode : 0;
    opts.metrics()?.httpRequestDuration.observe({ method: req.method ?? 'GET', route, status: String(status) }, seconds);
    opts.logger.info(
      {
        reqId: requestId,
        method: req.method,
        route,
        status,
        durationMs: Math.round(seconds * 10_000) / 10,
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      'request',
    );
  });
  runWithRequestId(requestId, handle);
}
