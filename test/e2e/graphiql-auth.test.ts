import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, newUser, startTestServer, wsClient, type TestServer } from '../helpers/app.js';

/**
 * GraphiQL sends its Headers tab inside each operation's
 * `extensions.headers`, not as graphql-ws connectionParams: an
 * `Authorization` header there authenticates websocket and SSE subscriptions.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

async function queuedJob(token: string): Promise<string> {
  const res = await gql(server.url, token, 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a kite" }) { job { id } } }');
  return res.data!.queueJob.job.id;
}

const WATCH = 'subscription($id: ID!) { jobUpdated(id: $id) { id status } }';

describe('credentials in extensions.headers', () => {
  it('graphql-ws: a subscription authenticated only by extensions.headers.Authorization gets its events', async () => {
    const user = await newUser(server);
    const id = await queuedJob(user.token);
    const client = wsClient(server.wsUrl, null); // no connectionParams at all
    try {
      const events: unknown[] = [];
      await new Promise<void>((resolve, reject) => {
        client.subscribe(
          { query: WATCH, variables: { id }, extensions: { headers: { Authorization: `Bearer ${user.token}` } } },
          {
            next: (v) => {
              events.push(v);
              resolve();
            },
            error: reject,
            complete: () => resolve(),
          },
        );
      });
      expect(events[0]).toEqual({ data: { jobUpdated: { id, status: 'queued' } } });
    } finally {
      await client.dispose();
    }
  });

  it('graphql-ws: a bad token in extensions.headers is UNAUTHENTICATED, and another user’s job stays hidden', async () => {
    const owner = await newUser(server);
    const other = await newUser(server);
    const id = await queuedJob(owner.token);
    const client = wsClient(server.wsUrl, null);
    try {
      const run = (headers: Record<string, string>) =>
        new Promise<Array<{ message: string; extensions?: { code?: string } }>>((resolve) => {
          client.subscribe(
            { query: WATCH, variables: { id }, extensions: { headers } },
            { next: (v) => resolve((v.errors ?? []) as never), error: (e) => resolve(e as never), complete: () => resolve([]) },
          );
        });
      const anonymous = await run({});
      expect(anonymous[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const forged = await run({ authorization: 'Bearer not-a-token' });
      expect(forged[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      const foreign = await run({ Authorization: `Bearer ${other.token}` });
      expect(foreign[0]?.extensions?.code).toBe('NOT_FOUND');
    } finally {
      await client.dispose();
    }
  });

  it('SSE: a subscription with no Authorization header but extensions.headers gets the current state', async () => {
    const user = await newUser(server);
    const id = await queuedJob(user.token);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: WATCH, variables: { id }, extensions: { headers: { Authorization: `Bearer ${user.token}` } } }),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('"status"')) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain(`{"data":{"jobUpdated":{"id":"${id}","status":"queued"}}}`);
  });

  it('the Authorization header wins over extensions.headers on HTTP', async () => {
    const a = await newUser(server);
    const b = await newUser(server);
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
      body: JSON.stringify({ query: '{ me { id } }', extensions: { headers: { Authorization: `Bearer ${b.token}` } } }),
    });
    expect((await res.json()).data.me.id).toBe(a.id);
  });
});
