import type { Auth, Principal } from './tokens.js';

/**
 * The one place a caller's credentials become a principal, and the role
 * checks every door uses: the GraphQL door (HTTP and websockets), the legacy
 * REST door and the worker endpoints.
 */

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;
export type WorkerPrincipal = Extract<Principal, { kind: 'worker' }>;

/**
 * Where a token comes from: an HTTP request (its Authorization header), or a
 * plain object of headers or params (`authorization` or `Authorization`): the
 * graphql-ws `connectionParams`, or GraphiQL's `extensions.headers`.
 */
export type Credentials = Request | Readonly<Record<string, unknown>> | null | undefined;

export interface TokenOptions {
  /**
   * Also take a bare token without the "Bearer " scheme. The client doors
   * always have (GraphiQL and some websocket clients send it so); the worker
   * endpoints never did, as the fleet always sends "Bearer". Default true.
   */
  bare?: boolean;
}

/** Reads `Authorization: Bearer <token>`; null when absent. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1].trim() : null;
}

/** Duck-typed: yoga may hand over its own fetch implementation's Request, not the global class. */
function isRequest(credentials: Credentials): credentials is Request {
  return typeof (credentials as Request | null | undefined)?.headers?.get === 'function';
}

/** The token the caller sent, or null when there is none. */
export function tokenFrom(credentials: Credentials, opts: TokenOptions = {}): string | null {
  const header = isRequest(credentials)
    ? credentials.headers.get('authorization')
    : (credentials?.authorization ?? credentials?.Authorization);
  if (typeof header !== 'string') return null;
  const token = bearerToken(header);
  if (token || opts.bare === false) return token;
  return header.trim() || null;
}

/**
 * Where a GraphQL operation may carry its token, by transport: the HTTP
 * `Authorization` header (HTTP and SSE), the graphql-ws `connectionParams`,
 * and — as GraphiQL sends its Headers tab, over websockets and SSE alike —
 * an `Authorization` header inside the operation's `extensions.headers`.
 * Returns the first of these that carries a token, in that order.
 */
export function graphqlCredentials(sources: {
  request?: Request;
  connectionParams?: Readonly<Record<string, unknown>>;
  extensions?: Readonly<Record<string, unknown>>;
}): Credentials {
  const headers = sources.extensions?.headers;
  const candidates: Credentials[] = [
    sources.request,
    sources.connectionParams,
    headers && typeof headers === 'object' ? (headers as Record<string, unknown>) : undefined,
  ];
  return candidates.find((c) => tokenFrom(c) !== null) ?? sources.request ?? sources.connectionParams;
}

/**
 * Who is calling: null when no token was sent; rejects with `AuthError` (its
 * message says what to do) when the token is not valid.
 */
export async function principalFrom(auth: Auth, credentials: Credentials, opts: TokenOptions = {}): Promise<Principal | null> {
  const token = tokenFrom(credentials, opts);
  return token ? auth.verify(token) : null;
}

/** A refused role check: `code` is the contract's error code, `message` says what to send instead. */
export class AccessDenied extends Error {
  constructor(
    readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN',
    message: string,
  ) {
    super(message);
    this.name = 'AccessDenied';
  }
}

const WORKER_PATHS = '/rpop, /llen, /storage, /functions/v1/job-callback';

/** Which client door is asking, to name the right remedy in a refusal. */
export type ClientDoor = 'graphql' | 'rest';

/** The signed-in user; no token or a worker token is refused with AccessDenied. */
export function requireUser(principal: Principal | null, door: ClientDoor): UserPrincipal {
  if (!principal) {
    throw new AccessDenied(
      'UNAUTHENTICATED',
      door === 'graphql'
        ? 'Sign in: send "Authorization: Bearer <token>" (for websockets, connectionParams.authorization; in GraphiQL, the Headers tab).'
        : 'Send "Authorization: Bearer <token>" with a user token.',
    );
  }
  if (principal.kind === 'worker') {
    throw new AccessDenied(
      'FORBIDDEN',
      `Worker tokens may only use the worker endpoints (${WORKER_PATHS}); use a user token ${door === 'graphql' ? 'for GraphQL' : 'to queue jobs'}.`,
    );
  }
  return principal;
}

/** A GPU worker; no token or a user token is refused with AccessDenied. */
export function requireWorker(principal: Principal | null): WorkerPrincipal {
  if (!principal) throw new AccessDenied('UNAUTHENTICATED', 'Missing "Authorization: Bearer <worker token>".');
  if (principal.kind !== 'worker') {
    throw new AccessDenied('FORBIDDEN', 'This endpoint is for the GPU workers: use a token with role "worker" or "service_role".');
  }
  return principal;
}

