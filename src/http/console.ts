import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Route } from '../plugins/useRoutes.js';

/** Options of {@link consoleRoutes}. */
export interface ConsoleOptions {
  /** The built console: `index.html` and `assets/` (`npm run build:console` writes `console/dist`). */
  dir: string;
  /**
   * The dev user token, on the embedded defaults only: put into the page so
   * the console works with no configuration. Absent on a configured deployment.
   */
  devToken?: () => Promise<string>;
}

const PREFIX = '/console';
const ASSETS = '/console/assets/';
/** Built asset names: `<name>-<hash>.<ext>` (no slashes, no leading dot), so a request cannot leave assets/. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
};

/**
 * The console talks to this origin only; media may come from the object
 * store's origin (S3 signed URLs), and reference uploads go there too.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https: http:",
  "media-src 'self' blob: https: http:",
  "connect-src 'self' ws: wss: https: http:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The package root's console/dist, found from this file whether it runs from src/ or a compiled dist/. */
export function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'console', 'dist');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'console', 'dist');
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers } });
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * Serves the web console at /console: the page itself never cached (it names
 * the current bundle and may carry the dev token), the hashed assets cached
 * for a year as immutable. Claims every path under /console; null elsewhere.
 */
export function consoleRoutes(opts: ConsoleOptions): Route {
  return async (request, url) => {
    const path = url.pathname;
    if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) return null;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return text(405, 'The console only answers GET and HEAD.', { allow: 'GET, HEAD' });
    }
    const head = request.method === 'HEAD';

    if (path === PREFIX || path === `${PREFIX}/` || path === `${PREFIX}/index.html`) {
      let html: string;
      try {
        html = await readFile(join(opts.dir, 'index.html'), 'utf8');
      } catch {
        return text(503, 'The console is not built yet: run `npm run build` (or `npm run build:console`), then reload this page.');
      }
      const token = opts.devToken ? await opts.devToken() : undefined;
      if (token) html = html.replace('<!--dev-token-->', `<meta name="genjob-dev-token" content="${attr(token)}" />`);
      return new Response(head ? null : html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy': CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
      });
    }

    if (path.startsWith(ASSETS)) {
      const name = path.slice(ASSETS.length);
      const type = TYPES[name.split('.').pop() ?? ''];
      if (ASSET_NAME.test(name) && type) {
        const bytes = await readFile(join(opts.dir, 'assets', name)).catch(() => null);
        if (bytes) {
          return new Response(head ? null : new Uint8Array(bytes), {
            headers: {
              'content-type': type,
              'content-length': String(bytes.length),
              // The name carries the content's hash: a new build is a new name.
              'cache-control': 'public, max-age=31536000, immutable',
              'x-content-type-options': 'nosniff',
            },
          });
        }
      }
    }
    return text(404, `Nothing at ${path}: the console is at ${PREFIX}.`);
  };
}

/** Signs the dev token lazily and again once a day, so a long-running dev server never hands out an expired one. */
export function cachedToken(sign: () => Promise<string>, maxAgeMs = 24 * 3600 * 1000): () => Promise<string> {
  let token: Promise<string> | undefined;
  let at = 0;
  return () => {
    if (!token || Date.now() - at > maxAgeMs) {
      at = Date.now();
      token = sign();
    }
    return token;
  };
}
