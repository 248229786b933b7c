import type { Plugin } from 'graphql-yoga';
import { rateLimitMessage, type RateDecision, type RateLimiter } from '../limits/rateLimiter.js';

/** Who is asking, for counting: `user:<id>` with a valid token, `ip:<address>` without one. */
export type RateKeyOf = (request: Request, serverContext: Record<string, unknown>) => Promise<string>;

export interface UseRateLimitOptions {
  limiter: RateLimiter;
  keyOf: RateKeyOf;
  /** Answers a refused request of a path that is not GraphQL (the REST door, in its own error shape); null for GraphQL's. */
  restRefusal?: (request: Request, url: URL, decision: Extract<RateDecision, { allowed: false }>) => Response | null;
}

/**
 * RATE_LIMIT_PER_MINUTE on the user doors: GraphQL over HTTP and SSE, and the
 * REST queue-job. Counted in onRequest, before the body is read or parsed, so
 * a refused request costs almost nothing and changes nothing. The worker
 * endpoints, health checks and static pages are not counted. (Websocket
 * operations are counted by the websocket server with the same limiter.)
 */
export function useRateLimit(opts: UseRateLimitOptions): Plugin {
  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (!counted(request, url)) return;
      const decision = await opts.limiter.consume(await opts.keyOf(request, serverContext as Record<string, unknown>));
      if (decision.allowed) return;
      const rest = opts.restRefusal?.(request, url, decision);
      if (rest) return endResponse(rest);
      endResponse(
        new Response(
          JSON.stringify({
            errors: [
              {
                message: rateLimitMessage(decision),
                extensions: {
                  code: 'RATE_LIMITED',
                  limit: decision.limit,
                  retryAfterSeconds: decision.retryAfterSeconds,
                  retryAt: decision.retryAt.toISOString(),
                },
              },
            ],
          }),
          {
            status: 429,
            headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(decision.retryAfterSeconds) },
          },
        ),
      );
    },
  };
}

function counted(request: Request, url: URL): boolean {
  if (request.method === 'OPTIONS') return false;
  if (url.pathname === '/functions/v1/queue-job') return request.method === 'POST';
  if (url.pathname !== '/graphql') return false;
  // A browser GET without a query is GraphiQL's page, not an operation.
  return request.method === 'POST' || url.searchParams.has('query');
}
