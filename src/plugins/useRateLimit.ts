import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { principalFrom, type Credentials } from '../auth/principal.js';
import type { Auth } from '../auth/tokens.js';
import { rateLimitMessage, type RateDecision, type RateLimiter } from '../limits/rateLimiter.js';

/**
 * Who is asking, for counting: `user:<id>` (or `worker:<id>`) with a valid
 * token, `ip:<address>` without one (an invalid token counts as none).
 */
export async function rateKeyOf(auth: Auth, credentials: Credentials, address: string | undefined): Promise<string> {
  const principal = await principalFrom(auth, credentials).catch(() => null);
  if (principal) return principal.kind === 'user' ? `user:${principal.id}` : `worker:${principal.id ?? ''}`;
  return `ip:${address ?? 'unknown'}`;
}

export interface UseRateLimitOptions {
  limiter: RateLimiter;
  auth: Auth;
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
      const address = (serverContext as { req?: IncomingMessage }).req?.socket?.remoteAddress;
      const decision = await opts.limiter.consume(await rateKeyOf(opts.auth, request, address));
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
