import { AccessDenied, requireUser as userOf } from '../auth/principal.js';
import { DomainError } from '../resolvers/errors.js';
import type { Viewer } from '../resolvers/viewer.js';
import type { Context } from './context.js';

/** The signed-in user; workers and anonymous callers are refused with a code that says why. */
export function requireUser(ctx: Context): Viewer {
  try {
    const user = userOf(ctx.principal, 'graphql');
    return { id: user.id, admin: user.admin };
  } catch (err) {
    if (err instanceof AccessDenied) throw new DomainError(err.code, err.message);
    throw err;
  }
}
