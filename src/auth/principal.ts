import { bearerToken, type Auth, type Principal } from './tokens.js';

/**
 * Where a GraphQL operation may carry its token, by transport:
 * - HTTP and SSE: the `Authorization` header;
 * - graphql-ws: the `authorization` key of `connectionParams`;
 * - GraphiQL (websocket and SSE alike): its Headers tab, sent as
 *   `extensions.headers` of each operation.
 */
export interface CredentialSources {
  header?: string | null;
  connectionParams?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

/** A header from a plain object, whatever its case (`Authorization`, `authorization`). */
function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/** The raw credential, first found: header, then connectionParams, then extensions.headers. */
export function credentialFrom(sources: CredentialSources): string | null {
  const candidates = [
    sources.header,
    headerOf(sources.connectionParams, 'authorization'),
    headerOf(sources.extensions?.headers, 'authorization'),
  ];
  for (const c of candidates) {
    if (typeof c !== 'string' || c.trim() === '') continue;
    return bearerToken(c) ?? c.trim();
  }
  return null;
}

/**
 * The one place a GraphQL operation's credentials become a principal. No
 * credential: null (anonymous; fields that need a user refuse). A bad one:
 * the AuthError of `auth.verify`, saying what to do.
 */
export async function principalFrom(auth: Auth, sources: CredentialSources): Promise<Principal | null> {
  const token = credentialFrom(sources);
  return token ? auth.verify(token) : null;
}
