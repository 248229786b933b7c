/**
 * Measurement 4: connection scale. Idle graphql-ws subscriptions are opened
 * in steps (one per connection, alternating `jobUpdated` on a pool of jobs
 * and `myJobUpdates` of a user of its own) and the server's resident memory
 * (VmRSS from /proc/<pid>/status) is read after each step settles.
 *
 * One socket per subscription is bounded by the server's open-files limit
 * (RLIMIT_NOFILE); steps beyond it add a second subscription on connections
 * already open, and the result says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { BackendName } from '../lib/backends.js';
import { boot, type Booted, type Ctx } from '../lib/context.js';
import { forkChild, waitQuiet, type Child } from '../lib/proc.js';
import { log, round, signToken, sleep, uuid } from '../lib/util.js';
import type { RunResult } from '../load/http-load.js';
import type { ConnSpec } from '../load/ws-clients.js';

export interface ScaleStep {
  subscriptions: number;
  connections: number;
  openSec: number;
  failed: number;
  rssMB: number;
  /** (RSS - RSS with no subscriptions) / subscriptions. */
  perSubKB: number;
  /** Server CPU while holding them idle, % of one core over 2 s. */
  idleCpuPct: number;
}

export interface ScalePhaseResult {
  rssIdleMB: number;
  fdLimit: number;
  socketCap: number;
  steps: ScaleStep[];
  maxHeld: { subscriptions: number; connections: number; rssMB: number; perSubKB: number } | null;
  stoppedBecause: string;
  errorSamples: string[];
}

function openFilesLimit(pid: number): number {
  const m = /Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m ? Number(m[1]) : Infinity;
}

