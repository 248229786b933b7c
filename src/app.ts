import type { Server } from 'node:http';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { pino, type Logger } from 'pino';
import { createAuth, loadOrCreateSecret, type Auth } from './auth/tokens.js';
import { openBackends } from './backends.js';
import type { Config } from './config.js';
import { DEV_USER_ID } from './auth/devUser.js';
import { cachedGraphiQLRenderer, graphiqlOptions } from './http/graphiql.js';
import { cachedToken, consoleRoutes, defaultConsoleDir } from './http/console.js';
import { healthRoutes, readiness } from './http/health.js';
import { corsOptions } from './http/cors.js';
import { requestIdMixin } from './http/requestContext.js';
import { restPlugin, restRateLimited } from './http/rest.js';
import { useMetricsRoute } from './plugins/useMetricsRoute.js';
import { drainable } from './pubsub/draining.js';
import { signedUrlRoutes } from './http/signedUrls.js';
import { attachWebSockets } from './http/websockets.js';
import { workerRoutes } from './http/worker.js';
import { createRateLimiter } from './limits/rateLimiter.js';
import { createMetrics } from './metrics/registry.js';
import { maskErrors } from './plugins/maskErrors.js';
import { useContractCodes } from './plugins/useContractCodes.js';
import { useRateLimit } from './plugins/useRateLimit.js';
import { DEFAULT_LIMITS, useRequestLimits } from './plugins/useRequestLimits.js';
import { useRoutes } from './plugins/useRoutes.js';
import { useTokenExpiry } from './plugins/useTokenExpiry.js';
import { yogaLogging } from './plugins/yogaLogging.js';
import { NO_SCHEDULER, type Deps } from './resolvers/deps.js';
import { startScheduler } from './resolvers/scheduler.js';
import { registerQueueGauges } from './resolvers/queueMetrics.js';
import { startSweeper } from './resolvers/sweeper.js';
import { contextFactory, type Context } from './schema/context.js';
import { schema } from './schema/index.js';
import { createJobRenderer } from './schema/render.js';
import { systemLookup, type Lookup } from './webhooks/addresses.js';
import { startWebhooks } from './webhooks/start.js';

export interface App {
  /** Fetch-API entry: tests may call it without opening a port. */
  fetch(request: Request): Promise<Response>;
  /** Node request listener for `http.createServer`. */
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  /** Serves graphql-ws on `/graphql` of an HTTP server; resolves the closer. */
  attachWebSockets(server: Server): () => Promise<void>;
  /**
   * The first step of a graceful stop: ends every subscription normally (SSE
   * streams finish, websocket operations complete) while publishing goes on.
   */
  endSubscriptions(): Promise<void>;
  deps: Deps;
  auth: Auth;
  close(): Promise<void>;
}

export interface CreateAppOptions {
  logger?: Logger;
  /** How webhook hosts are resolved (default: the system resolver). */
  webhookLookup?: Lookup;
  /** The built web console (default: the package's console/dist). */
  consoleDir?: string;
}

/**
 * The composition root: opens every backend named by the config, wires the
 * domain and both doors (GraphQL, HTTP) to them, and listens nowhere. Each
 * concern lives in its own module; this function only connects them.
 * Throws an Error with one line naming what to set or start when a backend
 * is unreachable.
 */
