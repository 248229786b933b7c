import type { Server } from 'node:http';
import { getOperationAST, GraphQLError, subscribe as graphqlSubscribe, type ExecutionArgs } from 'graphql';
import { CloseCode, handleProtocols, makeServer, type Server as ProtocolServer } from 'graphql-ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { principalFrom } from '../auth/principal.js';
import type { Auth, Principal } from '../auth/tokens.js';
import { rateLimitMessage, type RateLimiter } from '../limits/rateLimiter.js';
import { isGraphQLError, isResultWithErrors, withCode, withContractCodes, withExtensions } from '../plugins/useContractCodes.js';
import { rateKeyOf } from '../plugins/useRateLimit.js';
import { costRefusal } from '../plugins/useRequestLimits.js';
import type { Deps } from '../resolvers/deps.js';
import type { Context } from '../schema/context.js';
import { atTime, tokenExpiredError } from '../plugins/useTokenExpiry.js';
import { originAllowed } from './cors.js';

/** What the websocket door enforces besides yoga's plugins. */
export interface WebSocketOptions {
  auth: Auth;
  /** RATE_LIMIT_PER_MINUTE: every subscribe message counts, in the same budget as HTTP. */
  limiter: RateLimiter;
  /** CORS_ORIGINS: a browser upgrade from any other origin is refused (null: any). */
  corsOrigins: readonly string[] | null;
  /** Largest message, in bytes (the ws default, 100 MiB, would buffer anything). */
  maxPayload: number;
  /** GRAPHQL_MAX_COST: the lean subscription path checks the same budget as yoga's plugin. */
  maxCost: number;
  /** yoga's error masking, applied by hand on the lean subscription path. */
  maskError: (error: unknown, message: string) => Error;
  /** What resolvers get as context on the lean subscription path. */
  deps: Deps;
  /** Milliseconds between keep-alive pings (default 30 s). */
  keepAliveMs?: number;
}

/**
 * Sockets are pinged this often and ended when a pong does not come back by
 * the next ping. Below the 60 s idle timeout common to proxies and load
 * balancers; graphql-ws's own default (12 s) cost 6 % of a core at 10,000 sockets.
 */
const KEEP_ALIVE_MS = 30_000;
const KEEP_ALIVE_SLICES = 30;

/**
 * What each connection keeps for the protocol's hooks: its socket and the
 * peer's address (the rate limiter's key), not the upgrade request itself.
 */
interface Extra {
  socket: WebSocket;
  remoteAddress: string | undefined;
}

/**
 * Marks the execution arguments of a subscription that takes the lean path
 * (graphql-js's own subscribe, without yoga's per-operation pipeline).
 */
const LEAN = Symbol('lean subscription');

/**
 * Serves the graphql-ws protocol on `/graphql` of an HTTP server, running
 * each operation through yoga's envelop (so the same plugins, context and
 * error handling apply as over HTTP). Resolves to a closer.
 *
 * The lean path: a subscription on a connection authenticated by its
 * connectionParams is parsed, validated and rate-limited as any operation,
 * then run by graphql-js's `subscribe` with a context built from the
 * connection's principal, instead of through envelop, yoga's context factory
 * and its executor. A subscription lives for hours; everything envelop keeps
 * per operation (contexts, wrapped iterators, promise helpers) is held the
 * whole time, about 20 KB per subscription, most of the memory of many idle
 * subscribers. What those plugins do for a subscription is done here instead:
 * the cost budget, the contract's error codes and error masking. The token's
 * expiry ends the whole connection (`onConnect`). Queries and mutations sent
 * over the socket, and subscriptions authenticated only by their own
 * `extensions.headers`, take the full path.
 */
