import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';
import { healthRoutes, stillStarting } from './health.js';

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
  close(): Promise<void>;
}

/**
 * Serves an app (HTTP, SSE and graphql-ws) on host:port; port 0 picks a free
 * one. Given a promise, it listens at once: `/health` answers while the app
 * is still starting, `/ready` says 503 until it is up, and other requests
 * wait for it. A process that is up answers health checks from its first
 * moment, and readiness is what load balancers should route on.
 */
/** `/health` and `/ready` while the app is still starting, answered by the same code as afterwards. */
const beforeStart = healthRoutes(stillStarting);

export async function listen(appOrPromise: App | Promise<App>, port: number, host = '0.0.0.0'): Promise<Listening> {
  let app: App | undefined;
  let closeWs: (() => Promise<void>) | undefined;
  const starting = Promise.resolve(appOrPromise);
  const server = createServer((req, res) => {
    if (!guard(req, res)) return;
    if (app) return void app.yoga(req, res);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const early = beforeStart(new Request(url), url);
    if (early) {
      void early.then(async (answer) => {
        res.writeHead(answer.status, Object.fromEntries(answer.headers));
        res.end(Buffer.from(await answer.arrayBuffer()));
      });
      return;
    }
    starting.then(
      (a) => void a.yoga(req, res),
      () => res.destroy(),
    );
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
    async close() {
      await closeWs?.();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
