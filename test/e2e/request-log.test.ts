import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { listen, type Listening } from '../../src/http/listen.js';
import { requestIdMixin } from '../../src/http/requestContext.js';
import { createBackends, freePort, type Backends } from '../helpers/app.js';

/**
 * One log line per request (method, route, status, duration, request id), and
 * every other line written while handling that request carries the same id.
 */
const lines: Array<Record<string, any>> = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
    done();
  },
});

let backends: Backends;
let app: App;
let http: Listening;
let url: string;
beforeAll(async () => {
  backends = await createBackends();
  const port = await freePort();
  const logger = pino({ level: 'info', mixin: requestIdMixin }, sink);
  app = await createApp(loadConfig({ ...backends.env, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'info' }), { logger });
  http = await listen(app, port, '127.0.0.1', { logger });
  url = http.url;
});
afterAll(async () => {
  await http?.close();
  await app?.close();
  await backends?.close();
});

describe('request logging', () => {
  it('logs one line per request, and the lines written while handling it carry its id', async () => {
    const token = await app.auth.sign({ sub: crypto.randomUUID() });
    // A real failure inside queueJob: the table it logs usage in is gone. The
    // masked error is logged with its error id, inside the request.
    await app.deps.db.execute(sql.raw('alter table usage_logs rename to usage_logs_hidden_by_log_test'));
    const reqId = `mutation-${Date.now()}`;
    let body: { errors?: Array<{ extensions?: { errorId?: string } }> };
    try {
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': reqId },
        body: JSON.stringify({ query: 'mutation { queueJob(input: { jobType: image_fast, prompt: "a kite" }) { job { id } } }' }),
      });
      expect(res.headers.get('x-request-id')).toBe(reqId);
      body = await res.json();
    } finally {
      await app.deps.db.execute(sql.raw('alter table usage_logs_hidden_by_log_test rename to usage_logs'));
    }
    await new Promise((r) => setTimeout(r, 50));

    const mine = lines.filter((l) => l.reqId === reqId);
    const access = mine.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ method: 'POST', route: '/graphql', status: 200, reqId });
    expect(typeof access[0].durationMs).toBe('number');
    const errorLine = lines.find((l) => l.msg === 'unexpected error');
    expect(errorLine).toMatchObject({ reqId, errorId: body.errors![0].extensions!.errorId });
  });

  it('every request gets exactly one line, with its own id', async () => {
    const before = lines.filter((l) => l.msg === 'request').length;
    await Promise.all(Array.from({ length: 5 }, (_, i) => fetch(`${url}/health`, { headers: { 'x-request-id': `h-${i}` } }).then((r) => r.text())));
    await new Promise((r) => setTimeout(r, 50));
    const access = lines.filter((l) => l.msg === 'request').slice(before);
    expect(access.map((l) => l.reqId).sort()).toEqual(['h-0', 'h-1', 'h-2', 'h-3', 'h-4']);
    for (const l of access) expect(l).toMatchObject({ method: 'GET', route: '/health', status: 200 });
  });
});
