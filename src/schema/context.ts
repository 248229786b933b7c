import type { Principal } from '../auth/tokens.js';
import type { Deps } from '../resolvers/deps.js';

/** The per-request context every resolver receives. */
export interface Context {
  deps: Deps;
  /** Null when no token was sent. */
  principal: Principal | null;
}
