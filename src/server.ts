import { enableCompileCache } from 'node:module';
import { pino } from 'pino';
import { DEV_USER_ID } from './auth/devUser.js';
import { loadConfig } from './config.js';
import { listen } from './http/listen.js';
import { requestIdMixin } from './http/requestContext.js';

async function main(): Promise<void> {
  // V8 keeps the compiled code of every module loaded from here on (the app
  // and its dependencies) on disk, so later starts skip most parsing and
  // compiling (Node >= 22.1; the default directory is in the temp dir).
  enableCompileCache();
  const config = loadConfig();
  // Every line written while a request is handled carries its id (see http/requestContext.ts).
  const logger = pino({ level: config.logLevel, mixin: requestIdMixin });
  // postgres.js rejects the promises of its own background work (LISTEN re-subscribing after a
  // reconnect, a query queued on a connection that just died) when PostgreSQL goes away; nothing
  // awaits them, and every request path already handles the database being away. Such a
  // rejection must not take the process down during a PostgreSQL restart; anything else still does.
  process.on('unhandledRejection', (err) => {
    if (isDatabaseConnectionLoss(err)) {
      logger.warn({ err: String(err) }, 'a PostgreSQL connection dropped under background work; it reconnects by itself');
      return;
    }
    throw err;
  });
  // Listen first and load the app behind it: health checks answer from the
  // first moment, and the (slower) app start-up overlaps with the socket setup.
  const starting = import('./app.js').then(({ createApp }) => createApp(config, { logger }));
  const http = await listen(starting, config.port, config.host, { logger });
  const app = await starting;
  logger.info({ port: http.port, embedded: config.embedded }, `listening on ${config.publicUrl}`);

  // Dev tokens only on the embedded defaults: a production deployment's secret never mints tokens here.
  if (config.embedded && !config.jwt.jwksUrl) {
    const user = await app.auth.sign({ sub: DEV_USER_ID }, '30d');
    const worker = await app.auth.sign({ sub: 'dev-worker', role: 'service_role' }, '365d');
    process.stdout.write(
      [
        '',
        `  Console:       ${config.publicUrl}/console`,
        `  GraphiQL:      ${config.publicUrl}/graphql`,
        `  HTTP headers:  {"Authorization": "Bearer ${user}"}`,
        `  dev user token:   ${user}`,
        `  dev worker token: ${worker}`,
        '',
      ].join('\n') + '\n',
    );
  }

  // Graceful stop: refuse new work at once, let accepted work finish (at most
  // SHUTDOWN_TIMEOUT), close websockets with 1001, push owed dispatches, and
  // only then close the database, Redis and storage. A second signal while
  // draining stops at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while shutting down: stopping now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
    try {
      await http.close({ timeoutMs: config.shutdownTimeoutMs, beforeWait: () => app.endSubscriptions() });
      await app.close();
    } catch (err) {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  // One line naming what to set or start; never a stack trace for expected start-up failures.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message.split('\n')[0]}\n`);
  process.exit(1);
});

/** The error codes postgres.js gives a query whose connection was lost or could not be made. */
function isDatabaseConnectionLoss(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    err instanceof Error &&
    typeof code === 'string' &&
    ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET'].includes(code) &&
    /postgres|CONNECTION_|connect/i.test(`${err.stack ?? ''} ${err.message}`)
  );
}