export async function createApp(config: Config, opts: CreateAppOptions = {}): Promise<App> {
  const logger = opts.logger ?? pino({ level: config.logLevel, mixin: requestIdMixin });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err) => logger.warn({ err: String(err) }, 'close failed'));
  };
  try {
    const secret = config.jwt.secret ?? (config.jwt.jwksUrl ? undefined : loadOrCreateSecret(config.dataDir));
    const auth = createAuth({ ...config.jwt, secret });
    const { storage, local, db, queue, events: bus } = await openBackends(config, {
      secret,
      logger,
      onOpen: (close) => closers.push(close),
    });
    // Subscriptions can be ended on their own at shutdown, before the bus closes.
    const events = drainable(bus);

    const deps: Deps = {
      db: db.db,
      queue,
      events,
      storage,
      logger,
      metrics: createMetrics({ onRefreshError: (err) => logger.warn({ err: String(err) }, 'a metrics refresh failed') }),
      settings: {
        startingCredits: config.startingCredits,
        signedUrlTtl: config.signedUrlTtl,
        jobTimeoutGrace: config.jobTimeoutGrace,
        maxAttempts: config.maxAttempts,
        transientErrorPattern: config.transientErrorPattern,
        // Only workers popping Redis directly need a window; the in-process queue has none.
        windowSize: queue.kind === 'redis' ? config.queueWindowSize : 0,
        allowPrivateReferences: config.referenceAllowPrivate,
        maxActiveJobsPerUser: config.maxActiveJobsPerUser,
      },
      scheduler: NO_SCHEDULER,
      webhookPolicy: { allowPrivate: config.webhooks.allowPrivate, lookup: opts.webhookLookup ?? systemLookup },
    };

    const scheduler = startScheduler(deps);
    deps.scheduler = scheduler;
    closers.push(() => scheduler.close());
    registerQueueGauges(deps);
    // Nothing is owed to the queue at shutdown: jobs wait in the database, the queue of record.
    const sweeper = startSweeper(deps, config.sweepIntervalMs);
    closers.push(() => sweeper.close());

    const webhooks = startWebhooks({
      deps,
      db,
      config: config.webhooks,
      pollMs: config.sweepIntervalMs,
      render: createJobRenderer((job) => ({ deps, principal: { kind: 'user', id: job.userId, admin: false } })),
    });
    closers.push(() => webhooks.close());

    const limiter = await createRateLimiter({ perMinute: config.rateLimitPerMinute, redis: config.redis, logger });
    closers.push(() => limiter.close());
    // The dev user's token (embedded defaults only), minted once when first asked for: the console's page and GraphiQL's Headers tab.
    const devToken = config.embedded && !config.jwt.jwksUrl ? cachedToken(() => auth.sign({ sub: DEV_USER_ID }, '30d')) : undefined;

    const ready = () => readiness({ database: db.ping, queue: queue.ping, events: events.ping, storage: storage.ping });
    const masking = maskErrors(logger);
    const yoga = createYoga<Record<string, unknown>, Context>({
      schema,
      graphqlEndpoint: '/graphql',
      // yoga's own health check answers every URL that merely ENDS in its
      // endpoint, e.g. an upload to `<bucket>/<user>/health` (acknowledged,
      // never stored). `healthRoutes` answers exactly `/health`; a parsed
      // request URL never ends in a space, so this disables yoga's.
      healthCheckEndpoint: ' ',
      landingPage: false,
      // useRequestLimits reads at most 1 MiB of a body before any parser sees it; yoga's own
      // 25 MB limit would stream every body through a second, size-counting pipe.
      maxRequestBodySize: false,
      cors: corsOptions(config.corsOrigins),
      graphiql: async () => graphiqlOptions(await devToken?.()),
      renderGraphiQL: cachedGraphiQLRenderer(),
      logging: yogaLogging(logger),
      plugins: [
        useRoutes(
          [
            healthRoutes(ready),
            ...(local ? [signedUrlRoutes(local)] : []),
            workerRoutes({ deps, auth, maxUploadBytes: config.maxUploadBytes, logger, callbackHmacSecret: config.callbackHmacSecret }),
            consoleRoutes({
              dir: opts.consoleDir ?? defaultConsoleDir(),
              // Only the embedded defaults put the dev user's token in the page; a configured deployment never mints one.
              devToken,
            }),
          ],
          logger,
        ),
        useMetricsRoute({ metrics: deps.metrics, token: config.metricsToken }),
        // Before the REST door and before any body is read: a refused request costs almost nothing.
        useRateLimit({ limiter, auth, restRefusal: restRateLimited }),
        useContractCodes(),
        // The legacy REST door is a plugin of its own: it must also fix yoga's CORS answers (see rest.ts).
        restPlugin({ deps, auth, logger, corsOrigins: config.corsOrigins }),
        useRequestLimits({ ...DEFAULT_LIMITS, maxCost: config.graphql.maxCost, introspection: config.graphql.introspection }),
        useTokenExpiry(),
      ],
      maskedErrors: masking,
      context: contextFactory(deps, auth),
    });

    return {
      fetch: (request) => Promise.resolve(yoga.fetch(request)),
      yoga,
      attachWebSockets: (server) =>
        attachWebSockets(yoga, server, {
          auth,
          limiter,
          corsOrigins: config.corsOrigins,
          maxPayload: DEFAULT_LIMITS.maxBodyBytes,
          maxCost: config.graphql.maxCost,
          maskError: masking.maskError,
          deps,
        }),
      endSubscriptions: () => events.endSubscriptions(),
      deps,
      auth,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
