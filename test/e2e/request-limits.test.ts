import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect, newUser, startTestServer, wsClient, type TestServer, type TestUser } from '../helpers/app.js';
import { snapshot } from '../helpers/unchanged.js';

/**
 * GraphQL request limits (http-contract.md): body 1 MiB, document 32 KiB and
 * 2,000 tokens, depth 12 (introspection excepted), 30 aliases, a cost budget
 * (5,000 by default) — each refused with BAD_USER_INPUT and HTTP 400 before
 * anything runs, the limit and the value in the message.
 */

let server: TestServer;
let user: TestUser;

beforeAll(async () => {
  server = await startTestServer();
  user = await newUser(server);
});
afterAll(async () => {
  await server?.close();
});

async function post(body: string | Uint8Array, token: string | null = user.token) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : Buffer.from(body),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } };
}
const query = (q: string, variables?: Record<string, unknown>, token?: string | null) => post(JSON.stringify({ query: q, variables }), token);

function expectLimit(res: Awaited<ReturnType<typeof post>>, limit: string, message: RegExp) {
  expect(res.status, JSON.stringify(res.body)).toBe(400);
  const error = res.body.errors?.find((e) => e.extensions?.limit === limit);
  expect(error, JSON.stringify(res.body.errors)).toBeDefined();
  expect(error!.extensions!.code).toBe('BAD_USER_INPUT');
  expect(error!.message).toMatch(message);
  expect(error!.extensions!.http).toBeUndefined();
  expect(res.body.data ?? null).toBeNull();
}

const QUEUE = (alias: string) => `${alias}: queueJob(input: { jobType: sdxl_image_fast, prompt: "a cat" }) { job { id } }`;

