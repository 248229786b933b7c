import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnServer, waitReady, type ServerProcess } from '../helpers/server-process.js';

/**
 * The README's quick tour, run as written: its shell blocks, in order, in one
 * bash, against a server started on the embedded defaults with the tokens it
 * printed. Only `localhost:4000` is moved to the test's port.
 */
const run = promisify(execFile);

let proc: ServerProcess;
let dataDir: string;
let port: number;

function tourScript(): string {
  const readme = readFileSync('README.md', 'utf8');
  const tour = readme.slice(readme.indexOf('To play the worker yourself'), readme.indexOf('Other useful operations'));
  const blocks = [...tour.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].replace(/^ {3}/gm, ''));
  expect(blocks.length).toBeGreaterThanOrEqual(4);
  // Block 1 is the "copy the tokens" step: the test sets those variables itself.
  return blocks.slice(1).join('\n').replaceAll('localhost:4000', `127.0.0.1:${port}`);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'genjob-tour-'));
  const { createServer } = await import('node:net');
  port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  proc = spawnServer({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  await waitReady(`http://127.0.0.1:${port}`, proc, 60_000);
  const deadline = Date.now() + 10_000;
  while (!proc.stdout().includes('dev worker token') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}, 90_000);

afterAll(async () => {
  await proc?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the README's quick tour", () => {
  it('runs as written: queue, watch (current state first), take, progress, upload the shipped sample, complete', async () => {
    const out = proc.stdout();
    const USER_TOKEN = /dev user token:\s+(\S+)/.exec(out)![1];
    const WORKER_TOKEN = /dev worker token:\s+(\S+)/.exec(out)![1];
    // The background subscription is given a moment to connect before the worker steps, then waited for.
    const script = tourScript().replace(/&\n/, '&\nWATCH=$!; sleep 1\n') + '\nwait $WATCH\n';
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, USER_TOKEN, WORKER_TOKEN },
      cwd: process.cwd(),
      timeout: 30_000,
    });
    const events = [...stdout.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]).data?.jobUpdated);
    expect(events.map((e) => e.status)).toEqual(['queued', 'processing', 'completed']);
    expect(events[1].progress).toBe(50);
    const url: string = events[2].assets[0].url;
    const asset = await fetch(url.replace(/^http:\/\/localhost:\d+/, `http://127.0.0.1:${port}`));
    expect(asset.status).toBe(200);
    expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync('docs/sample.png'))).toBe(true);
  }, 60_000);
});
