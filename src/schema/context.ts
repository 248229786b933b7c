import type { Principal } from '../auth/tokens.js';
import type { Deps } from '../resolvers/deps.js';

/** The per-request context every resolver receives. */
export interface Context {
  deps: Deps;
  /** Null when no token was sent. */
  principal: Principal | null;
  /** How the operation arrived: graphql-ws, or HTTP (including SSE). */
  transport?: 'ws' | 'http';
}
