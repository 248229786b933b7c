import { DomainError } from '../resolvers/errors.js';
import type { Viewer } from '../resolvers/jobs.js';
import type { Context } from './context.js';

/** The signed-in user; workers and anonymous callers are refused with a code that says why. */
export function requireUser(ctx: Context): Viewer {
  const p = ctx.principal;
  if (!p) {
    throw new DomainError('UNAUTHENTICATED', 'Sign in: send "Authorization: Bearer <token>" (for websockets, connectionParams.authorization).');
  }
  if (p.kind === 'worker') {
    throw new DomainError('FORBIDDEN', 'Worker tokens may only use the worker endpoints (/rpop, /llen, /storage, /functions/v1/job-callback); use a user token for GraphQL.');
  }
  return { id: p.id, admin: p.admin };
}
