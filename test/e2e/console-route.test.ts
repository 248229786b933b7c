import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.mjs';
import { DEV_USER_ID } from '../../src/auth/devUser.js';
import { gql, production, startTestServer, type TestServer } from '../helpers/app.js';

/**
 * GET /console: the built page and its hashed assets, the caching each gets,
 * nothing from another origin, and the dev token only on the embedded defaults.
 */

let server: TestServer;
let dist: string;
let built: { js: string; css: string };

beforeAll(async () => {
  dist = mkdtempSync(join(tmpdir(), 'console-dist-'));
  built = await buildConsole(dist);
  server = await startTestServer({}, { consoleDir: dist });
});

afterAll(async () => {
  await server?.close();
  rmSync(dist, { recursive: true, force: true });
});

describe('the console route', () => {
  it('serves the page uncached, naming hashed assets on this origin only', async () => {
    for (const path of ['/console', '/console/']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
      const html = await res.text();
      expect(html).toContain(`<script type="module" src="/console/${built.js}"></script>`);
      expect(html).toContain(`href="/console/${built.css}"`);
      // Offline: every reference is this origin's /console/ or an inline data: URL.
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
      expect(refs.length).toBeGreaterThanOrEqual(3);
      for (const ref of refs) expect(ref).toMatch(/^(\/console\/|data:)/);
    }
  });

  it('serves the hashed assets byte for byte with a year-long immutable cache', async () => {
    expect(built.js).toMatch(/^assets\/console-[A-Z0-9]{8}\.js$/);
    for (const [file, type] of [
      [built.js, /^text\/javascript/],
      [built.css, /^text\/css/],
    ] as const) {
      const res = await fetch(`${server.url}/console/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(type);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(dist, file)))).toBe(true);
    }
    // The bundle fetches nothing from elsewhere: no absolute http(s) URL to load code, styles or fonts from.
    const js = readFileSync(join(dist, built.js), 'utf8');
    expect(js).not.toMatch(/import\s*\(\s*["']https?:/);
    expect(readFileSync(join(dist, built.css), 'utf8')).not.toMatch(/url\(\s*["']?https?:/);
  });

  it('answers 404 for anything else under /console and 405 for writes', async () => {
    for (const path of ['/console/assets/nope-ABCDEFGH.js', '/console/assets/', '/console/other', '/console/assets/%2e%2e%2fpackage.json', '/console/assets/.hidden.js']) {
      const res = await fetch(`${server.url}${path}`);
      expect([400, 404], path).toContain(res.status);
      expect(await res.text(), path).not.toContain('"name"');
    }
    const post = await fetch(`${server.url}/console`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it(
    production
      ? 'puts no token in the page on a configured deployment'
      : 'puts a working dev user token in the page on the embedded defaults',
    async () => {
      const html = await (await fetch(`${server.url}/console`)).text();
      const token = /<meta name="genjob-dev-token" content="([^"]+)"/.exec(html)?.[1];
      if (production) {
        expect(token).toBeUndefined();
        expect(html).not.toContain('genjob-dev-token');
        return;
      }
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const me = await gql(server.url, token!, '{ me { id credits } }');
      expect(me.errors).toBeUndefined();
      expect(me.data!.me.id).toBe(DEV_USER_ID);
    },
  );
});

describe('a console that was never built', () => {
  it('says how to build it instead of failing obscurely', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'console-missing-'));
    const other = await startTestServer({}, { consoleDir: empty });
    try {
      const res = await fetch(`${other.url}/console`);
      expect(res.status).toBe(503);
      expect(await res.text()).toMatch(/npm run build/);
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
