import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { collect, gql, startTestServer, type TestServer, untilSubscribed, wsClient } from '../helpers/app.js';

/** A subscription ends with UNAUTHENTICATED (and its websocket closes) when its token expires. */

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('subscriptions outliving their token', () => {
  it('websocket: every subscription gets UNAUTHENTICATED and the socket closes with 4401; other connections go on', async () => {
    const userId = randomUUID();
    const short = await server.app.auth.sign({ sub: userId }, '3s');
    const long = await server.app.auth.sign({ sub: userId }, '1h');
    let closeCode: number | undefined;
    const client = createClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${short}` },
      retryAttempts: 0,
      lazy: true,
      on: { closed: (e) => void (closeCode = (e as { code: number }).code) },
    });
    const other = wsClient(server.wsUrl, long);
    try {
      const opened = Date.now();
      const a = collect(client, `subscription { myJobUpdates { id status } }`);
      const b = collect(client, `subscription { myJobUpdates { id } }`);
      const c = collect(other, `subscription { myJobUpdates { id status } }`);
      // Both see a change while the token is valid.
      await untilSubscribed(server.url, 3);
      const queued = await gql(server.url, long, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat" }) { job { id } } }`);
      expect(queued.errors).toBeUndefined();
      await a.next(1);
      await c.next(1);

      await a.completed(8000);
      await b.completed(8000);
      const elapsed = Date.now() - opened;
      expect(elapsed).toBeGreaterThan(1000);
      expect(elapsed).toBeLessThan(6000);
      for (const sub of [a, b]) {
        const errors = sub.error as Array<{ message: string; extensions?: Record<string, unknown> }>;
        expect(Array.isArray(errors), String(sub.error)).toBe(true);
        expect(errors[0]!.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
        expect(errors[0]!.message).toMatch(/The token expired at .*get a new token/);
      }
      for (let i = 0; i < 50 && closeCode === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      expect(closeCode).toBe(4401);

      // The connection with a valid token still receives changes.
      expect(c.done).toBe(false);
      await gql(server.url, long, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a dog" }) { job { id } } }`);
      await c.next(2);
    } finally {
      await client.dispose();
      await other.dispose();
    }
  });

  it('websocket, token in extensions.headers (as GraphiQL sends it): that subscription ends with UNAUTHENTICATED', async () => {
    const userId = randomUUID();
    const short = await server.app.auth.sign({ sub: userId }, '2s');
    const long = await server.app.auth.sign({ sub: userId }, '1h');
    const client = wsClient(server.wsUrl, null); // no connectionParams: each operation carries its own token
    try {
      const opened = Date.now();
      const events: Array<{ errors?: Array<{ message: string; extensions?: Record<string, unknown> }> }> = [];
      const ended = new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription { myJobUpdates { id } }', extensions: { headers: { Authorization: `Bearer ${short}` } } },
          { next: (v) => void events.push(v as never), error: reject, complete: resolve },
        );
      });
      const alive = new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: 'subscription { myJobUpdates { id } }', extensions: { headers: { Authorization: `Bearer ${long}` } } },
          { next: () => resolve(), error: reject, complete: () => reject(new Error('the subscription with a valid token ended')) },
        );
      });
      await ended;
      expect(Date.now() - opened).toBeLessThan(6000);
      expect(events.at(-1)?.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(events.at(-1)?.errors?.[0]?.message).toMatch(/The token expired at .*get a new token/);
      // The same connection's subscription with a valid token goes on.
      await gql(server.url, long, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a fox" }) { job { id } } }`);
      await alive;
    } finally {
      await client.dispose();
    }
  });

  it('SSE: the stream sends UNAUTHENTICATED and ends', async () => {
    const token = await server.app.auth.sign({ sub: randomUUID() }, '2s');
    const opened = Date.now();
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription { myJobUpdates { id } }' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    const text = await res.text(); // resolves only when the server ends the stream
    expect(Date.now() - opened).toBeLessThan(6000);
    const events = text.split('\n').filter((l) => l.startsWith('data:') && l.slice(5).trim()).map((l) => JSON.parse(l.slice(5)));
    expect(events.some((e) => e?.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED')).toBe(true);
    expect(text).toMatch(/event: complete/);
  });
});
