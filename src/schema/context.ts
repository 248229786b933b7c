import { principalFrom } from '../auth/principal.js';
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
 * Authorization header, or (websockets) from the connection params. An
 * invalid token is refused before any field runs.
 */
export function contextFactory(deps: Deps, auth: Auth) {
  return async (init: { request?: Request; connectionParams?: Record<string, unknown> }): Promise<Context> => {
    try {
      const transport = init.request ? 'http' : 'ws';
      return { deps, principal: await principalFrom(auth, init.request ?? init.connectionParams), transport };
    } catch (err) {
      if (err instanceof AuthError) throw new DomainError('UNAUTHENTICATED', err.message);
      throw err;
    }
  };
}
