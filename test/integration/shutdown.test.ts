import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, gql } from '../helpers/app.js';
import { spawnServer, waitReady } from '../helpers/server-process.js';

/**
 * SIGTERM drains the server instead of cutting it off: readiness turns 503 at
 * once and new work is refused, while everything already accepted gets its
 * answer (mutations, an upload still arriving); websockets close with 1001
 * and SSE streams end; then the backends close and the process exits 0. After
 * a restart, every job a client was told about exists, and no other.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'genjob-shutdown-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const SECRET = 'shutdown-test-secret-0123456789abcdef';

const sign = (claims: Record<string, unknown>, sub: string) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string | Buffer, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('graceful shutdown on SIGTERM', () => {
  it('answers what it accepted, refuses what comes after, closes subscriptions politely, loses no job', async () => {
    const port = await freePort();
    const env = { DATA_DIR: dataDir, JWT_SECRET: SECRET, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT: '15' };
    const url = `http://127.0.0.1:${port}`;
    const userId = randomUUID();
    const user = await sign({ role: 'authenticated' }, userId);
    const workerToken = await sign({ role: 'service_role' }, 'w');
    const proc = spawnServer(env);
    try {
      await waitReady(url, proc, 60_000);

      // A websocket subscription and an SSE subscription, open across the shutdown.
      const ws = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
      const wsClosed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${user}` } })));
        ws.on('message', (m) => {
          const msg = JSON.parse(String(m));
          if (msg.type === 'connection_ack') {
            ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { myJobUpdates { id status } }' } }));
            resolve();
          }
        });
        ws.on('error', reject);
      });
      const sse = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${user}` },
        body: JSON.stringify({ query: 'subscription { myJobUpdates { id } }' }),
      });
      expect(sse.status).toBe(200);
      const sseEnded = (async () => {
        const reader = sse.body!.getReader();
        for (;;) if ((await reader.read()).done) return 'ended';
      })().catch(() => 'ended with an error');

      // A kept-alive connection, used once before the signal and once after.
      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      expect((await send(port, 'GET', '/ready', {}, undefined, keepAlive)).status).toBe(200);

      // An upload still arriving when the signal comes.
      const bytes = Buffer.alloc(64 * 1024, 7);
      const uploadPath = `/storage/v1/object/sdxl_image_fast/${userId}/slow.png`;
      const upload = new Promise<Answer>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port, method: 'POST', path: uploadPath, headers: { authorization: `Bearer ${workerToken}`, 'content-type': 'image/png', 'content-length': String(bytes.length) } },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
          },
        );
        req.on('error', reject);
        req.write(bytes.subarray(0, 1024));
        req.on('error', () => {}); // reported through the promise
        setTimeout(() => req.end(bytes.subarray(1024)), 1500);
      });
      upload.catch(() => {}); // awaited below; no unhandled rejection if the test fails first
      await new Promise((r) => setTimeout(r, 200));

      // Mutations in flight at the signal.
      const mutation = JSON.stringify({ query: 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "a lighthouse" }) { job { id creditCost } } }' });
      const inFlight = Array.from({ length: 12 }, () =>
        send(port, 'POST', '/graphql', { 'content-type': 'application/json', authorization: `Bearer ${user}` }, mutation).then(
          (a) => a,
          (err: NodeJS.ErrnoException) => err.code ?? String(err),
        ),
      );
      const signalledAt = Date.now();
      proc.child.kill('SIGTERM');
      // The signal is handled between two turns of the server's event loop.
      while (!proc.stdout().includes('"msg":"shutting down"')) await new Promise((r) => setTimeout(r, 5));

      // Readiness turns 503 at once on the kept-alive connection; a new connection is refused.
      const ready: Answer | string = await send(port, 'GET', '/ready', {}, undefined, keepAlive).catch((e: NodeJS.ErrnoException) => e.code ?? String(e));
      if (typeof ready === 'string') expect(['ECONNRESET', 'ECONNREFUSED']).toContain(ready);
      else {
        expect(ready.status).toBe(503);
        expect(ready.headers.connection).toBe('close');
      }
      expect(await fetch(`${url}/health`).then(() => 'answered', () => 'refused')).toBe('refused');

      // Every request the server read got an answer (200, or 503 when it came
      // after the signal). One it never read may fail at the socket (refused,
      // or reset when it sat in the listen backlog or raced a kept-alive
      // socket's close): the job check below proves none of those ran.
      const answers = await Promise.all(inFlight);
      const told: string[] = [];
      let charged = 0;
      for (const a of answers) {
        if (typeof a === 'string') {
          expect(['ECONNREFUSED', 'ECONNRESET']).toContain(a);
          continue;
        }
        expect([200, 503]).toContain(a.status);
        if (a.status === 200) {
          const job = JSON.parse(a.body).data.queueJob.job;
          told.push(job.id);
          charged += job.creditCost;
        }
      }
      expect((await upload).status).toBe(200);
      expect(await wsClosed).toBe(1001);
      expect(await sseEnded).toBe('ended');

      const exit = await proc.exited;
      expect(exit.code).toBe(0);
      expect(Date.now() - signalledAt).toBeLessThan(15_000);
      expect(proc.stdout()).toMatch(/"msg":"shutting down"/);
      expect(proc.stdout()).toMatch(/"msg":"stopped"/);

      // After a restart: exactly the jobs the client was told about exist, charged once each.
      const again = spawnServer(env);
      try {
        await waitReady(url, again, 60_000);
        const jobs = await gql(url, user, '{ jobs(first: 50) { edges { node { id } } } }');
        expect(jobs.data!.jobs.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual(told.sort());
        const me = await gql(url, user, '{ me { credits } }');
        expect(me.data!.me.credits).toBe(100 - charged);
      } finally {
        await again.stop();
      }
    } finally {
      await proc.stop();
      if (process.env.SHUTDOWN_TEST_LOG) (await import('node:fs')).writeFileSync(process.env.SHUTDOWN_TEST_LOG, proc.stdout() + proc.stderr());
    }
  }, 150_000);
});