/** `shared`: run on this server instead of booting a fresh one (smoke mode). */
export async function scalePhase(ctx: Ctx, name: BackendName, shared?: Booted): Promise<ScalePhaseResult> {
  const o = ctx.opts;
  const booted = shared ?? (await boot(ctx, name, { label: 'scale' }));
  const children: Child[] = [];
  try {
    const { server } = booted;
    const secret = ctx.settings.jwtSecret;
    const steps = [...new Set([...o.scaleSteps.filter((s) => s < o.scaleMax), o.scaleMax])].sort((a, b) => a - b);
    const maxS = steps[steps.length - 1]!;

    // A pool of jobs to watch (jobUpdated needs a job of the subscriber's own).
    const poolSize = Math.max(1, Math.min(500, Math.ceil(maxS / 2)));
    const poolUsers = Array.from({ length: poolSize }, () => uuid());
    const loader = await forkChild('bench/load/http-load.ts', 'http-load');
    children.push(loader);
    const made = await loader.call<RunResult>(
      { cmd: 'run', url: server.url, target: 'graphql', tokens: await Promise.all(poolUsers.map((u) => signToken(secret, u))), concurrency: 16, once: true },
      300_000,
    );
    const poolJobs = new Array<string>(poolSize);
    for (const [i, id] of made.acked) poolJobs[i] = id;
    if (made.acked.length !== poolSize) throw new Error(`setup: ${made.errors} queueJob errors: ${made.errorSamples.join('; ')}`);

    await waitQuiet(server.pid, { windowMs: 500, busyFraction: 0.03, timeoutMs: 20_000 });
    const rssIdleKB = server.rssKb();
    const fdLimit = openFilesLimit(server.pid);
    const fdsNow = readdirSync(`/proc/${server.pid}/fd`).length;
    const socketCap = Math.max(0, fdLimit - fdsNow - 64);

    const procs = Math.min(8, Math.max(1, Math.ceil(Math.min(maxS, socketCap) / 5000)));
    const clients: Child[] = [];
    for (let i = 0; i < procs; i++) clients.push(await forkChild('bench/load/ws-clients.ts', `ws-clients-${i}`));
    children.push(...clients);

    const result: ScalePhaseResult = {
      rssIdleMB: round(rssIdleKB / 1024, 1),
      fdLimit,
      socketCap,
      steps: [],
      maxHeld: null,
      stoppedBecause: 'reached the cap',
      errorSamples: [],
    };
    let connections = 0;
    let subscriptions = 0;
    let extra = 0;
    for (const target of steps) {
      const t0 = performance.now();
      let failed = 0;
      const wantSockets = Math.min(target, socketCap);
      if (wantSockets > connections) {
        const specs: ConnSpec[] = [];
        for (let i = connections; i < wantSockets; i++) {
          if (i % 2 === 0) {
            const k = (i / 2) % poolSize;
            specs.push({ user: poolUsers[k]!, subs: [poolJobs[k]!] });
          } else specs.push({ user: uuid(), subs: [null] });
        }
        const answers = await Promise.all(
          clients.map((c, k) =>
            c.call<{ opened: number; failed: number; failures: string[] }>(
              { cmd: 'open', wsUrl: server.wsUrl, secret, conns: specs.filter((_, i) => i % clients.length === k), inflight: 64, timeoutMs: 60_000 },
              600_000,
            ),
          ),
        );
        const opened = answers.reduce((n, a) => n + a.opened, 0);
        failed += answers.reduce((n, a) => n + a.failed, 0);
        result.errorSamples.push(...answers.flatMap((a) => a.failures).slice(0, 5 - result.errorSamples.length));
        connections += opened;
        subscriptions += opened;
      }
      if (target > subscriptions && connections > 0) {
        // Past the socket cap: more subscriptions on the connections already open.
        const want = target - subscriptions;
        const per = Math.ceil(want / clients.length);
        const added = await Promise.all(clients.map((c) => c.call<{ added: number }>({ cmd: 'addMy', count: per })));
        const n = Math.min(want, added.reduce((s, a) => s + a.added, 0));
        subscriptions += n;
        extra += n;
      }
      // Idle is not zero CPU: graphql-ws pings every connection every 12 s.
      await waitQuiet(server.pid, { windowMs: 500, busyFraction: 0.2, timeoutMs: 15_000 });
      const cpuA = server.cpuMs();
      await sleep(2000);
      const idleCpuPct = round((server.cpuMs() - cpuA) / 20, 1);
      const stats = await Promise.all(clients.map((c) => c.call<{ errorsReceived: number; unexpectedCloses: number; errorSamples: string[] }>({ cmd: 'stats' })));
      const refused = stats.reduce((n, s) => n + s.errorsReceived + s.unexpectedCloses, 0);
      const rssKB = server.rssKb();
      const step: ScaleStep = {
        subscriptions: subscriptions - Math.min(refused, subscriptions),
        connections,
        openSec: round((performance.now() - t0) / 1000, 1),
        failed: failed + refused,
        rssMB: round(rssKB / 1024, 1),
        perSubKB: round((rssKB - rssIdleKB) / Math.max(1, subscriptions), 2),
        idleCpuPct,
      };
      result.steps.push(step);
      log(
        `${name} scale: ${step.subscriptions} subscriptions on ${connections} connections, RSS ${step.rssMB} MB, ` +
          `${step.perSubKB} KB/subscription, idle CPU ${step.idleCpuPct}%, ${step.failed} failed, ${step.openSec} s`,
      );
      if (step.failed > Math.max(5, target * 0.005)) {
        result.stoppedBecause = `${step.failed} subscriptions failed at step ${target}`;
        result.errorSamples.push(...stats.flatMap((s) => s.errorSamples));
        break;
      }
    }
    const last = result.steps.filter((s) => s.failed === 0).pop() ?? null;
    result.maxHeld = last && { subscriptions: last.subscriptions, connections: last.connections, rssMB: last.rssMB, perSubKB: last.perSubKB };
    if (extra > 0) {
      result.stoppedBecause = `sockets capped at ${socketCap} by the server's open-files limit (${fdLimit}); the last ${extra} subscriptions share connections`;
    }
    result.errorSamples = result.errorSamples.slice(0, 5);
    await Promise.all(clients.map((c) => c.call({ cmd: 'close' }, 120_000).catch(() => {})));
    return result;
  } finally {
    await Promise.all(children.map((c) => c.close()));
    if (!shared) await booted.close();
  }
}
