/**
 * `npm run bench:abuse [-- --seconds S --backends embedded,production]`:
 * one abusive user sends queueJob as fast as it can (32 requests in flight)
 * while a normal user queues one job every ~0.67 s (≈ 90 operations a
 * minute, under the default limit of 120). Reported per backend: the normal
 * user's latency with and without the abuser, the abuser's share of the
 * accepted requests, and the same with the rate limit lifted (what the limit
 * buys). Each driver is its own process (bench/load/http-load.ts).
 *
 * MAX_ACTIVE_JOBS_PER_USER is lifted on these servers, so what is measured
 * is RATE_LIMIT_PER_MINUTE alone. Writes bench/results/abuse.json and the
 * "Abuse" section of BENCHMARKS.md (kept by full `npm run bench` runs).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { BackendName } from './lib/backends.js';
import { boot, type Ctx, type Options } from './lib/context.js';
import { forkChild, killAllStarted, machineBusy, ROOT } from './lib/proc.js';
import { log, round, signToken, summarize, uuid, type Summary } from './lib/util.js';
import type { RunResult } from './load/http-load.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SECONDS = Number(flag('seconds', '40'));
const BACKENDS = flag('backends', 'embedded,production').split(',') as BackendName[];
const LIMIT = 120;
const PACE: [number, number] = [600, 733]; // ≈ 1.5 requests a second

interface Scenario {
  normal: { sent: number; ok: number; refused: number; latencyMs: Summary };
  abuser: { sent: number; ok: number; refused: number; okPerMinute: number } | null;
  abuserShare: number | null;
}

async function scenario(ctx: Ctx, name: BackendName, label: string, limit: number, withAbuser: boolean): Promise<Scenario> {
  const booted = await boot(ctx, name, { label, env: { RATE_LIMIT_PER_MINUTE: String(limit), MAX_ACTIVE_JOBS_PER_USER: '1000000' } });
  const normalDriver = await forkChild('bench/load/http-load.ts', 'normal');
  const abuseDriver = withAbuser ? await forkChild('bench/load/http-load.ts', 'abuser') : null;
  try {
    const url = booted.server.url;
    const normalToken = await signToken(ctx.settings.jwtSecret, uuid());
    const abuserToken = await signToken(ctx.settings.jwtSecret, uuid());
    const maxRequests = Math.floor((SECONDS * 1000) / ((PACE[0] + PACE[1]) / 2));
    const abuse = abuseDriver?.call<RunResult>(
      { cmd: 'run', url, target: 'graphql', tokens: [abuserToken], concurrency: 32, durationMs: SECONDS * 1000 },
      SECONDS * 1000 + 120_000,
    );
    const normal = await normalDriver.call<RunResult>(
      { cmd: 'run', url, target: 'graphql', tokens: [normalToken], concurrency: 1, maxRequests, paceMs: PACE },
      SECONDS * 1000 + 120_000,
    );
    const abused = abuse ? await abuse : null;
    const abuserOk = abused?.ok ?? 0;
    return {
      normal: { sent: normal.ok + normal.errors, ok: normal.ok, refused: normal.errors, latencyMs: summarize(normal.latMs) },
      abuser: abused
        ? {
            sent: abused.ok + abused.errors,
            ok: abused.ok,
            refused: abused.errors,
            // Over the nominal run (requests in flight at the deadline finish a little later).
            okPerMinute: round(abused.ok / (SECONDS / 60), 1),
          }
        : null,
      abuserShare: abused ? round(abuserOk / (abuserOk + normal.ok), 3) : null,
    };
  } finally {
    await normalDriver.close();
    await abuseDriver?.close();
    await booted.close();
  }
}

async function main() {
  const runDir = mkdtempSync(join(os.tmpdir(), 'genjob-abuse-'));
  const ctx: Ctx = {
    opts: { cpuProf: null } as unknown as Options,
    settings: {
      pgAdminUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: 'redis://127.0.0.1:6379',
      runDir,
      jwtSecret: randomBytes(32).toString('base64url'),
    },
    open: new Set(),
    serverCommands: new Set(),
    logSeq: 0,
  };
  const busyBefore = await machineBusy(3000);
  const load = os.loadavg();
  const started = new Date();
  const results: Record<string, Record<string, Scenario>> = {};
  try {
    for (const name of BACKENDS) {
      log(`${name}: normal user alone`);
      const alone = await scenario(ctx, name, 'alone', LIMIT, false);
      log(`${name}: normal user with the abuser, RATE_LIMIT_PER_MINUTE=${LIMIT}`);
      const limited = await scenario(ctx, name, 'limited', LIMIT, true);
      log(`${name}: normal user with the abuser, no rate limit`);
      const unlimited = await scenario(ctx, name, 'unlimited', 1_000_000, true);
      results[name] = { alone, limited, unlimited };
    }
  } finally {
    for (const b of ctx.open) await b.close().catch(() => {});
    killAllStarted();
    rmSync(runDir, { recursive: true, force: true });
  }
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const meta = {
    date: started.toISOString(),
    seconds: SECONDS,
    limit: LIMIT,
    cores: os.cpus().length,
    node: process.version,
    cpuBusyBefore: round(busyBefore, 2),
    loadAvgAtStart: load.map((l) => round(l, 2)),
    loadAvgAtEnd: os.loadavg().map((l) => round(l, 2)),
  };
  writeFileSync(join(out, 'abuse.json'), JSON.stringify({ meta, results }, null, 2) + '\n');
  writeSection(markdown(meta, results));
  process.stdout.write(markdown(meta, results) + '\n');
}

const ms = (s: Summary) => `${round(s.p50, 1)} / ${round(s.p99, 1)} / ${round(s.max, 1)}`;

function markdown(meta: Record<string, unknown>, results: Record<string, Record<string, Scenario>>): string {
  const lines = [
    '## Abuse: one user flooding, one user steady (`npm run bench:abuse`)',
    '',
    `Measured ${String(meta.date)}, ${String(meta.seconds)} s per scenario, on ${String(meta.cores)} cores shared with other work on the machine (CPU ${Math.round(Number(meta.cpuBusyBefore) * 100)}% busy just before; load average ${(meta.loadAvgAtStart as number[]).join(' / ')} at start, ${(meta.loadAvgAtEnd as number[]).join(' / ')} at end), Node ${String(meta.node)}.`,
    `The abuser sends \`queueJob\` with 32 requests in flight for the whole run; the normal user sends one \`queueJob\` every 0.6–0.73 s (≈ 90 a minute). Each scenario runs on a fresh server; \`MAX_ACTIVE_JOBS_PER_USER\` is lifted so only \`RATE_LIMIT_PER_MINUTE\` acts. Latency is the normal user's, at the client, for accepted requests (p50 / p99 / max, ms). "Abuser's share" is the abuser's accepted requests over all accepted requests.`,
    '',
    '| backend | scenario | normal user: accepted / sent | normal user p50 / p99 / max (ms) | abuser: accepted / sent (accepted per minute) | abuser\'s share of accepted |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const names: Record<string, string> = {
    alone: 'normal user alone',
    limited: `with the abuser, RATE_LIMIT_PER_MINUTE=${String(meta.limit)}`,
    unlimited: 'with the abuser, no rate limit',
  };
  for (const [backend, scenarios] of Object.entries(results)) {
    for (const [key, s] of Object.entries(scenarios)) {
      lines.push(
        `| ${backend} | ${names[key]} | ${s.normal.ok} / ${s.normal.sent} | ${ms(s.normal.latencyMs)} | ${
          s.abuser ? `${s.abuser.ok} / ${s.abuser.sent} (${s.abuser.okPerMinute})` : '—'
        } | ${s.abuserShare === null ? '—' : `${Math.round(s.abuserShare * 100)}%`} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Replaces (or appends) the section between the abuse markers; `npm run bench` keeps it. */
function writeSection(section: string): void {
  const file = join(ROOT, 'BENCHMARKS.md');
  const block = `<!-- abuse:start -->\n${section}\n<!-- abuse:end -->`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const re = /<!-- abuse:start -->[\s\S]*?<!-- abuse:end -->/;
  writeFileSync(file, re.test(text) ? text.replace(re, block) : `${text.trimEnd()}\n\n${block}\n`);
}

main().catch((err) => {
  killAllStarted();
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
