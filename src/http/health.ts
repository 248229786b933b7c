import { json } from './respond.js';

const TIMEOUT_MS = 3000;

function withTimeout(p: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => undefined),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `/ready`: 200 when every part answers; 503 naming the failing parts. */
export async function readiness(parts: Record<string, () => Promise<void>>): Promise<Response> {
  const checks: Record<string, string> = {};
  await Promise.all(
    Object.entries(parts).map(async ([name, ping]) => {
      try {
        await withTimeout(ping(), name);
        checks[name] = 'ok';
      } catch (err) {
        // Our backends' messages name the part, never the credentials.
        checks[name] = `failing: ${(err as Error).message.split('\n')[0]}`;
      }
    }),
  );
  const failing = Object.keys(checks).filter((k) => checks[k] !== 'ok');
  return json(
    failing.length ? { status: 'unavailable', failing, checks } : { status: 'ready', checks },
    failing.length ? 503 : 200,
  );
}

/** `/ready` while the app is still starting: nothing can be served yet. */
export const stillStarting = async (): Promise<Response> => json({ status: 'starting', failing: ['starting'] }, 503);

/** `/ready` once a shutdown has begun: route no new work here. */
export const stillStopping = async (): Promise<Response> => json({ status: 'stopping', failing: ['stopping'] }, 503);

/**
 * The one place `/health` and `/ready` are answered, exactly those paths:
 * `/health` is 200 whenever the process answers at all (liveness), `/ready`
 * is what `ready` says (load balancers route on it). The listener serves it
 * before the app has started (with {@link stillStarting}), the app afterwards.
 */
export function healthRoutes(ready: () => Promise<Response>): (request: Request, url: URL) => Promise<Response> | null {
  return (_request, url) => {
    if (url.pathname === '/health') return Promise.resolve(json({ status: 'ok' }));
    if (url.pathname === '/ready') return ready();
    return null;
  };
}
