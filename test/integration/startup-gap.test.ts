import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { listen } from '../../src/http/listen.js';
import { type Backends, collect, createBackends, freePort, gql, untilSubscribed, wsClient } from '../helpers/app.js';
import { spawnServer, waitReady } from '../helpers/server-process.js';

/**
 * The moments before the app is up: websocket upgrades and SSE requests wait
 * for it like plain requests do (bounded, then 503), and nothing is answered
 * by the wrong handler meanwhile ("Unexpected server response: 200").
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** The status of a websocket handshake: 101 when it opened, else the HTTP status of the refusal. */
function handshake(url: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const timer = setTimeout(() => reject(new Error('no handshake answer')), timeoutMs);
    ws.on('open', () => {
      clearTimeout(timer);
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => {});
  });
}

describe('while the app starts', () => {
  it('a websocket opened before the app is up waits for it, then subscribes and receives its events', async () => {
    const backends: Backends = await createBackends();
    cleanups.push(() => backends.close());
    const port = await freePort();
    const env = { ...backends.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` };
    let release!: (app: App) => void;
    const starting = new Promise<App>((r) => (release = r));
    const http = await listen(starting, port, '127.0.0.1');
    cleanups.push(() => http.close());

    const app = await createApp(loadConfig(env), { logger: pino({ level: 'silent' }) });
    cleanups.push(() => app.close());
    const userId = crypto.randomUUID();
    const token = await app.auth.sign({ sub: userId });

    // Upgrade and SSE sent while the app is still "starting".
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`, token);
    cleanups.push(() => client.dispose());
    const updates = collect(client, 'subscription { myJobUpdates { id status } }');
    const sse = fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription { myJobUpdates { id status } }' }),
    });
    expect((await fetch(`http://127.0.0.1:${port}/ready`)).status).toBe(503);
    await new Promise((r) => setTimeout(r, 300));
    release(app);

    const sseRes = await sse;
    expect(sseRes.status).toBe(200);
    expect(sseRes.headers.get('content-type')).toMatch(/text\/event-stream/);
    // Both subscriptions are live once the app is: a job queued now reaches both.
    await untilSubscribed(`http://127.0.0.1:${port}`, 2);
    const queued = await gql(`http://127.0.0.1:${port}`, token, 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a kite" }) { job { id } } }');
    const id = queued.data!.queueJob.job.id;
    await updates.next(1);
    expect(updates.events[0].data).toEqual({ myJobUpdates: { id, status: 'queued' } });
    const reader = sseRes.body!.getReader();
    let text = '';
    while (!text.includes(id)) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
  });

  it('gives up after the bound: 503 for the upgrade, SSE and plain requests; /health 200, /ready 503', async () => {
    const port = await freePort();
    const http = await listen(new Promise<App>(() => {}), port, '127.0.0.1', { startupWaitMs: 400 });
    cleanups.push(() => http.close());
    const base = `http://127.0.0.1:${port}`;
    const [upgrade, sse, plain] = await Promise.all([
      handshake(`ws://127.0.0.1:${port}/graphql`),
      fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: '{"query":"subscription { myJobUpdates { id } }"}' }),
      fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }),
    ]);
    expect(upgrade).toBe(503);
    for (const res of [sse, plain]) {
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(503);
  });

  it('a spawned server: a websocket connected the moment /health first answers still receives its events', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'genjob-gap-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const secret = 'startup-gap-secret-0123456789abcdef';
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const userId = crypto.randomUUID();
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const proc = spawnServer({ DATA_DIR: dataDir, JWT_SECRET: secret, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
    cleanups.push(() => proc.stop());
    for (;;) {
      const up = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
      if (up) break;
      if (proc.child.exitCode !== null) throw new Error(proc.stderr());
      await new Promise((r) => setTimeout(r, 5));
    }
    const client = wsClient(`ws://127.0.0.1:${port}/graphql`, token);
    cleanups.push(() => client.dispose());
    const updates = collect(client, 'subscription { myJobUpdates { id status } }');
    await waitReady(url, proc, 60_000);
    await untilSubscribed(url, 1);
    const queued = await gql(url, token, 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a kite" }) { job { id } } }');
    await updates.next(1, 15_000);
    expect(updates.error).toBeUndefined();
    expect(updates.events[0].data).toEqual({ myJobUpdates: { id: queued.data!.queueJob.job.id, status: 'queued' } });
  }, 90_000);
});
