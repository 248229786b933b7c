import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import postgres from 'postgres';
import { afterAll, beforeAll, inject } from 'vitest';
import WebSocket from 'ws';
import { createApp, type App, type CreateAppOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { listen, type Listening } from '../../src/http/listen.js';
import { startS3Server, type S3Server } from './s3server.js';

export const TEST_JWT_SECRET = 'test-secret-for-the-test-suite-only-0123456789';
export const production = process.env.TEST_BACKEND === 'production';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestServer {
  app: App;
  http: Listening;
  url: string;
  wsUrl: string;
  dataDir: string;
  /** The environment the app was built from (for starting a second process on the same backends). */
  env: Record<string, string>;
  userToken(sub?: string, role?: string): Promise<string>;
  workerToken(): Promise<string>;
  close(): Promise<void>;
}

export interface Backends {
  env: Record<string, string>;
  dataDir: string;
  close(): Promise<void>;
}

/**
 * Fresh backends for one test file: a cloned PGlite directory, or (production
 * project) a PostgreSQL database cloned from the migrated template, a random
 * Redis key prefix and a private s3rver.
 */
export async function createBackends(): Promise<Backends> {
  const dataDir = mkdtempSync(join(tmpdir(), 'genjob-test-'));
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // Suites send many requests as one user and from one address; the
    // limits have their own suites, which set small values.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    PORT: '0',
    HOST: '127.0.0.1',
  };
  const cleanups: Array<() => Promise<void>> = [async () => rmSync(dataDir, { recursive: true, force: true })];
  if (!production) {
    cpSync(inject('pgliteTemplate'), join(dataDir, 'pglite'), { recursive: true });
  } else {
    const adminUrl = inject('pgAdminUrl');
    const name = `genjob_t_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}" template "${inject('pgTemplate')}"`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    cleanups.push(async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    });
    env.REDIS_URL = REDIS_URL;
    env.REDIS_KEY_PREFIX = `t${randomUUID().slice(0, 8)}:`;
    const s3: S3Server = await startS3Server();
    cleanups.push(() => s3.close());
    Object.assign(env, {
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: s3.bucket,
      S3_REGION: s3.region,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
  }
  return {
    env,
    dataDir,
    async close() {
      for (const c of cleanups.reverse()) await c();
    },
  };
}

/** Starts the real app on a free port, on fresh backends. */
export async function startTestServer(overrides: Record<string, string> = {}, appOptions: CreateAppOptions = {}): Promise<TestServer> {
  const backends = await createBackends();
  const server = await startOn(backends.env, overrides, appOptions);
  const close = server.close;
  return { ...server, close: async () => { await close(); await backends.close(); } };
}

/** Starts the app in this process on the given environment (backends owned by the caller). */
export async function startOn(
  baseEnv: Record<string, string>,
  overrides: Record<string, string> = {},
  appOptions: CreateAppOptions = {},
): Promise<TestServer> {
  // Signed URLs embed PUBLIC_URL, so the port is chosen before the app is built.
  const port = overrides.PORT && overrides.PORT !== '0' ? Number(overrides.PORT) : await freePort();
  const env: Record<string, string> = { ...baseEnv, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, ...overrides };
  const config = loadConfig(env);
  const app = await createApp(config, { logger: pino({ level: env.LOG_LEVEL ?? 'silent' }), ...appOptions });
  const http = await listen(app, port, '127.0.0.1');
  return {
    app,
    http,
    url: http.url,
    wsUrl: http.url.replace('http', 'ws') + '/graphql',
    dataDir: env.DATA_DIR,
    env,
    userToken: (sub = randomUUID(), role) => app.auth.sign({ sub, role }),
    workerToken: () => app.auth.sign({ sub: 'test-worker', role: 'service_role' }),
    async close() {
      await http.close();
      await app.close();
    },
  };
}

/** The fleet's HTTP calls, as {@link fleet} makes them. */
export type Fleet = ReturnType<typeof fleet>;

/**
 * One server for the whole test file: started before its first test, handed
 * to `use` with the fleet's calls (a worker token), closed after its last test.
 */
export function serverForFile(use: (server: TestServer, worker: Fleet) => void, overrides: Record<string, string> = {}): void {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(overrides);
    use(server, fleet(server.url, await server.workerToken()));
  });
  afterAll(async () => {
    await server?.close();
  });
}

