import { randomUUID } from 'node:crypto';
import { tcpRelay } from '../helpers/tcp-relay.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, gql, startOn, TEST_JWT_SECRET, type GqlResult, type TestServer } from '../helpers/app.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The app reaches the machine's PostgreSQL through a TCP relay the tests cut and restore.
const ADMIN = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `genjob_pgfault_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
let server: TestServer;
let proxy: ReturnType<typeof tcpRelay>;
let dataDir: string;

beforeAll(async () => {
  const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  await admin.end();
  const port = await freePort();
  proxy = tcpRelay(port);
  await proxy.up();
  dataDir = mkdtempSync(join(tmpdir(), 'genjob-pgfault-'));
  server = await startOn({
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/${dbName}`,
  });
});

afterAll(async () => {
  await server?.close();
  await proxy?.down();
  const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL connection dropped', () => {
  it('fails requests with a masked error while down, and recovers by itself', async () => {
    const token = await server.userToken();
    const first = await gql(server.url, token, '{ me { credits } }');
    expect(first.data?.me.credits).toBe(100);

    await proxy.down();
    const during = await gql(server.url, token, '{ me { credits } }');
    expect(during.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(during.errors?.[0].message).toMatch(/error id [0-9a-f-]{36}/);
    expect(JSON.stringify(during)).not.toMatch(/ECONN|postgres|5432|select|stack/i);
    const queued = await gql(server.url, token, 'mutation { queueJob(input: { jobType: image_fast, prompt: "x" }) { job { id } } }');
    expect(queued.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    const ready = await fetch(`${server.url}/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { failing: string[] }).failing).toContain('database');

    await proxy.up();
    let after: GqlResult | undefined;
    for (let i = 0; i < 50; i++) {
      after = await gql(server.url, token, '{ me { credits } }');
      if (after.data?.me) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(after?.data?.me.credits).toBe(100);
    expect((await fetch(`${server.url}/ready`)).status).toBe(200);
    const again = await gql(server.url, token, 'mutation { queueJob(input: { jobType: image_fast, prompt: "x" }) { job { status } } }');
    expect(again.data?.queueJob.job.status).toBe('queued');
  });
});
