import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuth } from '../../src/auth/tokens.js';
import { fleet, freePort, gql, TEST_JWT_SECRET } from '../helpers/app.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/postgres-server.js';
import { eventually } from '../helpers/redis-server.js';
import { spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';

/**
 * The drill's crash: postgres.js 3.4.9 could throw `TypeError: Cannot read
 * properties of null (reading 'write')` from a setImmediate inside its
 * connection.js when a connection's socket closed with a small write
 * buffered (porsager/postgres#1066, #1154, #1208), taking the whole process
 * down; and the same teardown left the connection unable to flush again
 * (queries on it hung). And a transaction whose connection was lost still
 * sent its ROLLBACK on that connection, by then reconnecting for another
 * caller, whose query then never got an answer (a queueJob or an /rpop left
 * waiting in about one run in four). The driver is patched (patches/, applied
 * by patch-package on install). This test crashes a private PostgreSQL many
 * times while the server is under load, and requires the server to live
 * through every restart and to serve every pooled connection afterwards.
 */

const RESTARTS = 12;
let pg: PrivatePostgres;
let proc: ServerProcess;
let url: string;
let dataDir: string;
const auth = createAuth({ secret: TEST_JWT_SECRET });

beforeAll(async () => {
  pg = await startPrivatePostgres();
  dataDir = mkdtempSync(join(tmpdir(), 'genjob-pgrestart-'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  proc = spawnServer({
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: url,
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: pg.url,
    LOG_LEVEL: 'error',
    SWEEP_INTERVAL_MS: '100',
    // The request limits are out of the way (their own suites test them).
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    // The one user queues as fast as the server lets it through every restart: credits must not be what runs out.
    STARTING_CREDITS: '1000000000',
  });
  await waitReady(url, proc, 60_000);
}, 120_000);

afterAll(async () => {
  await proc?.stop();
  await pg?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('PostgreSQL crashes and restarts under load', () => {
  it(`the server survives ${RESTARTS} crashes of PostgreSQL and every pooled connection works afterwards`, async () => {
    const token = await auth.sign({ sub: randomUUID() });
    const worker = fleet(url, await auth.sign({ sub: 'w', role: 'service_role' }));
    let stop = false;
    let served = 0;
    // A request the server never answers must not hang the load loops (and the test) forever:
    // each step gets a deadline, and whether every connection still works is checked below.
    // What each loop was last doing: an overdue step is reported by it.
    const doing: string[] = [];
    const overdue: string[] = [];
    const step = (n: number) =>
      Promise.race([loadStep(n), new Promise((_, reject) => setTimeout(() => reject(new Error('overdue')), 30_000).unref())]).catch((err: unknown) => {
        if ((err as Error).message === 'overdue') overdue.push(doing[n]!);
        throw err;
      });
    // Small statements on every connection of the pool, all the time: queueJob, pops, callbacks, reads.
    const load = async (n: number) => {
      while (!stop) {
        try {
          await step(n);
        } catch {
          // requests fail while the database is down; that is expected
        }
      }
    };
    const loadStep = async (n: number) => {
      if (n % 2 === 0) {
        doing[n] = 'queueJob';
        const res = await gql(url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "restart ${n}" }) { job { id } } }`);
        if (res.data) served++;
        return;
      }
      doing[n] = '/rpop';
      const job = await worker.pop('sdxl_queue');
      if (job) {
        served++;
        doing[n] = 'callback';
        await worker.callback({ job_id: job.id, status: 'failed', error_message: 'not today' });
      } else {
        doing[n] = 'read';
        await gql(url, token, `{ me { credits } queues { name waiting } }`);
      }
    };
    const loops = Array.from({ length: 8 }, (_, n) => load(n));
    try {
      for (let i = 0; i < RESTARTS; i++) {
        await new Promise((r) => setTimeout(r, 400));
        await pg.kill();
        await new Promise((r) => setTimeout(r, 150));
        await pg.start();
        expect(proc.child.exitCode, `server exited after restart ${i + 1}:\n${proc.stderr()}`).toBeNull();
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    expect(proc.child.exitCode, proc.stderr()).toBeNull();
    expect(proc.stderr()).not.toMatch(/TypeError|reading 'write'/);
    expect(served).toBeGreaterThan(0);
    expect(overdue, 'requests left unanswered for 30 s').toEqual([]);

    // Every connection of the pool (10) answers: 40 requests at once, none may hang.
    await eventually('all connections healthy', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, () =>
          fetch(`${url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ query: '{ me { credits } }' }),
            signal: AbortSignal.timeout(5000),
          }).then(async (r) => ((await r.json()) as { data?: { me?: { credits: number } } }).data?.me?.credits),
        ),
      );
      expect(results.every((c) => typeof c === 'number')).toBe(true);
    }, 20_000);
    const after = await gql(url, token, `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "after" }) { job { id } } }`);
    expect(after.errors).toBeUndefined();
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  }, 300_000);
});
