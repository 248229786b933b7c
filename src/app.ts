import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { pino, type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { AuthError, bearerToken, createAuth, deriveKey, loadOrCreateSecret, type Auth, type Principal } from './auth/tokens.js';
import type { Config } from './config.js';
import { createDb, type DbHandle } from './db/client.js';
import { readiness } from './http/health.js';
import { createMetrics } from './metrics/registry.js';
import { json } from './http/respond.js';
import { restPlugin } from './http/rest.js';
import { workerRoutes } from './http/worker.js';
import { createMemoryEventBus, createMemoryQueue } from './pubsub/memory.js';
import { assertRedisReachable, createRedisEventBus, createRedisQueue } from './pubsub/redis.js';
import { NO_SCHEDULER, type Deps } from './resolvers/deps.js';
import { startScheduler } from './resolvers/scheduler.js';
import { DomainError, ERROR_CODES } from './resolvers/errors.js';
import { registerQueueGauges } from './resolvers/queueMetrics.js';
import { startSweeper } from './resolvers/sweeper.js';
import type { Context } from './schema/context.js';
import { schema } from './schema/index.js';
import { createLocalStorage, type LocalStorage } from './storage/local.js';
import { createS3Storage } from './storage/s3.js';
import type { Storage } from './storage/storage.js';
import { systemLookup, type Lookup } from './webhooks/addresses.js';
import { createWebhookDispatcher } from './webhooks/dispatcher.js';
import { createWebhookMetrics } from './webhooks/metrics.js';
import { createSender } from './webhooks/sender.js';
import { createJobRenderer } from './schema/render.js';

export interface App {
  /** Fetch-API entry: tests may call it without opening a port. */
  fetch(request: Request): Promise<Response>;
  /** Node request listener for `http.createServer`. */
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  /** Serves graphql-ws on `/graphql` of an HTTP server; resolves the closer. */
  attachWebSockets(server: Server): () => Promise<void>;
  deps: Deps;
  auth: Auth;
  close(): Promise<void>;
}

export interface CreateAppOptions {
  logger?: Logger;
  /** How webhook hosts are resolved (default: the system resolver). */
  webhookLookup?: Lookup;
}

/**
 * The composition root: opens every backend named by the config, wires the
 * domain and both doors (GraphQL, HTTP) to them, and listens nowhere.
 * Throws an Error with one line naming what to set or start when a backend
 * is unreachable.
 */
export async function createApp(config: Config, opts: CreateAppOptions = {}): Promise<App> {
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err) => logger.warn({ err: String(err) }, 'close failed'));
  };
  try {
    const secret = config.jwt.secret ?? (config.jwt.jwksUrl ? undefined : loadOrCreateSecret(config.dataDir));
    const auth = createAuth({ ...config.jwt, secret });

    if (config.redis) await assertRedisReachable(config.redis.url);
    // The external services are probed before the database opens (an embedded
    // PGlite takes seconds), so a missing one is reported as soon as possible.
    let storage: Storage;
    let local: LocalStorage | undefined;
    if (config.s3) {
      storage = createS3Storage(config.s3);
      closers.push(() => storage.close());
      try {
        await storage.ping();
      } catch (err) {
        throw new Error(`${(err as Error).message.split('\n')[0]}`);
      }
    } else {
      local = createLocalStorage({
        dir: `${config.dataDir}/storage`,
        publicUrl: config.publicUrl,
        signingKey: deriveKey(secret ?? loadOrCreateSecret(config.dataDir), 'local-storage-urls'),
      });
      storage = local;
      closers.push(() => storage.close());
    }

    const dbHandle: DbHandle = await createDb({ url: config.databaseUrl, dataDir: `${config.dataDir}/pglite` });
    closers.push(() => dbHandle.close());

    const redisOpts = config.redis && { url: config.redis.url, keyPrefix: config.redis.keyPrefix, logger };
    const queue = redisOpts ? createRedisQueue(redisOpts) : createMemoryQueue();
    closers.push(() => queue.close());
    const events = redisOpts ? createRedisEventBus(redisOpts) : createMemoryEventBus();
    closers.push(() => events.close());

    const deps: Deps = {
      db: dbHandle.db,
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
      },
      scheduler: NO_SCHEDULER,
      webhookPolicy: { allowPrivate: config.webhooks.allowPrivate, lookup: opts.webhookLookup ?? systemLookup },
    };

    const scheduler = startScheduler(deps);
    deps.scheduler = scheduler;
    closers.push(() => scheduler.close());
    registerQueueGauges(deps);
    const sweeper = startSweeper(deps, config.sweepIntervalMs);
    closers.push(() => sweeper.close());

    const sender = createSender({ ...deps.webhookPolicy, timeoutMs: config.webhooks.timeoutMs });
    closers.push(async () => sender.close());
    const webhooks = createWebhookDispatcher({
      db: dbHandle.db,
      listen: (channel, onNotify) => dbHandle.listen(channel, onNotify),
      sender,
      render: createJobRenderer((job) => ({ deps, principal: { kind: 'user', id: job.userId, admin: false } })),
      logger,
      metrics: createWebhookMetrics(deps.metrics),
      retryBaseSeconds: config.webhooks.retryBaseSeconds,
      pollMs: config.sweepIntervalMs,
      // Longer than any send may take, so a live dispatcher never loses its claim; short enough that a dead one's return soon.
      leaseMs: config.webhooks.timeoutMs * 2 + 5000,
    });
    closers.push(() => webhooks.close());

    const worker = workerRoutes({ deps, auth, maxUploadBytes: config.maxUploadBytes, logger, callbackHmacSecret: config.callbackHmacSecret });
    const ready = () =>
      readiness({ database: dbHandle.ping, queue: queue.ping, events: events.ping, storage: storage.ping });

    const routes: Plugin = {
      async onRequest({ request, url, endResponse }) {
        try {
          if (url.pathname === '/health') return endResponse(json({ status: 'ok' }));
          if (url.pathname === '/ready') return endResponse(await ready());
          const signed = local && (await local.handleSignedRequest(request));
          if (signed) return endResponse(signed);
          const answer = worker(request, url);
          if (answer) return endResponse(await answer);
        } catch (err) {
          const errorId = randomUUID();
          logger.error({ err, errorId, path: url.pathname }, 'unexpected error');
          return endResponse(
            json(
              {
                error: 'Internal server error',
                success: false,
                details: `Try again; if it keeps happening, report error id ${errorId}.`,
                debug: { timestamp: new Date().toISOString(), errorType: 'InternalError', errorId },
              },
              500,
            ),
          );
        }
      },
      onResultProcess({ result, setResult }) {
        if (!Array.isArray(result) && isResultWithErrors(result)) setResult(withContractCodes(result));
      },
    };

    async function principalOf(authorization: unknown): Promise<Principal | null> {
      const token = typeof authorization === 'string' ? bearerToken(authorization) ?? authorization : null;
      if (!token) return null;
      try {
        return await auth.verify(token);
      } catch (err) {
        if (err instanceof AuthError) throw new DomainError('UNAUTHENTICATED', err.message);
        throw err;
      }
    }

    const yoga = createYoga<Record<string, unknown>, Context>({
      schema,
      graphqlEndpoint: '/graphql',
      // yoga's own health check answers every URL that merely ENDS in its
      // endpoint, e.g. an upload to `<bucket>/<user>/health` (acknowledged,
      // never stored). `routes` answers exactly `/health`; a parsed request
      // URL never ends in a space, so this disables yoga's.
      healthCheckEndpoint: ' ',
      landingPage: false,
      graphiql: { title: 'Generation jobs API', subscriptionsProtocol: 'WS' },
      logging: {
        debug: (...a) => logger.debug(a.map(String).join(' ')),
        info: (...a) => logger.info(a.map(String).join(' ')),
        warn: (...a) => logger.warn(a.map(String).join(' ')),
        error: (...a) => logger.error(a.map(String).join(' ')),
      },
      // The seed's REST door is a plugin of its own: it must also fix yoga's CORS answers (see rest.ts).
      plugins: [routes, restPlugin({ deps, auth, logger })],
      maskedErrors: {
        // Expected errors (DomainError, graphql-js's own) pass; anything else is
        // logged with an id and replaced by a message that reveals nothing.
        maskError(error: unknown, message: string) {
          const original = isGraphQLError(error) ? error.originalError : error;
          if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
          const errorId = randomUUID();
          logger.error({ err: original, errorId }, 'unexpected error');
          return new GraphQLError(`${message} Try again; if it keeps happening, report error id ${errorId}.`, {
            nodes: isGraphQLError(error) ? error.nodes : undefined,
            path: isGraphQLError(error) ? error.path : undefined,
            extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
          });
        },
        errorMessage: 'Internal server error.',
      },
      context: async (init): Promise<Context> => {
        const request = (init as { request?: Request }).request;
        const params = (init as { connectionParams?: Record<string, unknown> }).connectionParams;
        const authorization = request?.headers.get('authorization') ?? params?.authorization ?? params?.Authorization;
        return { deps, principal: await principalOf(authorization) };
      },
    });

    return {
      fetch: (request) => Promise.resolve(yoga.fetch(request)),
      yoga,
      attachWebSockets(server) {
        const wss = new WebSocketServer({ server, path: '/graphql' });
        const cleanup = useServer<Record<string, unknown>>(
          {
            execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
            subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
            onSubscribe: async (ctx, _id, payload) => {
              const { schema: s, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
                ...ctx,
                req: ctx.extra.request,
                socket: ctx.extra.socket,
                params: payload,
              });
              let document;
              try {
                document = parse(payload.query);
              } catch (err) {
                return [withCode(err as GraphQLError, 'BAD_USER_INPUT')];
              }
              const errors = validate(s, document);
              if (errors.length) return errors.map((e: GraphQLError) => withCode(e, 'BAD_USER_INPUT'));
              let contextValue;
              try {
                contextValue = await contextFactory();
              } catch (err) {
                if (isGraphQLError(err)) return [err];
                throw err;
              }
              return {
                schema: s,
                operationName: payload.operationName,
                document,
                variableValues: payload.variables,
                contextValue,
                rootValue: { execute, subscribe },
              };
            },
            onNext: (_ctx, _id, _payload, _args, result) =>
              isResultWithErrors(result) ? withContractCodes(result) : result,
          },
          wss,
        );
        return async () => {
          await cleanup.dispose();
          await new Promise<void>((resolve) => wss.close(() => resolve()));
        };
      },
      deps,
      auth,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Duck-typed: tools may load graphql-js twice (ESM and CommonJS copies), and
 * `instanceof` fails across the copies.
 */
function isGraphQLError(e: unknown): e is GraphQLError {
  return e instanceof Error && 'extensions' in e && 'locations' in e && 'path' in e;
}

function isResultWithErrors(result: unknown): result is { errors: readonly GraphQLError[] } {
  return typeof result === 'object' && result !== null && Array.isArray((result as { errors?: unknown }).errors);
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/** Every error carries one of the contract's codes; graphql-js's own (parse, validation, coercion) become BAD_USER_INPUT. */
function withContractCodes<T extends { errors: readonly GraphQLError[] }>(result: T): T {
  const errors = result.errors.map((e: GraphQLError) => {
    const code = e.extensions?.code;
    return typeof code === 'string' && ERROR_CODES.has(code) ? e : withCode(e, 'BAD_USER_INPUT');
  });
  return { ...result, errors };
}
