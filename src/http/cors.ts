import type { CORSOptions } from 'graphql-yoga';

/**
 * CORS_ORIGINS for GraphQL (yoga's `cors` option). Unset: any origin may
 * call, without credentials (the API authenticates with bearer tokens, never
 * cookies, so nothing is lost). Set: only those origins get CORS headers
 * (with credentials); any other origin gets none, so browsers refuse it.
 */
export function corsOptions(origins: readonly string[] | null): (request: Request) => CORSOptions {
  if (origins === null) return () => ({ origin: '*', credentials: false });
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin || !origins.includes(origin)) return false;
    return { origin: [origin], credentials: true };
  };
}

/**
 * The same rule for answers whose CORS headers are written by hand (the
 * legacy REST door answers "*" like the system it replaces): with a list set,
 * a listed origin gets its own name instead of "*", and any other origin gets
 * no CORS headers at all.
 */
export function restrictCorsHeaders(headers: Headers, origin: string | null, origins: readonly string[] | null): void {
  if (origins === null) return;
  if (origin && origins.includes(origin)) {
    headers.set('access-control-allow-origin', origin);
    headers.append('vary', 'Origin');
    return;
  }
  for (const name of [...headers.keys()]) if (name.startsWith('access-control-')) headers.delete(name);
}

/** For websocket upgrades: browsers send Origin, other clients usually none. */
export function originAllowed(origin: string | undefined, origins: readonly string[] | null): boolean {
  return origins === null || origin === undefined || origins.includes(origin);
}
