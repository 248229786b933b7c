import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, usageLogs, webhookDeliveries } from '../../src/db/schema.js';
import type { Lookup } from '../../src/webhooks/addresses.js';
import { fleet, gql, newUser, startTestServer, type TestServer, type TestUser } from '../helpers/app.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

/**
 * SSRF: with WEBHOOK_ALLOW_PRIVATE off (the default), webhook URLs that are
 * not https, or whose host is or resolves to a loopback, private, link-local
 * or metadata address, are refused at queueJob with BAD_USER_INPUT and
 * nothing written; and a host that passes at queue time but resolves to a
 * private address at delivery time (DNS rebinding) is never connected to.
 *
 * Host names resolve through an injected resolver (the real DNS is not ours
 * to set up); literal addresses need none.
 */

const PUBLIC = '93.184.215.14';
let rebindCalls = 0;
const lookup: Lookup = async (host) => {
  switch (host) {
    case 'public.test':
      return [{ address: PUBLIC, family: 4 }];
    case 'private.test':
      return [{ address: '10.0.0.5', family: 4 }];
    case 'mixed.test':
      return [
        { address: PUBLIC, family: 4 },
        { address: '127.0.0.1', family: 4 },
      ];
    case 'metadata.test':
      return [{ address: '169.254.169.254', family: 4 }];
    case 'v6loop.test':
      return [{ address: '::1', family: 6 }];
    case 'ula.test':
      return [{ address: 'fd00:ec2::254', family: 6 }];
    case 'rebind.test':
      // Public when queueJob checks, loopback ever after: the rebinding attack.
      return ++rebindCalls === 1 ? [{ address: PUBLIC, family: 4 }] : [{ address: '127.0.0.1', family: 4 }];
    default:
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  }
};

let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startTestServer({ WEBHOOK_RETRY_BASE_SECONDS: '0.01', SWEEP_INTERVAL_MS: '200' }, { webhookLookup: lookup });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

async function state(user: TestUser) {
  const db = server.app.deps.db;
  const [j] = await db.select({ n: count() }).from(jobs).where(eq(jobs.userId, user.id));
  const [u] = await db.select({ n: count() }).from(usageLogs).where(eq(usageLogs.userId, user.id));
  const [d] = await db.select({ n: count() }).from(webhookDeliveries).where(eq(webhookDeliveries.userId, user.id));
  const credits = (await gql(server.url, user.token, '{ me { credits } }')).data!.me.credits;
  const worker = fleet(server.url, await server.workerToken());
  return { jobs: j.n, usage: u.n, deliveries: d.n, credits, wan: await worker.llen('wan_queue') };
}

const REFUSED: Array<[string, string | undefined, string[] | undefined]> = [
  ['plain http', 'http://public.test/hook', undefined],
  ['loopback', 'https://127.0.0.1/hook', undefined],
  ['loopback, decimal form', 'https://2130706433/hook', undefined],
  ['loopback, hex form', 'https://0x7f.1/hook', undefined],
  ['localhost', 'https://localhost/hook', undefined],
  ['a .localhost name', 'https://api.localhost/hook', undefined],
  ['an intranet name', 'https://intranet/hook', undefined],
  ['10/8', 'https://10.1.2.3/hook', undefined],
  ['172.16/12', 'https://172.16.0.1/hook', undefined],
  ['192.168/16', 'https://192.168.0.10/hook', undefined],
  ['carrier-grade NAT', 'https://100.64.0.1/hook', undefined],
  ['unspecified', 'https://0.0.0.0/hook', undefined],
  ['cloud metadata', 'https://169.254.169.254/latest/meta-data/', undefined],
  ['IPv6 loopback', 'https://[::1]/hook', undefined],
  ['IPv6 link-local', 'https://[fe80::1]/hook', undefined],
  ['IPv6 unique-local (AWS metadata)', 'https://[fd00:ec2::254]/hook', undefined],
  ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hook', undefined],
  ['IPv4-mapped metadata', 'https://[::ffff:a9fe:a9fe]/hook', undefined],
  ['NAT64 loopback', 'https://[64:ff9b::7f00:1]/hook', undefined],
  ['a name resolving to 10/8', 'https://private.test/hook', undefined],
  ['a name resolving to public and loopback', 'https://mixed.test/hook', undefined],
  ['a name resolving to the metadata address', 'https://metadata.test/hook', undefined],
  ['a name resolving to ::1', 'https://v6loop.test/hook', undefined],
  ['a name resolving to a unique-local address', 'https://ula.test/hook', undefined],
  ['a name that does not resolve', 'https://nowhere.test/hook', undefined],
  ['credentials in the URL', 'https://user:hunter2@public.test/hook', undefined],
  ['another scheme', 'ftp://public.test/hook', undefined],
  ['not a URL', 'not a url', undefined],
  ['over 2,048 characters', `https://public.test/${'a'.repeat(2048)}`, undefined],
  ['events without a webhook', undefined, ['completed']],
  ['an empty event list', 'https://public.test/hook', []],
];

