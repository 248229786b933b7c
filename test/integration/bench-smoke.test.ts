import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Runs the benchmark suite in smoke mode (`npm run bench -- --smoke`: every
 * measurement for a second or two at small sizes, on both backends) so the
 * scripts in bench/ cannot rot. Asserts that it completed and wrote a results
 * file with every section; the figures themselves are not judged here
 * (targets live in BENCHMARKS.md), only the correctness checks the bench makes
 * along the way: no failed requests, every acknowledged job stored and queued
 * once, no subscription event lost.
 */
const out = mkdtempSync(join(tmpdir(), 'genjob-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: process.cwd(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGTERM'); // the bench cleans up its servers and databases on SIGTERM
      reject(new Error(`bench --smoke did not finish within ${timeoutMs} ms:\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('bench smoke', () => {
  it('runs all seven measurements on both backends and writes the results', { timeout: 240_000 }, async () => {
    const args = ['--smoke', '--out', out, '--name', 'smoke'];
    if (process.env.TEST_DATABASE_URL) args.push('--pg-url', process.env.TEST_DATABASE_URL);
    if (process.env.TEST_REDIS_URL) args.push('--redis-url', process.env.TEST_REDIS_URL);
    const { code, output } = await runBench(args, 220_000);
    expect(code, output.slice(-4000)).toBe(0);

    const r = JSON.parse(readFileSync(join(out, 'smoke.json'), 'utf8'));
    expect(r.smoke).toBe(true);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(r.commands.npm).toContain('npm run bench');
    expect(r.errors).toEqual([]);
    expect(r.targets.length).toBeGreaterThan(0);

    for (const backend of ['embedded', 'production']) {
      const b = r.backends[backend];
      expect(b, backend).toBeDefined();

      // 1–2: queueJob through the product and the baseline, then the storage/queue check.
      for (const target of ['product', 'baseline']) {
        const t = b.queue[target];
        expect(t.levels.map((l: { concurrency: number }) => l.concurrency)).toEqual([1, 8]);
        for (const l of t.levels) {
          expect(l.ok, `${backend} ${target} c=${l.concurrency}`).toBeGreaterThan(0);
          expect(l.errors, `${backend} ${target}: ${l.errorSamples}`).toBe(0);
          expect(l.latencyMs.p99).toBeGreaterThan(0);
        }
        expect(t.verification.ok, JSON.stringify(t.verification)).toBe(true);
      }
      expect(b.queue.ratio.best).toBeGreaterThan(0);

      // 3: callback → subscriber.
      expect(b.callbacks.levels).toHaveLength(2);
      for (const l of b.callbacks.levels) {
        expect(l.error).toBeUndefined();
        expect(l.expectedEvents).toBeGreaterThan(0);
        expect(l.lostEvents, JSON.stringify(l)).toBe(0);
        expect(l.latencyMs.p99).toBeGreaterThan(0);
      }

      // 4: idle subscriptions.
      expect(b.scale.steps.length).toBeGreaterThan(0);
      expect(b.scale.maxHeld.subscriptions).toBeGreaterThan(0);
      expect(b.scale.steps[0].rssMB).toBeGreaterThan(0);

      // 5: pickup (BRPOP only where there is Redis).
      expect(b.pickup.rpop.samples).toBeGreaterThan(0);
      expect(b.pickup.rpop.missing).toBe(0);
      if (backend === 'production') expect(b.pickup.brpop.samples).toBeGreaterThan(0);
      else expect(b.pickup.brpop).toBeNull();

      // 6: cold start.
      expect(b.coldstart.runs.length).toBeGreaterThan(0);
      expect(b.coldstart.health.p50).toBeGreaterThan(0);
      expect(b.coldstart.ready.p50).toBeGreaterThanOrEqual(b.coldstart.health.p50);
      expect(b.coldstart.firstQueueJob.p50).toBeGreaterThan(b.coldstart.ready.p50);

      // 7: completed callback → webhook receiver.
      expect(b.webhooks.error).toBeUndefined();
      expect(b.webhooks.callbackErrors).toBe(0);
      expect(b.webhooks.lost, JSON.stringify(b.webhooks)).toBe(0);
      expect(b.webhooks.latencyMs.p99).toBeGreaterThan(0);
    }
  });
});
