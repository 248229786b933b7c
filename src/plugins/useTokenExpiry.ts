import { GraphQLError, type ExecutionResult } from 'graphql';
import { Repeater, type Plugin } from 'graphql-yoga';
import type { Context } from '../schema/context.js';

/** The error a subscription ends with when its token expires. */
export function tokenExpiredError(expiresAt: number): GraphQLError {
  return new GraphQLError(
    `The token expired at ${new Date(expiresAt).toISOString()}: get a new token and subscribe again.`,
    { extensions: { code: 'UNAUTHENTICATED' } },
  );
}

/**
 * Calls `fn` at `at` (ms since the epoch); returns a canceller. setTimeout
 * cannot wait more than 2^31-1 ms (about 24.8 days, less than a 30-day token
 * lives), so longer waits re-arm.
 */
export function atTime(at: number, fn: () => void): () => void {
  let timer: NodeJS.Timeout;
  const arm = () => {
    const wait = at - Date.now();
    timer = setTimeout(wait > 2 ** 31 - 1 ? arm : fn, Math.min(Math.max(wait, 0), 2 ** 31 - 1));
    timer.unref?.();
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * A subscription over SSE (HTTP) ends with UNAUTHENTICATED when the token it
 * was opened with expires: a token is checked once, when the stream opens, so
 * without this a stream would outlive it for as long as the connection lasts.
 * Websocket subscriptions are ended by the websocket server, which also
 * closes the socket (see app.ts).
 */
export function useTokenExpiry(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const ctx = args.contextValue as Context;
      const expiresAt = ctx.principal?.expiresAt;
      if (expiresAt === undefined || ctx.transport === 'ws') return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilExpiry(result, expiresAt));
        },
      };
    },
  };
}

function untilExpiry(source: AsyncIterable<ExecutionResult>, expiresAt: number): AsyncIterableIterator<ExecutionResult> {
  return new Repeater<ExecutionResult>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const cancel = atTime(expiresAt, () => {
      void push({ errors: [tokenExpiredError(expiresAt)] }).then(() => stop());
    });
    void stop.then(() => {
      cancel();
      void iterator.return?.();
    });
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    try {
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done) break;
        await push(next.value);
      }
    } finally {
      stop();
    }
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
