import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  headers: Record<string, string>;
  /** The raw body, exactly as sent (what the signature covers). */
  raw: string;
  body: { type: string; timestamp: string; data: Record<string, any> };
  path: string;
  /** performance.now() when the request's first byte arrived. */
  firstByteAt: number;
}

/** What the receiver answers: a status, optionally after a delay (ms). */
export type Answer = number | { status: number; delayMs?: number; headers?: Record<string, string> };

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** TCP connections accepted so far (a refused delivery must not even connect). */
  connections: number;
  /** Decides each answer (default 200). Called once per request, in arrival order. */
  answer: (r: Received, index: number) => Answer | Promise<Answer>;
  /** Waits until `pred` holds over the received requests. */
  until(pred: (received: Received[]) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** True when the delivery's signature verifies with `secret` (standardwebhooks, the spec's reference library). */
export function verifies(r: Received, secret: string): boolean {
  try {
    new Webhook(secret).verify(r.raw, { 'webhook-id': r.id, 'webhook-timestamp': r.timestamp, 'webhook-signature': r.signature });
    return true;
  } catch {
    return false;
  }
}

/** A real HTTP server on loopback that records every webhook POST. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    connections: 0,
    answer: () => 200,
    async until(pred, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pred(received)) {
        if (Date.now() > deadline) {
          throw new Error(`receiver: condition not met within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => [r.id, r.body.type]))}`);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      return received;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const firstByteAt = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let body: Received['body'];
      try {
        body = JSON.parse(raw);
      } catch {
        body = { type: 'unparseable', timestamp: '', data: {} };
      }
      const r: Received = {
        id: headers['webhook-id'],
        timestamp: headers['webhook-timestamp'],
        signature: headers['webhook-signature'],
        headers,
        raw,
        body,
        path: req.url ?? '/',
        firstByteAt,
      };
      const index = received.push(r) - 1;
      const a = await receiver.answer(r, index);
      const { status, delayMs, headers: extra } = typeof a === 'number' ? { status: a, delayMs: 0, headers: {} } : a;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'text/plain', ...extra });
      res.end('ok');
    });
  });
  server.on('connection', (s) => {
    receiver.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
