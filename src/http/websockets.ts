import type { Server } from 'node:http';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { principalFrom } from '../auth/principal.js';
import type { Auth } from '../auth/tokens.js';
import { rateLimitMessage, type RateLimiter } from '../limits/rateLimiter.js';
import { isGraphQLError, isResultWithErrors, withCode, withContractCodes, withExtensions } from '../plugins/useContractCodes.js';
import { rateKeyOf } from '../plugins/useRateLimit.js';
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
}

/**
 * Serves the graphql-ws protocol on `/graphql` of an HTTP server, running
 * each operation through yoga's envelop (so the same plugins, context and
 * error handling apply as over HTTP). Resolves to a closer.
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
    verifyClient: ({ origin }: { origin?: string }) => originAllowed(origin, opts.corsOrigins),
  });
  const cleanup = useServer<Record<string, unknown>>(
    {
      // A connection lives on past its token's expiry unless ended: at that
      // moment every subscription gets UNAUTHENTICATED and the socket closes
      // (4401, as graphql-ws closes unauthorized sockets).
      onConnect: async (ctx) => {
        const principal = await principalFrom(opts.auth, ctx.connectionParams).catch(() => null);
        const expiresAt = principal?.expiresAt;
        if (expiresAt === undefined) return true;
        const socket = ctx.extra.socket;
        const cancel = atTime(expiresAt, () => {
          const payload = [tokenExpiredError(expiresAt).toJSON()];
          for (const id of Object.keys(ctx.subscriptions)) socket.send(JSON.stringify({ id, type: 'error', payload }));
          socket.close(4401, 'Unauthorized: the token expired');
        });
        socket.once('close', cancel);
        return true;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        const decision = await opts.limiter.consume(
          await rateKeyOf(opts.auth, ctx.connectionParams, ctx.extra.request.socket.remoteAddress),
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
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!isResultWithErrors(result)) return result;
        const coded = withContractCodes(result);
        return { ...coded, errors: coded.errors.map(withoutHttp) };
      },
    },
    wss,
  );
  return async () => {
    await cleanup.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}

/** A websocket has no HTTP status: the `http` extension (the status yoga uses) is not sent there. */
function withoutHttp(error: GraphQLError): GraphQLError {
  if (!error.extensions || !('http' in error.extensions)) return error;
  const { http: _http, ...extensions } = error.extensions;
  return withExtensions(error, extensions);
}
