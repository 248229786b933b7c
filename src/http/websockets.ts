import type { Server } from 'node:http';
import type { ExecutionArgs, GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import { isGraphQLError, isResultWithErrors, withCode, withContractCodes } from '../plugins/useContractCodes.js';

/**
 * Serves the graphql-ws protocol on `/graphql` of an HTTP server, running
 * each operation through yoga's envelop (so the same plugins, context and
 * error handling apply as over HTTP). Resolves to a closer.
 */
export function attachWebSockets<TContext extends object>(
  yoga: YogaServerInstance<Record<string, unknown>, TContext>,
  server: Server,
): () => Promise<void> {
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const cleanup = useServer<Record<string, unknown>>(
    {
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => unknown }).execute(args) as never,
      subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => unknown }).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
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
        const errors = validate(schema, document);
        if (errors.length) return errors.map((e: GraphQLError) => withCode(e, 'BAD_USER_INPUT'));
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
      onNext: (_ctx, _id, _payload, _args, result) => (isResultWithErrors(result) ? withContractCodes(result) : result),
    },
    wss,
  );
  return async () => {
    await cleanup.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  };
}
