import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';

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

/** Serves an app (HTTP, SSE and graphql-ws) on host:port; port 0 picks a free one. */
export async function listen(app: App, port: number, host = '0.0.0.0'): Promise<Listening> {
  const server = createServer((req, res) => {
    if (guard(req, res)) void app.yoga(req, res);
  });
  const closeWs = app.attachWebSockets(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    async close() {
      await closeWs();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
