import { graphqlCredentials, principalFrom } from '../auth/principal.js';
import { AuthError, type Auth, type Principal } from '../auth/tokens.js';
import type { Deps } from '../resolvers/deps.js';
import { DomainError } from '../resolvers/errors.js';

/** The per-request context every resolver receives. */
export interface Context {
  deps: Deps;
  /** Null when no token was sent. */
  principal: Principal | null;
  /**
   * True when the token came from the graphql-ws connectionParams: the
   * websocket server then ends the whole connection when it expires, so the
   * operation need not watch the expiry itself (it must when the token came
   * from the operation's own `extensions.headers`, as GraphiQL sends it).
   */
  connectionAuthenticated?: boolean;
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
      const credentials = graphqlCredentials({ request: init.request, connectionParams: init.connectionParams, extensions: init.params?.extensions });
      const connectionAuthenticated = !init.request && credentials !== undefined && credentials === init.connectionParams;
      return { deps, principal: await principalFrom(auth, credentials), connectionAuthenticated };
    } catch (err) {
      if (err instanceof AuthError) throw new DomainError('UNAUTHENTICATED', err.message);
      throw err;
    }
  };
}