/** A fresh user (random id) and a token for it. */
export interface TestUser {
  id: string;
  token: string;
}

export async function newUser(server: TestServer): Promise<TestUser> {
  const id = randomUUID();
  return { id, token: await server.userToken(id) };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export interface GqlResult<T = Record<string, any>> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; [k: string]: unknown } }>;
}

/** POSTs one GraphQL operation. */
export async function gql<T = Record<string, any>>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GqlResult<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/** Runs a typed operation from test/operations (generated by `npm run codegen`). */
export function op<R, V>(url: string, token: string | null, doc: TypedDocumentNode<R, V>, variables?: V): Promise<GqlResult<R>> {
  return gql<R>(url, token, print(doc), variables as Record<string, unknown> | undefined);
}

/** A graphql-ws client authenticated with `token`. */
export function wsClient(wsUrl: string, token: string | null): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** Collects a subscription's events; `next(n)` waits until n have arrived. */
/**
 * Resolves once at least `n` job subscriptions listen on the server at `url`
 * (its `genjob_subscriptions_active` metric): a subscription opened before
 * this resolved sees every later change. Use it instead of sleeping after
 * subscribing: how long registering takes depends on the machine's load.
 */
export async function untilSubscribed(url: string, n: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const live = [...text.matchAll(/^genjob_subscriptions_active\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    if (live >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${live} of ${n} subscriptions listening on ${url} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function collect<T = Record<string, any>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
  extensions?: Record<string, unknown>,
) {
  const events: GqlResult<T>[] = [];
  let done = false;
  let error: unknown;
  const waiters: Array<() => void> = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  const unsubscribe = client.subscribe<T>(
    { query, variables, extensions },
    {
      next: (v) => {
        events.push(v as GqlResult<T>);
        wake();
      },
      error: (e) => {
        error = e;
        done = true;
        wake();
      },
      complete: () => {
        done = true;
        wake();
      },
    },
  );
  const until = async (pred: () => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(events)} error=${String(error)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return {
    events,
    get done() {
      return done;
    },
    get error() {
      return error;
    },
    next: (n: number, timeoutMs?: number) => until(() => events.length >= n || done, timeoutMs).then(() => events),
    completed: (timeoutMs?: number) => until(() => done, timeoutMs).then(() => events),
    unsubscribe,
  };
}

/** Worker-side HTTP calls, exactly as the fleet makes them. */
export function fleet(url: string, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  return {
    async pop(queue: string): Promise<Record<string, any> | null> {
      const res = await fetch(`${url}/rpop/${queue}`, { headers: auth });
      const body = (await res.json()) as { result: string | null };
      return body.result === null ? null : JSON.parse(body.result);
    },
    async llen(queue: string): Promise<number> {
      const res = await fetch(`${url}/llen/${queue}`, { headers: auth });
      return ((await res.json()) as { result: number }).result;
    },
    uploadRaw(bucket: string, path: string, bytes: Uint8Array, contentType = 'image/png') {
      return fetch(`${url}/storage/v1/object/${bucket}/${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': contentType, 'x-upsert': 'true' },
        body: Buffer.from(bytes),
      });
    },
    uploadMultipart(bucket: string, path: string, bytes: Uint8Array, contentType = 'video/mp4') {
      const form = new FormData();
      form.append('file', new Blob([Buffer.from(bytes)], { type: contentType }), path.split('/').pop());
      return fetch(`${url}/storage/v1/object/${bucket}/${path}`, { method: 'POST', headers: auth, body: form });
    },
    callback(body: Record<string, unknown>) {
      return fetch(`${url}/functions/v1/job-callback`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
  };
}
