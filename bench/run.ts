/**
 * `npm run bench [-- flags]`: starts what it measures, drives it from separate
 * processes, prints a table, writes bench/results/<name>.json and (full runs)
 * BENCHMARKS.md. See `--help`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { BackendName } from './lib/backends.js';
import { pgliteTemplate } from './lib/backends.js';
import { boot, PHASES, type Ctx, type Options, type PhaseName } from './lib/context.js';
import { ensureBuilt } from '../scripts/build.mjs';
import { killAllStarted, machineBusy, ROOT } from './lib/proc.js';
import { evaluateTargets, markdown, printReport, type BackendResults, type Results } from './lib/report.js';
import { log, round } from './lib/util.js';
import { callbackPhase } from './phases/callbacks.js';
import { coldStartPhase } from './phases/coldstart.js';
import { pickupPhase } from './phases/pickup.js';
import { queuePhase } from './phases/queue.js';
import { scalePhase } from './phases/scale.js';
import { webhookPhase } from './phases/webhooks.js';

const HELP = `npm run bench -- [flags]

  --smoke                 a few seconds per measurement, small sizes (CI); writes no BENCHMARKS.md
  --only LIST             phases: ${PHASES.join(',')} (default: all)
  --backends LIST         embedded,production (default: both)
  --duration S            seconds per queueJob concurrency level (default 8)
  --warmup S              queueJob warm-up seconds (default 2)
  --concurrency LIST      queueJob concurrency levels (default 1,16,64,256)
  --subs LIST             subscriptions for callback latency (default 1000,10000)
  --rate N                callbacks per second (default 200)
  --cb-duration S         seconds of callbacks per subscription level (default 10)
  --scale-max N           idle subscriptions to reach (default 20000)
  --scale-steps LIST      steps on the way (default 5000,10000,15000)
  --pickup-samples N      jobs per pickup measurement (default 50)
  --poll-interval MS      /rpop poll interval after an empty answer (default 100)
  --cold-runs N           cold starts on existing data (default 3)
  --webhook-jobs N        webhooked jobs completed in the webhook measurement (default 1000)
  --webhook-rate N        their completed callbacks per second (default 50)
  --no-first-boot         skip the first-boot (empty DATA_DIR) cold start
  --cpu-prof DIR          run measured servers under node --cpu-prof, profiles into DIR
  --baseline-variants L   also measure these baseline variants (experiment): transaction
  --share-server          one server per backend for callbacks, scale and pickup (default in smoke mode)
  --server src|dist       the product as measured: dist (default; the production build that npm start
                          runs, built first when stale) or src (the sources through tsx; smoke default)
  --name NAME             results file name (default full, or smoke)
  --out DIR               results directory (default bench/results)
  --markdown PATH         where to write the summary (default BENCHMARKS.md; "none" to skip)
  --max-minutes N         abort (and clean up) after N minutes (default 15, smoke 4)
  --wait-idle N           first wait up to N minutes for the machine to be idle (< 15% CPU busy over 5 s)
  --pg-url URL            PostgreSQL admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL         Redis URL (default redis://127.0.0.1:6379)
`;

function parseArgs(argv: string[]): Options {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n\n${HELP}`);
    const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(key, inline);
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) flags.set(key, argv[++i]!);
    else flags.set(key, true);
  }
  if (flags.has('help')) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const smoke = flags.has('smoke');
  const str = (k: string, d: string) => {
    const v = flags.get(k);
    flags.delete(k);
    return typeof v === 'string' ? v : d;
  };
  const num = (k: string, d: number) => {
    const v = Number(str(k, String(d)));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a non-negative number`);
    return v;
  };
  const list = (k: string, d: string) => str(k, d).split(',').map((x) => x.trim()).filter(Boolean);
  const nums = (k: string, d: string) => list(k, d).map((x) => {
    const v = Number(x);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k}: ${x} is not a positive number`);
    return v;
  });
  const bool = (k: string) => {
    const v = flags.has(k);
    flags.delete(k);
    return v;
  };
  bool('smoke');
  const only = new Set(list('only', PHASES.join(',')) as PhaseName[]);
  for (const p of only) if (!PHASES.includes(p)) throw new Error(`--only: unknown phase ${p} (use ${PHASES.join(',')})`);
  const backends = list('backends', 'embedded,production') as BackendName[];
  for (const b of backends) if (b !== 'embedded' && b !== 'production') throw new Error(`--backends: unknown backend ${b}`);
  const variants = list('baseline-variants', '');
  for (const v of variants) if (v !== 'transaction') throw new Error(`--baseline-variants: unknown variant ${v} (use transaction)`);
  const md = str('markdown', smoke ? 'none' : 'BENCHMARKS.md');
  const prof = str('cpu-prof', '');
  const opts: Options = {
    smoke,
    serverScript: serverScript(str('server', smoke ? 'src' : 'dist')),
    name: str('name', smoke ? 'smoke' : 'full'),
    outDir: resolve(ROOT, str('out', 'bench/results')),
    markdown: md === 'none' ? null : resolve(ROOT, md),
    backends,
    only,
    durationSec: num('duration', smoke ? 1 : 8),
    warmupSec: num('warmup', smoke ? 0.3 : 2),
    concurrency: nums('concurrency', smoke ? '1,8' : '1,16,64,256'),
    subs: nums('subs', smoke ? '40,200' : '1000,10000'),
    rate: num('rate', smoke ? 50 : 200),
    cbDurationSec: num('cb-duration', smoke ? 1.5 : 10),
    scaleMax: num('scale-max', smoke ? 400 : 20_000),
    scaleSteps: nums('scale-steps', smoke ? '200' : '5000,10000,15000'),
    pickupSamples: num('pickup-samples', smoke ? 8 : 50),
    pollIntervalMs: num('poll-interval', smoke ? 50 : 100),
    coldRuns: num('cold-runs', smoke ? 1 : 3),
    webhookJobs: num('webhook-jobs', smoke ? 40 : 1000),
    webhookRate: num('webhook-rate', 50),
    coldFirstBoot: !bool('no-first-boot') && !smoke,
    cpuProf: prof ? resolve(ROOT, prof) : null,
    maxMinutes: num('max-minutes', smoke ? 4 : 15),
    waitIdleMinutes: num('wait-idle', 0),
    shareServer: bool('share-server') || smoke,
    baselineVariants: variants,
    pgAdminUrl: str('pg-url', process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'),
    redisUrl: str('redis-url', process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'),
  };
  if (flags.size) throw new Error(`unknown flag(s): ${[...flags.keys()].map((k) => `--${k}`).join(' ')}\n\n${HELP}`);
  for (const u of [opts.pgAdminUrl, opts.redisUrl]) {
    const host = new URL(u).hostname;
    if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) throw new Error(`${u}: only local services may be benchmarked`);
  }
  return opts;
}

function serverScript(v: string): Options['serverScript'] {
  if (v === 'dist') return 'dist/server.js';
  if (v === 'src') return 'src/server.ts';
  throw new Error(`--server: ${v} is neither src nor dist`);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const opts = parseArgs(argv);
  let started = Date.now();
  const runDir = mkdtempSync(join(os.tmpdir(), 'genjob-bench-'));
  const ctx: Ctx = {
    opts,
    settings: { pgAdminUrl: opts.pgAdminUrl, redisUrl: opts.redisUrl, runDir, jwtSecret: randomBytes(32).toString('base64url') },
    open: new Set(),
    serverCommands: new Set(),
    logSeq: 0,
  };

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    killAllStarted();
    for (const b of ctx.open) await b.close().catch((err: unknown) => log(`cleanup: ${String(err)}`));
    ctx.open.clear();
  };
  const abort = (why: string) => {
    log(`aborting: ${why}`);
    void cleanup().finally(() => process.exit(2));
  };
  const watchdog = setTimeout(() => abort(`--max-minutes ${opts.maxMinutes} exceeded`), (opts.maxMinutes + opts.waitIdleMinutes) * 60_000);
  watchdog.unref();
  process.once('SIGINT', () => abort('SIGINT'));
  process.once('SIGTERM', () => abort('SIGTERM'));

  if (opts.waitIdleMinutes > 0) {
    const until = Date.now() + opts.waitIdleMinutes * 60_000;
    for (;;) {
      const busy = await machineBusy(5000);
      if (busy < 0.15) break;
      if (Date.now() > until) {
        log(`machine still ${Math.round(busy * 100)}% busy after ${opts.waitIdleMinutes} min; measuring anyway`);
        break;
      }
      log(`waiting for an idle machine: ${Math.round(busy * 100)}% busy`);
    }
  }
  if (opts.serverScript === 'dist/server.js' && (await ensureBuilt({ quiet: true }))) log('built dist/ first');
  started = Date.now(); // the run's clock starts after any wait for an idle machine
  const busyStart = await machineBusy(1000);
  const loadStart = os.loadavg().map((x) => round(x, 2));
  log(`run dir ${runDir}; ${os.cpus().length} cores; load average ${loadStart.join(' ')}`);
  const results: Results = {
    name: opts.name,
    smoke: opts.smoke,
    date: new Date(started).toISOString(),
    finishedAt: '',
    totalSec: 0,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGB: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      openFilesLimit: /Max open files\s+(\S+)\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.slice(1).join(' (soft) / ') + ' (hard)',
      loadAverageAtStart: loadStart,
      cpuBusyAtStart: round(busyStart, 2),
      loadAverageAtEnd: [],
    },
    commands: {
      npm: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
      run: `node --import tsx bench/run.ts${argv.length ? ` ${argv.join(' ')}` : ''}`,
      servers: [],
    },
    // Paths relative to the repository: the results are committed and read on other machines.
    options: {
      ...opts,
      only: [...opts.only],
      outDir: relative(ROOT, opts.outDir) || '.',
      markdown: opts.markdown && relative(ROOT, opts.markdown),
    },
    backends: {},
    targets: [],
    errors: [],
  };

  try {
    // Built (once per migration set, cached in the temp dir) before anything is timed.
    if (opts.backends.includes('embedded')) await pgliteTemplate();
    const phase = async <K extends keyof BackendResults>(name: BackendName, key: K, fn: () => Promise<NonNullable<BackendResults[K]>>) => {
      const b = (results.backends[name] ??= {});
      try {
        b[key] = await fn();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        b[key] = { error: message } as BackendResults[K];
        results.errors.push(`${name} ${key}: ${message}`);
        log(`${name} ${key} failed: ${message}`);
      }
    };
    for (const name of opts.backends) {
      if (opts.only.has('queue') || opts.only.has('baseline')) await phase(name, 'queue', () => queuePhase(ctx, name));
      // Each measurement gets a fresh server on fresh backends; smoke runs share
      // one (pickup first, while its queue is still empty) to keep CI short.
      const shared = opts.shareServer && ['callbacks', 'scale', 'pickup'].some((p) => opts.only.has(p as PhaseName))
        ? await boot(ctx, name, { label: 'shared' }).catch((err: unknown) => {
            results.errors.push(`${name}: could not start the shared server: ${String(err)}`);
            return null;
          })
        : undefined;
      if (shared === null) continue;
      try {
        if (opts.only.has('pickup') && shared) await phase(name, 'pickup', () => pickupPhase(ctx, name, shared));
        if (opts.only.has('callbacks')) await phase(name, 'callbacks', () => callbackPhase(ctx, name, shared));
        if (opts.only.has('scale')) await phase(name, 'scale', () => scalePhase(ctx, name, shared));
        if (opts.only.has('pickup') && !shared) await phase(name, 'pickup', () => pickupPhase(ctx, name));
      } finally {
        await shared?.close();
      }
    }
    if (opts.only.has('webhooks')) for (const name of opts.backends) await phase(name, 'webhooks', () => webhookPhase(ctx, name));
    if (opts.only.has('coldstart')) for (const name of opts.backends) await phase(name, 'coldstart', () => coldStartPhase(ctx, name));
    for (const name of opts.backends) {
      const b = results.backends[name];
      if (!b) continue;
      for (const [k, v] of Object.entries(b)) {
        const nested = v && typeof v === 'object' && !('error' in v) ? (v as Record<string, unknown>) : null;
        for (const inner of ['product', 'baseline'] as const) {
          const x = nested?.[inner] as { error?: string } | undefined;
          if (x?.error) results.errors.push(`${name} ${k} ${inner}: ${x.error}`);
        }
      }
    }
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }

  results.finishedAt = new Date().toISOString();
  results.totalSec = round((Date.now() - started) / 1000, 1);
  results.machine.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  results.commands.servers = [...ctx.serverCommands];
  results.targets = evaluateTargets(results);

  mkdirSync(opts.outDir, { recursive: true });
  const jsonPath = join(opts.outDir, `${opts.name}.json`);
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(printReport(results));
  process.stdout.write(`\nresults: ${jsonPath}\n`);
  if (opts.markdown) {
    // The abuse section comes from `npm run bench:abuse`; a full run keeps it.
    const previous = existsSync(opts.markdown) ? readFileSync(opts.markdown, 'utf8') : '';
    const kept = /<!-- abuse:start -->[\s\S]*?<!-- abuse:end -->/.exec(previous)?.[0];
    const text = markdown(results, opts.markdown, relative(ROOT, jsonPath));
    // (It is kept already when it sits in the hand-written part below the analysis marker.)
    writeFileSync(opts.markdown, kept && !text.includes(kept) ? `${text.trimEnd()}\n\n${kept}\n` : text);
    process.stdout.write(`summary: ${opts.markdown}\n`);
  }
  if (results.errors.length) process.stdout.write(`server logs kept in ${runDir}\n`);
  else rmSync(runDir, { recursive: true, force: true });
  return results.errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    killAllStarted();
    process.exit(1);
  },
);
