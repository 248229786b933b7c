import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newUser, startTestServer, type TestServer } from '../helpers/app.js';

/** CORS_ORIGINS (http-contract.md): unset → any origin without credentials; set → only those origins. */

const EVIL = 'https://evil.example';
const APP = 'https://app.example.com';

function graphql(server: TestServer, origin: string, token?: string) {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: '{ jobTypes { jobType } }' }),
  });
}

function preflight(server: TestServer, path: string, origin: string) {
  return fetch(`${server.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
  });
}

function wsOpens(server: TestServer, origin: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', { origin });
    ws.once('open', () => {
      ws.close();
      resolve(true);
    });
    ws.once('error', () => resolve(false));
    ws.once('unexpected-response', () => resolve(false));
  });
}

describe('CORS_ORIGINS unset', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('lets any origin call, never with credentials', async () => {
    for (const res of [await graphql(server, EVIL), await preflight(server, '/graphql', EVIL)]) {
      expect(res.headers.get('access-control-allow-origin')).toMatch(new RegExp(`^(\\*|${EVIL.replaceAll('.', '\\.')})$`));
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
    const rest = await preflight(server, '/functions/v1/queue-job', EVIL);
    expect(rest.headers.get('access-control-allow-origin')).toBe('*');
    expect(rest.headers.get('access-control-allow-credentials')).toBeNull();
    expect(await wsOpens(server, EVIL)).toBe(true);
  });
});

describe('CORS_ORIGINS set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ CORS_ORIGINS: `${APP}, https://admin.example.com` });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers listed origins (with credentials) and gives any other origin no CORS headers', async () => {
    const ok = await graphql(server, APP);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const okPre = await preflight(server, '/graphql', APP);
    expect(okPre.headers.get('access-control-allow-origin')).toBe(APP);

    for (const res of [await graphql(server, EVIL), await preflight(server, '/graphql', EVIL)]) {
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('applies to the REST door too', async () => {
    const user = await newUser(server);
    const post = (origin: string) =>
      fetch(`${server.url}/functions/v1/queue-job`, {
        method: 'POST',
        headers: { origin, authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jobType: 'nope', metadata: { prompt: 'x' } }),
      });
    expect((await post(APP)).headers.get('access-control-allow-origin')).toBe(APP);
    expect((await preflight(server, '/functions/v1/queue-job', APP)).headers.get('access-control-allow-origin')).toBe(APP);
    expect((await post(EVIL)).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight(server, '/functions/v1/queue-job', EVIL)).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('refuses websocket upgrades from other origins', async () => {
    expect(await wsOpens(server, APP)).toBe(true);
    expect(await wsOpens(server, EVIL)).toBe(false);
  });
});
