import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema } from 'graphql';
import WebSocket from 'ws';
import { createYoga } from 'graphql-yoga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/tokens.js';
import { attachWebSockets } from '../../src/http/websockets.js';
import { createRateLimiter, type RateLimiter } from '../../src/limits/rateLimiter.js';
import { maskErrors } from '../../src/plugins/maskErrors.js';
import type { Deps } from '../../src/resolvers/deps.js';
import { contextFactory, type Context } from '../../src/schema/context.js';
import { collect, TEST_JWT_SECRET, wsClient } from '../helpers/app.js';

/**
 * The websocket adapter on its own, with a schema made for it: which path a
 * subscription takes (the lean one: graphql-js's subscribe with the
 * connection's principal; or yoga's full pipeline), and that both mask an
 * unexpected error the same way.
 */
const SDL = /* GraphQL */ `
  type Query { ok: Boolean }
  type Event { path: String, viewer: String, broken: String }
  type Subscription { events: Event, failsAtStart: Event }
`;

// Stands in for the domain: this schema's resolvers read only the principal, and the adapter only the logger.
const logged: string[] = [];
const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
const deps = { logger } as unknown as Deps;
const secretInError = 'postgres://admin:hunter2@db.internal/genjob';

function resolvers() {
  return {
    events: {
      subscribe: async function* (_root: unknown, _args: unknown, ctx: Record<string, unknown>) {
        // yoga's context carries the operation's params; the lean context holds only deps and the principal.
        const path = 'params' in ctx ? 'full' : 'lean';
        const viewer = (ctx.principal as { id: string } | null)?.id ?? null;
        yield { events: { path, viewer } };
        yield { events: { path, viewer, fail: true } };
      },
    },
    failsAtStart: {
      subscribe: () => {
        throw new Error(`could not reach ${secretInError}`);
      },
    },
  };
}

describe('websocket adapter', () => {
  let server: Server;
  let wsUrl: string;
  let limiter: RateLimiter;
  const auth = createAuth({ secret: TEST_JWT_SECRET });

  beforeAll(async () => {
    const schema = buildSchema(SDL);
    const subscription = schema.getSubscriptionType()!.getFields();
    for (const [name, r] of Object.entries(resolvers())) subscription[name]!.subscribe = r.subscribe as never;
    const event = (schema.getType('Event') as import('graphql').GraphQLObjectType).getFields();
    event.broken!.resolve = (source: { fail?: boolean }) => {
      if (source.fail) throw new Error(`lost ${secretInError}`);
      return 'fine';
    };
    const masking = maskErrors(logger);
    const yoga = createYoga<Record<string, unknown>, Context>({ schema, maskedErrors: masking, context: contextFactory(deps, auth), logging: false });
    limiter = await createRateLimiter({ perMinute: 1000, logger });
    server = createServer(yoga);
    attachWebSockets(yoga, server, {
      auth,
      limiter,
      corsOrigins: null,
      maxPayload: 1 << 20,
      maxCost: 5000,
      maskError: masking.maskError,
      deps,
      keepAliveMs: 150,
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    wsUrl = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await limiter.close();
  });

  const VIEWER = '00000000-0000-4000-8000-0000000000a1';
  const token = () => auth.sign({ sub: VIEWER }, '1h');

  it('a subscription on a connection authenticated by its connectionParams takes the lean path', async () => {
    const client = wsClient(wsUrl, await token());
    const sub = collect(client, 'subscription { events { path viewer } }');
    const events = await sub.completed();
    expect(sub.error).toBeUndefined();
    expect(events.map((e) => e.data?.events)).toEqual([
      { path: 'lean', viewer: VIEWER },
      { path: 'lean', viewer: VIEWER },
    ]);
    await client.dispose();
  });

  it('a subscription authenticated only by its extensions.headers takes the full path', async () => {
    const client = wsClient(wsUrl, null);
    const sub = collect(client, 'subscription { events { path viewer } }', undefined, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    const events = await sub.completed();
    expect(events.map((e) => e.data?.events)).toEqual([
      { path: 'full', viewer: VIEWER },
      { path: 'full', viewer: VIEWER },
    ]);
    await client.dispose();
  });

  for (const how of ['lean', 'full'] as const) {
    it(`${how} path: an unexpected error is masked and logged with an id, at the start and mid-stream`, async () => {
      const client = wsClient(wsUrl, how === 'lean' ? await token() : null);
      const extensions = how === 'lean' ? undefined : { headers: { authorization: `Bearer ${await token()}` } };

      const start = await collect(client, 'subscription { failsAtStart { path } }', undefined, extensions).completed();
      const mid = await collect(client, 'subscription { events { path broken } }', undefined, extensions).completed();
      const errors = [...start.flatMap((e) => e.errors ?? []), ...mid.flatMap((e) => e.errors ?? [])];
      expect(errors).toHaveLength(2);
      for (const error of errors) {
        expect(error.message).toMatch(/^Internal server error\. Try again; if it keeps happening, report error id [0-9a-f-]{36}\.$/);
        expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', errorId: expect.any(String) });
        expect(JSON.stringify(error)).not.toContain('hunter2');
        expect(logged.some((line) => line.includes(String(error.extensions?.errorId)))).toBe(true);
      }
      expect(mid[0]!.data).toEqual({ events: { path: how, broken: 'fine' } });
      await client.dispose();
    });
  }

  it('keeps a socket that answers pings, and ends one that stops answering', async () => {
    const open = (autoPong: boolean) =>
      new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(wsUrl, 'graphql-transport-ws', { autoPong });
        ws.once('open', () => resolve(ws));
        ws.once('error', reject);
      });
    const answering = await open(true);
    const silent = await open(false);
    const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve));
    // Pinged every 150 ms: the silent one is ended at the second ping after its first.
    expect(await silentClosed).toBe(1006);
    await new Promise((r) => setTimeout(r, 500));
    expect(answering.readyState).toBe(WebSocket.OPEN);
    answering.close();
  });
});
