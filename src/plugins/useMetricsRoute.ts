import { timingSafeEqual } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../metrics/registry.js';
import { bearerToken } from '../auth/principal.js';
import { json } from '../http/respond.js';

export interface MetricsRouteOptions {
  metrics: Metrics;
  /** METRICS_TOKEN: when set, scrapes must send it as a bearer token. */
  token?: string;
}

/** Compares in constant time, so the token cannot be guessed byte by byte from response times. */
function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `GET /metrics`: the Prometheus exposition of this instance, optionally behind METRICS_TOKEN. */
export function useMetricsRoute(opts: MetricsRouteOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== '/metrics') return;
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return endResponse(json({ error: 'Use GET for /metrics.' }, 405, { allow: 'GET, HEAD' }));
      }
      if (opts.token) {
        const given = bearerToken(request.headers.get('authorization'));
        if (!given || !sameToken(given, opts.token)) {
          return endResponse(
            json({ error: 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".' }, 401, { 'www-authenticate': 'Bearer realm="metrics"' }),
          );
        }
      }
      const body = await opts.metrics.render();
      return endResponse(new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'content-type': opts.metrics.contentType, 'cache-control': 'no-store' } }));
    },
  };
}
