import { randomUUID } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { legacyError } from '../http/respond.js';

/** Answers one path, or returns null so the next route (or GraphQL) gets the request. */
export type Route = (request: Request, url: URL) => Promise<Response | null> | Response | null;

/**
 * Serves the HTTP paths that are not GraphQL (health, storage URLs, the
 * worker endpoints) before yoga looks at the request: the first route that
 * claims the path answers. An unexpected error is logged with an id and
 * answered as a 500 in the legacy error shape, naming only that id.
 */
export function useRoutes(routes: readonly Route[], logger: Logger): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      try {
        for (const route of routes) {
          const answer = await route(request, url);
          if (answer) return endResponse(answer);
        }
      } catch (err) {
        const errorId = randomUUID();
        logger.error({ err, errorId, path: url.pathname }, 'unexpected error');
        return endResponse(
          legacyError(500, 'Internal server error', `Try again; if it keeps happening, report error id ${errorId}.`, 'InternalError', {
            errorId,
          }),
        );
      }
    },
  };
}
