/**
 * `node --import tsx bench/startup-compare.ts [runs]`: the same cold start
 * measured for the production command (`node dist/server.js`) and for the
 * development one (`node --import tsx src/server.ts`), interleaved run by run
 * so both see the same machine load, on the embedded defaults: an existing
 * data directory, and a first boot on an empty one. Reports wall time from
 * spawn() to the first `/health` and `/ready` 200, and the CPU time the
 * process had used by then (steadier than wall time on a shared machine).
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt } from '../scripts/build.mjs';
import { templateCandidates } from '../src/db/template.js';
import { cleanEnv, freePort, ROOT } from './lib/proc.js';

interface Sample {
  healthMs: number;
  readyMs: number;
  cpuMs: number;
}

function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}

async function once(args: string[], dataDir: string): Promise<Sample> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: cleanEnv({ DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
    stdio: 'ignore',
  });
  let healthMs = 0;
  try {
    for (;;) {
      const status = await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status, () => 0);
      if (status && !healthMs) healthMs = performance.now() - t0;
      if (status === 200) break;
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return { healthMs, readyMs: performance.now() - t0, cpuMs: cpuMsOf(child.pid!) };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const runs = Number(process.argv[2] ?? 5);
await ensureBuilt({ quiet: true });
const template = templateCandidates().find((c) => {
  try {
    readFileSync(join(c, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
});
if (!template) throw new Error('no PGlite template: run `npm run build` first');
const commands: Record<string, string[]> = { 'node dist/server.js': ['dist/server.js'], 'node --import tsx src/server.ts': ['--import', 'tsx', 'src/server.ts'] };
const results: Record<string, { existing: Sample[]; firstBoot: Sample[] }> = {};
for (const name of Object.keys(commands)) results[name] = { existing: [], firstBoot: [] };
for (let i = 0; i < runs; i++) {
  for (const [name, args] of Object.entries(commands)) {
    const existing = mkdtempSync(join(tmpdir(), 'genjob-startup-'));
    cpSync(template, join(existing, 'pglite'), { recursive: true });
    await once(args, existing); // the first start writes the jwt secret; measure the next one
    results[name].existing.push(await once(args, existing));
    rmSync(existing, { recursive: true, force: true });
    const empty = mkdtempSync(join(tmpdir(), 'genjob-startup-'));
    results[name].firstBoot.push(await once(args, empty));
    rmSync(empty, { recursive: true, force: true });
  }
}
const fmt = (xs: Sample[]) =>
  `/health ${(median(xs.map((x) => x.healthMs)) / 1000).toFixed(2)} s, /ready ${(median(xs.map((x) => x.readyMs)) / 1000).toFixed(2)} s ` +
  `(min ${(Math.min(...xs.map((x) => x.readyMs)) / 1000).toFixed(2)}), CPU by then ${(median(xs.map((x) => x.cpuMs)) / 1000).toFixed(2)} s`;
const load = (await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ');
process.stdout.write(`${runs} runs each, interleaved; load average at the end ${load}\n`);
for (const [name, r] of Object.entries(results)) {
  process.stdout.write(`${name}\n  existing DATA_DIR: ${fmt(r.existing)}\n  first boot (empty DATA_DIR): ${fmt(r.firstBoot)}\n`);
}