export function attachWebSockets<TContext extends object>(
  yoga: YogaServerInstance<Record<string, unknown>, TContext>,
  server: Server,
  opts: WebSocketOptions,
): () => Promise<void> {
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: opts.maxPayload,
    handleProtocols,
    verifyClient: ({ origin }: { origin?: string }) => originAllowed(origin, opts.corsOrigins),
  });
  /** The principal of each connection whose connectionParams carried a valid token. */
  const principals = new WeakMap<object, Principal>();
  const protocol = makeServer<Record<string, unknown>, Extra>(
    {
      // A connection lives on past its token's expiry unless ended: at that
      // moment every subscription gets UNAUTHENTICATED and the socket closes
      // (4401, as graphql-ws closes unauthorized sockets).
      onConnect: async (ctx) => {
        const principal = await principalFrom(opts.auth, ctx.connectionParams).catch(() => null);
        if (principal) principals.set(ctx, principal);
        const expiresAt = principal?.expiresAt;
        if (expiresAt === undefined) return true;
        const socket = ctx.extra.socket;
        const cancel = atTime(expiresAt, () => {
          const payload = [tokenExpiredError(expiresAt).toJSON()];
          for (const id of Object.keys(ctx.subscriptions)) socket.send(JSON.stringify({ id, type: 'error', payload }));
          socket.close(4401, 'Unauthorized: the token expired');
        });
        socket.on('close', cancel);
        return true;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => {
        if (args.rootValue !== LEAN) return (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never;
        // A refusal is one result with the error, as yoga's plugin answers.
        const refusal = costRefusal(args, opts.maxCost);
        return refusal ? { errors: [refusal] } : (graphqlSubscribe({ ...args, rootValue: undefined }) as never);
      },
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          socket: ctx.extra.socket,
          params: payload,
        });
        const decision = await opts.limiter.consume(
          await rateKeyOf(opts.auth, ctx.connectionParams, ctx.extra.remoteAddress),
        );
        if (!decision.allowed) {
          return [
            new GraphQLError(rateLimitMessage(decision), {
              extensions: {
                code: 'RATE_LIMITED',
                limit: decision.limit,
                retryAfterSeconds: decision.retryAfterSeconds,
                retryAt: decision.retryAt.toISOString(),
              },
            }),
          ];
        }
        let document;
        try {
          document = parse(payload.query);
        } catch (err) {
          return [withoutHttp(withCode(err as GraphQLError, 'BAD_USER_INPUT'))];
        }
        const errors = validate(schema, document);
        if (errors.length) return errors.map((e: GraphQLError) => withoutHttp(withCode(e, 'BAD_USER_INPUT')));
        const principal = principals.get(ctx);
        if (
          principal &&
          (principal.expiresAt === undefined || principal.expiresAt > Date.now()) &&
          getOperationAST(document, payload.operationName)?.operation === 'subscription'
        ) {
          return {
            schema,
            operationName: payload.operationName,
            document,
            variableValues: payload.variables,
            contextValue: { deps: opts.deps, principal, connectionAuthenticated: true } satisfies Context,
            rootValue: LEAN,
          };
        }
        let contextValue;
        try {
          contextValue = await contextFactory();
        } catch (err) {
          if (isGraphQLError(err)) return [err];
          throw err;
        }
        return {
          schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue,
          rootValue: { execute, subscribe },
        };
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!isResultWithErrors(result)) return result;
        const masked =
          args.rootValue === LEAN
            ? { ...result, errors: result.errors.map((e) => opts.maskError(e, 'Internal server error.') as GraphQLError) }
            : result;
        const coded = withContractCodes(masked);
        return { ...coded, errors: coded.errors.map(withoutHttp) };
      },
    },
  );
  return carry(wss, protocol, opts.deps.logger, opts.keepAliveMs ?? KEEP_ALIVE_MS);
}

/**
 * Carries graphql-ws's protocol over the sockets of `wss`, as graphql-ws's
 * own `useServer` does, with less kept per connection: one keep-alive timer
 * for every socket (a socket that has not answered the previous ping by the
 * next one is ended) instead of an interval and a timeout each, and nothing of
 * the upgrade request but the peer's address. Resolves to a closer that ends
 * every connection with 1001.
 */
function carry(wss: WebSocketServer, protocol: ProtocolServer<Extra>, logger: Logger, keepAliveMs: number): () => Promise<void> {
  // The sockets in KEEP_ALIVE_SLICES groups, one group pinged per tick: 20,000
  // sockets pinged at once would hold the event loop for a few hundred ms.
  const slices = Array.from({ length: KEEP_ALIVE_SLICES }, () => new Set<WebSocket>());
  let joined = 0;
  let tick = 0;
  const answered = new WeakSet<WebSocket>();
  function onPong(this: WebSocket) {
    answered.add(this);
  }
  const keepAlive = setInterval(() => {
    for (const socket of slices[tick++ % KEEP_ALIVE_SLICES]!) {
      if (!answered.has(socket)) {
        socket.terminate();
        continue;
      }
      answered.delete(socket);
      socket.ping();
    }
  }, keepAliveMs / KEEP_ALIVE_SLICES);
  keepAlive.unref();

  const internalError = (socket: WebSocket, err: unknown, what: string) => {
    logger.error({ err: String(err) }, what);
    socket.close(CloseCode.InternalServerError, 'Internal server error');
  };
  wss.on('connection', (socket, request) => {
    const slice = slices[joined++ % KEEP_ALIVE_SLICES]!;
    slice.add(socket);
    answered.add(socket);
    socket.on('pong', onPong);
    // `on`, not `once`: each `once` keeps a wrapper per socket, and these fire once anyway.
    socket.on('error', (err) => internalError(socket, err, 'a websocket failed'));
    const closed = protocol.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== socket.OPEN) return resolve();
            socket.send(data, (err) => (err ? reject(err) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        // The promise of a subscribe message settles when its operation ends.
        onMessage: (handle) =>
          socket.on('message', (data) => {
            handle(String(data)).catch((err: unknown) => internalError(socket, err, 'a websocket message failed'));
          }),
      },
      { socket, remoteAddress: request.socket.remoteAddress },
    );
    socket.on('close', (code, reason) => {
      slice.delete(socket);
      void closed(code, String(reason));
    });
  });
  return async () => {
    clearInterval(keepAlive);
    for (const socket of wss.clients) socket.close(1001, 'Going away');
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/** A websocket has no HTTP status: the `http` extension (the status yoga uses) is not sent there. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return withExtensions(error, extensions);
}
