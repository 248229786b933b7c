import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { production, startTestServer, type TestServer } from '../helpers/app.js';

/**
 * GraphiQL is served by the product itself: its page and every asset the page
 * references come from this server (or are inlined), never from another
 * origin, so it works with no internet access.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/**
 * Every URL the page loads as a resource: src/href of its tags, and url(…) /
 * @import in its inline styles. Inline scripts are skipped (their text is
 * code, not markup: the GraphiQL bundle holds markup templates as strings).
 */
function referencedUrls(html: string): string[] {
  const urls: string[] = [];
  const markup = html.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/gi, '$1').replace(/(<style\b[^>]*>)[\s\S]*?<\/style>/gi, '$1');
  for (const m of markup.matchAll(/<(?:script|img|iframe|source|video|audio)\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)/gi)) urls.push(m[1]);
  for (const m of markup.matchAll(/<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)/gi)) urls.push(m[1]);
  for (const style of html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)) {
    for (const m of style[1].matchAll(/@import\s+(?:url\()?["']?([^"')\s;]+)/gi)) urls.push(m[1]);
    for (const m of style[1].matchAll(/url\(\s*["']?([^"')]+)/gi)) if (!m[1].startsWith('#')) urls.push(m[1]);
  }
  return urls;
}

describe('GraphiQL', () => {
  it('a browser GET /graphql gets GraphiQL, and every asset it references is served by this server', async () => {
    const res = await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('YogaGraphiQL.renderYogaGraphiQL');
    // Nothing on a CDN (yoga's default page loads everything from unpkg).
    expect(html).not.toMatch(/unpkg\.com|jsdelivr\.net|cdnjs|googleapis\.com|esm\.sh/);
    const urls = referencedUrls(html);
    expect(urls.length).toBeGreaterThan(0); // at least the icon
    for (const url of urls) {
      if (url.startsWith('data:') || url.startsWith('blob:')) continue;
      const absolute = new URL(url, `${server.url}/graphql`);
      expect(absolute.origin, url).toBe(new URL(server.url).origin);
      expect((await fetch(absolute)).status, url).toBe(200);
    }
  });

  it('opens with the example operations, and on the embedded defaults with the dev user token in Headers', async () => {
    const html = await (await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } })).text();
    for (const op of ['mutation QueueJob', 'subscription WatchJob', 'query MyJobs']) expect(html).toContain(op);
    const token = /Bearer ([\w-]+\.[\w-]+\.[\w-]+)/.exec(html.replaceAll('\\"', '"'));
    if (production) {
      expect(token).toBeNull(); // a configured deployment never mints tokens
      return;
    }
    expect(token).not.toBeNull();
    const me = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token![1]}` },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect((await me.json()).data.me.id).toBe('00000000-0000-4000-8000-00000000d3f0');
  });

  it('API clients still get GraphQL, not the page', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
