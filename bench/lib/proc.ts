import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http.js';
import { log, now, sleep } from './util.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every process this run started, so an abort can end exactly those (by pid). */
const started = new Set<ChildProcess>();

export function killAllStarted(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  started.clear();
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The environment a server gets: nothing inherited but PATH/HOME/TMPDIR, so no stray DATABASE_URL leaks in. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) if (process.env[key]) env[key] = process.env[key]!;
  return { ...env, ...extra };
}

export interface ServerProc {
  pid: number;
  port: number;
  url: string;
  wsUrl: string;
  /** Milliseconds from spawn() to the first `GET /health` 200 (the process is up). */
  healthMs: number;
  /** Milliseconds from spawn() to the first 200 on the readiness path (`/ready`: database, queue and storage answer). */
  bootMs: number;
  logFile: string;
  child: ChildProcess;
  rssKb(): number;
  /** utime+stime in ms. */
  cpuMs(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * The Node flags the product runs with in production: those of `npm start`
 * in package.json (`exec node <flags> scripts/start.mjs`), which the README's
 * container command repeats. The build is measured with exactly these.
 */
export function productionNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(words.indexOf('node') + 1).filter((w) => w.startsWith('--'));
}

export interface StartServerOptions {
  /** Path relative to the repo root: `src/server.ts`, `dist/server.js` or `bench/baseline.ts`. */
  script: string;
  env: Record<string, string>;
  logFile: string;
  /** Write a V8 CPU profile into this directory (node --cpu-prof). */
  cpuProfDir?: string;
  timeoutMs?: number;
  /** Node flags before the script (default `--import tsx` for TypeScript, none for JavaScript). */
  nodeArgs?: string[];
  /** Polled after /health until 200 before the server counts as up (default `/ready`; the baseline has only /health). */
  readyPath?: string;
}

/**
 * Spawns `node --import tsx <script>` and waits for `GET /health` → 200, then
 * for the readiness path → 200 (the product answers /health while its app is
 * still starting), polling every 5 ms.
 */
export async function startServer(opts: StartServerOptions): Promise<ServerProc> {
  const port = Number(opts.env.PORT);
  const fd = openSync(opts.logFile, 'a');
  const args = [
    ...(opts.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`] : []),
    ...(opts.nodeArgs ?? (opts.script.endsWith('.ts') ? ['--import', 'tsx'] : opts.script === 'dist/server.js' ? productionNodeFlags() : [])),
    opts.script,
  ];
  const t0 = now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: opts.env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = t0 + (opts.timeoutMs ?? 90_000);
  const waitFor = async (path: string): Promise<number> => {
    const url = new URL(`http://127.0.0.1:${port}${path}`);
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${opts.script} exited (${child.exitCode ?? child.signalCode}) before ${path} answered; log: ${tail(opts.logFile)}`);
      }
      try {
        const answer = await request(false, url, 'GET', {}, undefined, 2000);
        if (answer.status === 200) return now() - t0;
      } catch {
        // not listening yet
      }
      if (now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${opts.script}: no 200 on ${path} within ${opts.timeoutMs ?? 90_000} ms; log: ${tail(opts.logFile)}`);
      }
      await sleep(5);
    }
  };
  const healthMs = await waitFor('/health');
  const readyPath = opts.readyPath ?? '/ready';
  const bootMs = readyPath === '/health' ? healthMs : await waitFor(readyPath);
  const pid = child.pid!;
  return {
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    healthMs,
    bootMs,
    logFile: opts.logFile,
    child,
    rssKb: () => rssKb(pid),
    cpuMs: () => cpuMs(pid),
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      started.delete(child);
      return code;
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** VmRSS from /proc/<pid>/status, in kB. */
export function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) : NaN;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/**
 * utime + stime summed over every process whose command name starts with one
 * of `names` (e.g. postgres, redis-server) and, when given, whose command line
 * contains `cmdline` (PostgreSQL backends show their database there), in ms.
 */
export function cpuMsOfCommands(names: string[], cmdline?: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.some((n) => comm.startsWith(n))) continue;
      if (cmdline && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(cmdline)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

/** Waits until the process uses < `busyFraction` of a core over `windowMs`, or `timeoutMs` passes. */
export async function waitQuiet(pid: number, opts: { windowMs?: number; busyFraction?: number; timeoutMs?: number } = {}): Promise<boolean> {
  const windowMs = opts.windowMs ?? 500;
  const busy = opts.busyFraction ?? 0.1;
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    const a = cpuMs(pid);
    await sleep(windowMs);
    if (cpuMs(pid) - a <= busy * windowMs) return true;
  }
  return false;
}

/** A forked load-generator script, driven by request/reply messages. */
export interface Child {
  pid: number;
  call<T = unknown>(cmd: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function forkChild(script: string, name: string, execArgv: string[] = []): Promise<Child> {
  const child = fork(join(ROOT, script), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  started.add(child);
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  child.on('message', (msg: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(`${name}: ${msg.error}`));
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    pid: child.pid!,
    call<T>(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
      const id = ++seq;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: no answer to ${String(cmd.cmd)} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ ...cmd, id });
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
      started.delete(child);
    },
  };
}

/** The child side: answers each command with the handler's result. Exits when the parent disconnects. */
export function serveCommands(handlers: Record<string, (msg: any) => Promise<unknown>>): void {
  process.on('message', (msg: { id: number; cmd: string }) => {
    const handler = handlers[msg.cmd];
    const reply = (body: Record<string, unknown>) => process.send?.({ id: msg.id, ...body });
    if (!handler) {
      reply({ ok: false, error: `unknown command ${msg.cmd}` });
      return;
    }
    handler(msg).then(
      (result) => reply({ ok: true, result }),
      (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}

export { log };

/** Fraction of all CPUs busy over `ms`, from /proc/stat. */
export async function machineBusy(ms: number): Promise<number> {
  const read = () => {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = cpu[3]! + (cpu[4] ?? 0);
    return { idle, total: cpu.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}