describe('body and document size', () => {
  it('refuses a body over 1 MiB before parsing it or checking the token; nothing is queued', async () => {
    const before = await snapshot(server, user);
    const padding = 'x'.repeat(20 * 1024 * 1024);
    const body = JSON.stringify({ query: `mutation($p: String) { ${QUEUE('q')} }`, variables: { p: padding } });
    expectLimit(await post(body), 'maxBodyBytes', /over the limit of 1048576 bytes/);
    expectLimit(await post(body, 'not-a-token'), 'maxBodyBytes', /1048576/);
    // Streamed without a length: cut off at the limit.
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(body.slice(0, 2 * 1024 * 1024)));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(400);
    expect((await res.json()).errors[0].extensions.limit).toBe('maxBodyBytes');
    expect(await snapshot(server, user)).toEqual(before);
  });

  it('takes a body just under 1 MiB', async () => {
    const res = await post(JSON.stringify({ query: '{ me { credits } }', extensions: { pad: 'x'.repeat(1024 * 1024 - 100) } }));
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
  });

  it('refuses a document over 32 KiB', async () => {
    const q = `{ me { credits } } # ${'x'.repeat(33 * 1024)}`;
    expectLimit(await query(q), 'maxDocumentBytes', /is 3\d{4} bytes, over the limit of 32768 bytes/);
  });

  it('refuses a document over 2,000 tokens', async () => {
    const q = `{ me { ${'credits '.repeat(2100)} } }`;
    expectLimit(await query(q), 'maxTokens', /more than 2000 tokens/);
  });

  it('refuses a 3,000-level document cleanly, over HTTP and websockets', async () => {
    const deep = `${'{ a '.repeat(3000)}${'}'.repeat(3000)}`;
    expectLimit(await query(deep), 'maxTokens', /more than 2000 tokens/);
    const client = wsClient(server.wsUrl, user.token);
    try {
      const sub = collect(client, `subscription ${deep}`);
      await sub.completed();
      const err = sub.error as Array<{ message: string; extensions?: Record<string, unknown> }>;
      expect(err[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxTokens' });
      expect(err[0]!.extensions!.http).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });
});

describe('depth, aliases and cost', () => {
  const nested = (levels: number) => `${'{ jobs { edges { node '.repeat(1)}${'{ x '.repeat(levels - 3)}${'}'.repeat(levels - 3)} } } }`;

  it('refuses depth over 12 and names the depth found', async () => {
    const res = await query(nested(13));
    expectLimit(res, 'maxDepth', /nested 13 levels deep, over the limit of 12/);
    expect((await query(nested(12))).body.errors?.some((e) => e.extensions?.limit === 'maxDepth')).toBe(false);
  });

  it('does not count introspection towards the depth', async () => {
    const res = await query(getIntrospectionQuery());
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.__schema.queryType.name).toBe('Query');
  });

  it('refuses more than 30 aliases before running any of them; nothing changes', async () => {
    const before = await snapshot(server, user);
    const many = Array.from({ length: 31 }, (_, i) => QUEUE(`q${i}`)).join(' ');
    expectLimit(await query(`mutation { ${many} }`), 'maxAliases', /has 31 aliases, over the limit of 30/);
    expect(await snapshot(server, user)).toEqual(before);
    const thirty = Array.from({ length: 30 }, (_, i) => `a${i}: me { credits }`).join(' ');
    expect((await query(`{ ${thirty} }`)).body.errors).toBeUndefined();
  });

  it('counts list fields by their first (literal, variable or default) and refuses over the budget', async () => {
    const page = (alias: string, first: string) => `${alias}: jobs(${first}) { edges { node { id assets { url } references { url } } } }`;
    // 100 × (jobs 1 + edges 1 + node 1 + assets 6 + references 5) = 1400 each.
    const four = ['a', 'b', 'c', 'd'].map((a) => page(a, 'first: 100')).join(' ');
    expectLimit(await query(`{ ${four} }`), 'maxCost', /costs 5600, over the budget of 5000/);
    const vars = `query($n: Int) { ${['a', 'b', 'c', 'd'].map((a) => page(a, 'first: $n')).join(' ')} }`;
    expectLimit(await query(vars, { n: 100 }), 'maxCost', /costs 5600/);
    expect((await query(vars, { n: 10 })).body.errors).toBeUndefined();
    // Default first is 20: 4 × 20 × 14 = 1120.
    expect((await query(`{ ${['a', 'b', 'c', 'd'].map((a) => page(a, '')).join(' ').replaceAll('()', '')} }`)).body.errors).toBeUndefined();
  });

  it('applies the cost budget to websocket subscriptions too', async () => {
    const client = wsClient(server.wsUrl, user.token);
    try {
      // Each spread of G costs 11 (references 5 + assets 6): 500 spreads + the subscription field = 5,501.
      const sub = collect(client, `subscription { myJobUpdates { ${'...G '.repeat(500)} } } fragment G on Job { references { url } assets { url } }`);
      // Refused before the subscription starts: one result with the error, then complete.
      const events = await sub.completed();
      expect(sub.error).toBeUndefined();
      expect(events).toHaveLength(1);
      const err = events[0]!.errors as Array<{ message: string; extensions?: Record<string, unknown> }>;
      expect(err[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', limit: 'maxCost', found: 5501 });
      expect(events[0]!.data ?? null).toBeNull();
      expect(err.every((e) => e.extensions?.http === undefined)).toBe(true);
    } finally {
      await client.dispose();
    }
  });
});

describe('NODE_ENV=production', () => {
  let prod: TestServer;
  let open: TestServer;
  beforeAll(async () => {
    prod = await startTestServer({ NODE_ENV: 'production' });
    open = await startTestServer({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' });
  });
  afterAll(async () => {
    await prod?.close();
    await open?.close();
  });

  async function ask(s: TestServer, q: string) {
    const res = await fetch(`${s.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await s.userToken()}` },
      body: JSON.stringify({ query: q }),
    });
    return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  }

  it('turns off introspection and field suggestions unless GRAPHQL_INTROSPECTION=true', async () => {
    const closed = await ask(prod, `{ __schema { queryType { name } } }`);
    expect(closed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(closed.errors?.[0]?.message).toMatch(/introspection/i);
    const typo = await ask(prod, `{ me { credit } }`);
    expect(typo.errors?.[0]?.message).toBe('Cannot query field "credit" on type "Viewer".');
    const badEnum = await ask(prod, `{ jobs(status: queu) { edges { node { id } } } }`);
    expect(badEnum.errors?.[0]?.message).not.toMatch(/Did you mean/);
    expect((await ask(prod, `{ __typename me { credits } }`)).errors).toBeUndefined();

    expect((await ask(open, `{ __schema { queryType { name } } }`)).data.__schema.queryType.name).toBe('Query');
    expect((await ask(open, `{ me { credit } }`)).errors?.[0]?.message).toMatch(/Did you mean "credits"\?/);
  });
});