describe('refused at queueJob, with nothing written', () => {
  it.each(REFUSED)('%s', async (_name, webhook, webhookEvents) => {
    const user = await newUser(server);
    const before = await state(user);
    const res = await gql(server.url, user.token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }', {
      i: { jobType: 'image_fast', prompt: 'p', webhook: webhook && `${webhook}?token=s3cret-in-query`, webhookEvents },
    });
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).not.toContain('s3cret');
    expect(res.errors![0].message).not.toContain('hunter2');
    expect(res.errors![0].message).toMatch(/webhook/);
    expect(await state(user)).toEqual(before);
  });

  it('on the REST door too (400, nothing written)', async () => {
    const user = await newUser(server);
    const before = await state(user);
    for (const webhook of ['https://127.0.0.1/hook', 'https://metadata.test/x', 'http://public.test/x']) {
      const res = await fetch(`${server.url}/functions/v1/queue-job`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jobType: 'image_fast', metadata: { prompt: 'p' }, webhook }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { debug: { field: string } }).debug.field).toBe('webhook');
    }
    expect(await state(user)).toEqual(before);
  });

  it('accepts a public https URL', async () => {
    const user = await newUser(server);
    const res = await gql(server.url, user.token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id webhook } } }', {
      i: { jobType: 'image_fast', prompt: 'p', webhook: 'https://public.test/hook?token=t' },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.queueJob.job.webhook).toBe('https://public.test/hook?token=t');
  });
});

describe('checked again at delivery time', () => {
  it('never connects to a host that rebinds to a private address after queueJob checked it', async () => {
    const user = await newUser(server);
    const webhook = `https://rebind.test:${receiver.port}/hook`;
    const q = await gql(server.url, user.token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }', {
      i: { jobType: 'image_fast', prompt: 'p', webhook },
    });
    expect(q.errors).toBeUndefined();
    const id = q.data!.queueJob.job.id as string;
    const worker = fleet(server.url, await server.workerToken());
    expect((await worker.callback({ job_id: id, status: 'failed', error_message: 'x' })).status).toBe(200);
    let d: Record<string, any> | undefined;
    for (let i = 0; i < 200; i++) {
      const res = await gql(server.url, user.token, 'query($id: ID!) { job(id: $id) { webhookDeliveries { attempts responseStatus lastError status } } }', {
        id,
      });
      d = res.data!.job.webhookDeliveries[0];
      if (d && d.attempts >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(d).toMatchObject({ responseStatus: null, status: 'pending' });
    expect(d!.attempts).toBeGreaterThanOrEqual(3);
    expect(d!.lastError).toMatch(/127\.0\.0\.1, which is not a public address/);
    expect(receiver.connections).toBe(0);
  });
});
