import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay from `port` to `target` on 127.0.0.1 that a test can cut and
 * restore: `down()` drops every connection and refuses new ones, exactly
 * what the app sees when a service goes away, without stopping the shared
 * server behind it.
 */
export function tcpRelay(port: number, target = 5432) {
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => s.destroy());
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server ? server.close(() => resolve()) : resolve();
      server = null;
    });
  return { up, down };
}
