import { graphqlCredentials, principalFrom } from '../auth/principal.js';
import { AuthError, type Auth, type Principal } from '../auth/tokens.js';
import type { Deps } from '../resolvers/deps.js';
import { DomainError } from '../resolvers/errors.js';

/** The per-request context every resolver receives. */
export interface Context {
  deps: Deps;
  /** Null when no token was sent. */
  principal: Principal | null;
  /** How the operation arrived: graphql-ws, or HTTP (including SSE). */
  transport?: 'ws' | 'http';
}

/**
 * yoga's context factory: the caller's principal from the request's
 * Authorization header, (websockets) the connection params, or (GraphiQL,
 * websockets and SSE) the operation's `extensions.headers`. An invalid token
 * is refused before any field runs.
 */
export function contextFactory(deps: Deps, auth: Auth) {
  return async (init: {
    request?: Request;
    connectionParams?: Record<string, unknown>;
    params?: { extensions?: Record<string, unknown> };
  }): Promise<Context> => {
    try {
      const transport = init.request ? 'http' : 'ws';
      const credentials = graphqlCredentials({ request: init.request, connectionParams: init.connectionParams, extensions: init.params?.extensions });
      return { deps, principal: await principalFrom(auth, credentials), transport };
    } catch (err) {
      if (err instanceof AuthError) throw new DomainError('UNAUTHENTICATED', err.message);
      throw err;
    }
  };
}
