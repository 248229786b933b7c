import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, TEST_JWT_SECRET } from '../helpers/app.js';
import { spawnServer } from '../helpers/server-process.js';

/**
 * A required service that is missing at start (http-contract.md): the real
 * server process exits non-zero, quickly, with exactly one line on stderr
 * that says what to set or start, and never a password.
 */

const PASSWORD = 'hunter2-s3cret';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * An empty DATA_DIR. Redis and S3 are probed before the database opens, so
 * no test here waits for an embedded PGlite to initialise (~10 s).
 */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'genjob-startup-'));
  dirs.push(dir);
  return dir;
}

/**
 * How long a failing start may take before the test calls it hung. The
 * process exits within a second or two on an idle machine; the bound is wide
 * because on a loaded 2-core machine loading the app alone can take seconds.
 */
const HUNG_MS = 45_000;

async function start(env: Record<string, string>) {
  const port = await freePort();
  const proc = spawnServer({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: TEST_JWT_SECRET, ...env });
  const started = Date.now();
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), HUNG_MS);
  const { code, signal } = await proc.exited;
  clearTimeout(timer);
  return { code, signal, ms: Date.now() - started, stderr: proc.stderr(), stdout: proc.stdout() };
}

function expectOneLine(result: Awaited<ReturnType<typeof start>>, ...mustContain: Array<string | RegExp>): string {
  expect(result.signal, `killed after ${HUNG_MS / 1000} s; stderr: ${result.stderr}`).toBeNull();
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.ms).toBeLessThan(HUNG_MS);
  const lines = result.stderr.split('\n');
  expect(lines.at(-1)).toBe(''); // ends with a newline
  expect(lines.slice(0, -1), result.stderr).toHaveLength(1);
  const [line] = lines;
  for (const m of mustContain) expect(line).toMatch(m);
  expect(line).not.toContain(PASSWORD);
  expect(line).not.toMatch(/\(\S+:\d+:\d+\)|node_modules/); // no stack frames
  expect(result.stdout).not.toContain(PASSWORD);
  return line!;
}

describe('start-up with a required service missing', { timeout: HUNG_MS + 15_000 }, () => {
  // One at a time: on a small machine, several Node processes loading the app at once each take far longer.
  it('PostgreSQL not listening → one line naming DATABASE_URL', async () => {
    const port = await freePort();
    const result = await start({ DATA_DIR: dataDir(), DATABASE_URL: `postgres://genjob:${PASSWORD}@127.0.0.1:${port}/genjob` });
    expectOneLine(result, 'DATABASE_URL', /PostgreSQL/, `127.0.0.1:${port}`);
  });

  it('Redis not listening → one line naming REDIS_URL', async () => {
    const port = await freePort();
    const result = await start({ DATA_DIR: dataDir(), REDIS_URL: `redis://default:${PASSWORD}@127.0.0.1:${port}` });
    expectOneLine(result, 'REDIS_URL', /Redis/, `127.0.0.1:${port}`);
  });

  it('S3 not listening → one line naming S3_ENDPOINT and S3_BUCKET, no key or password', async () => {
    const port = await freePort();
    const result = await start({
      DATA_DIR: dataDir(),
      // Credentials in the endpoint URL must not be printed either.
      S3_ENDPOINT: `http://genjob:${PASSWORD}@127.0.0.1:${port}`,
      S3_BUCKET: 'media',
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'genjob',
      S3_SECRET_ACCESS_KEY: PASSWORD,
      S3_FORCE_PATH_STYLE: 'true',
    });
    expectOneLine(result, 'S3_ENDPOINT', 'S3_BUCKET', `127.0.0.1:${port}`);
  });

  it('PORT that is not a port → one line naming PORT', async () => {
    const result = await start({ DATA_DIR: dataDir(), PORT: 'garbage' });
    expectOneLine(result, /\bPORT\b/);
  });
});
