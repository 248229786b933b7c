import { join } from 'node:path';
import { makeBackend, serverEnv, type Backend, type BackendName, type BenchSettings } from './backends.js';
import { cleanEnv, freePort, productionNodeFlags, startServer, type ServerProc } from './proc.js';
import { log } from './util.js';

export interface Options {
  smoke: boolean;
  /**
   * The product's server as measured: `dist/server.js` (the production build,
   * what `npm start` runs; built first when stale) or `src/server.ts` through tsx.
   */
  serverScript: 'dist/server.js' | 'src/server.ts';
  name: string;
  outDir: string;
  /** Where BENCHMARKS.md goes; null: do not write it. */
  markdown: string | null;
  backends: BackendName[];
  only: Set<PhaseName>;
  durationSec: number;
  warmupSec: number;
  concurrency: number[];
  subs: number[];
  rate: number;
  cbDurationSec: number;
  scaleMax: number;
  scaleSteps: number[];
  pickupSamples: number;
  pollIntervalMs: number;
  coldRuns: number;
  /** Webhooked jobs completed in the webhook measurement, and callbacks per second. */
  webhookJobs: number;
  webhookRate: number;
  coldFirstBoot: boolean;
  cpuProf: string | null;
  maxMinutes: number;
  waitIdleMinutes: number;
  shareServer: boolean;
  /** Extra baseline variants to measure (experiments): `transaction`. */
  baselineVariants: string[];
  pgAdminUrl: string;
  redisUrl: string;
}

export const PHASES = ['queue', 'baseline', 'callbacks', 'scale', 'pickup', 'coldstart', 'webhooks'] as const;
export type PhaseName = (typeof PHASES)[number];

export interface Ctx {
  opts: Options;
  settings: BenchSettings;
  /** Backends not yet closed, so an abort can clean them up. */
  open: Set<Backend>;
  /** Shell-style descriptions of every server started (for BENCHMARKS.md). */
  serverCommands: Set<string>;
  logSeq: number;
}

export interface Booted {
  backend: Backend;
  server: ServerProc;
  /** Stops the server, then drops the backend. */
  close(): Promise<void>;
}

/**
 * Fresh backends plus a server process on them. `script` is the product
 * (`src/server.ts` through tsx, or the build's `dist/server.js`) or the
 * baseline (`bench/baseline.ts`).
 */
export async function boot(
  ctx: Ctx,
  name: BackendName,
  opts: { script?: string; label: string; env?: Record<string, string>; backend?: Backend; profile?: boolean } = { label: 'server' },
): Promise<Booted> {
  const script = opts.script ?? ctx.opts.serverScript;
  const backend = opts.backend ?? (await makeBackend(name, ctx.settings));
  ctx.open.add(backend);
  const port = await freePort();
  const env = serverEnv(backend, ctx.settings, port, opts.env);
  ctx.serverCommands.add(describe(script, env));
  const logFile = join(ctx.settings.runDir, `${String(++ctx.logSeq).padStart(2, '0')}-${name}-${opts.label}.log`);
  let server: ServerProc;
  try {
    server = await startServer({
      script,
      env: cleanEnv(env),
      logFile,
      cpuProfDir: opts.profile && ctx.opts.cpuProf ? join(ctx.opts.cpuProf, `${name}-${opts.label}`) : undefined,
      readyPath: script === 'bench/baseline.ts' ? '/health' : '/ready',
    });
  } catch (err) {
    ctx.open.delete(backend);
    await backend.close().catch(() => {});
    throw err;
  }
  log(`${name}: ${opts.label} up on :${port} (pid ${server.pid}, /health ${Math.round(server.healthMs)} ms, ready ${Math.round(server.bootMs)} ms)`);
  return {
    backend,
    server,
    async close() {
      const code = await server.stop();
      if (code !== 0 && code !== null) log(`${name}: ${opts.label} exited with ${code}; log ${logFile}`);
      ctx.open.delete(backend);
      await backend.close();
    },
  };
}

/** `VAR=value … node [flags] <script>`, with secrets and temp paths generalised. */
function describe(script: string, env: Record<string, string>): string {
  const shown = Object.entries(env)
    .filter(([k]) => !['PORT', 'PUBLIC_URL', 'HOST'].includes(k))
    .map(([k, v]) => {
      if (k === 'JWT_SECRET') return `${k}=<random per run>`;
      if (k === 'DATA_DIR') return `${k}=<fresh temp dir>`;
      if (k === 'DATABASE_URL') return `${k}=postgres://postgres@127.0.0.1:5432/<fresh database>`;
      if (k === 'REDIS_KEY_PREFIX') return `${k}=<random>:`;
      return `${k}=${v}`;
    })
    .sort();
  const flags = script.endsWith('.ts') ? ['--import', 'tsx'] : script === 'dist/server.js' ? productionNodeFlags() : [];
  return [...shown, 'node', ...flags, script].join(' ');
}
