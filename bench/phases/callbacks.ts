/**
 * Measurement 3: callback → subscriber latency. S open graphql-ws
 * subscriptions (half `jobUpdated(id)`, half `myJobUpdates`, one per
 * connection, each connection its own user, whose one job a worker has
 * started) spread over a few client processes, while a driver process sends `processing` callbacks with rising
 * progress at a fixed rate to the jobs being watched. Each callback changes
 * its job, so it must reach both the job's jobUpdated subscriber and its
 * owner's myJobUpdates subscriber. Latency: from the driver's send time of
 * (job, progress) to a client's receipt of that (job, progress).
 */
import os from 'node:os';
import type { BackendName } from '../lib/backends.js';
import { boot, type Booted, type Ctx } from '../lib/context.js';
import { forkChild, waitQuiet, type Child } from '../lib/proc.js';
import { log, round, signToken, sleep, summarize, uuid, type Summary } from '../lib/util.js';
import type { RunResult } from '../load/http-load.js';
import type { ConnSpec } from '../load/ws-clients.js';

export interface CallbackLevel {
  subscriptions: number;
  connections: number;
  clientProcesses: number;
  openSec: number;
  openFailed: number;
  serverRssMB: number;
  rate: number;
  achievedRate: number;
  callbacksSent: number;
  callbackErrors: number;
  callbackHttpMs: Summary;
  expectedEvents: number;
  receivedEvents: number;
  lostEvents: number;
  duplicateEvents: number;
  latencyMs: Summary;
  latencyByKind: { myJobUpdates: Summary; jobUpdated: Summary };
  errorSamples: string[];
  loadAvg1: number;
  /** Per second of the run (by send time): [second, events, p50 ms, max ms] — shows stalls. */
  perSecond: Array<[number, number, number, number]>;
  /** Server CPU time (utime+stime) while the callbacks ran, per callback sent. */
  serverCpuMsPerCallback: number;
}

export interface CallbackPhaseResult {
  setup: { users: number; jobs: number; sec: number; errors: number };
  levels: Array<CallbackLevel | { subscriptions: number; error: string }>;
}

type Rec = [string, number, number, number];

/** `shared`: run on this server instead of booting a fresh one (smoke mode). */
export async function callbackPhase(ctx: Ctx, name: BackendName, shared?: Booted): Promise<CallbackPhaseResult> {
  const o = ctx.opts;
  const booted = shared ?? (await boot(ctx, name, { label: 'callbacks', profile: true }));
  const children: Child[] = [];
  try {
    const { server } = booted;
    const secret = ctx.settings.jwtSecret;
    const maxS = Math.max(...o.subs);
    const nUsers = Math.ceil(maxS / 2);

    // Setup (not measured): one user with one queued job per jobUpdated subscriber.
    const users = Array.from({ length: nUsers }, () => uuid());
    const tokens = await Promise.all(users.map((u) => signToken(secret, u)));
    const loader = await forkChild('bench/load/http-load.ts', 'http-load');
    children.push(loader);
    const t0 = performance.now();
    const made = await loader.call<RunResult>(
      { cmd: 'run', url: server.url, target: 'graphql', tokens, concurrency: 16, once: true },
      300_000,
    );
    const setupSec = (performance.now() - t0) / 1000;
    const jobOf = new Array<string>(nUsers);
    for (const [i, id] of made.acked) jobOf[i] = id;
    if (made.errors > 0 || made.acked.length !== nUsers) throw new Error(`setup: ${made.errors} queueJob errors: ${made.errorSamples.join('; ')}`);
    log(`${name} callbacks: ${nUsers} users with one job each in ${setupSec.toFixed(1)} s`);

    const driver = await forkChild('bench/load/callbacks.ts', 'callbacks');
    children.push(driver);
    const workerToken = await signToken(secret, 'bench-worker', 'service_role');
    const procs = Math.min(8, Math.max(1, Math.ceil(maxS / 2500)));
    const clients: Child[] = [];
    for (let i = 0; i < procs; i++) clients.push(await forkChild('bench/load/ws-clients.ts', `ws-clients-${i}`));
    children.push(...clients);

    // The fleet's first callback for a job it took: every watched job is running before the
    // subscriptions open, as in production, where progress callbacks come from workers holding
    // their jobs. (A callback to a job nobody took would also take it from the queue, and the
    // position updates that sends to every other waiting job's subscriber are not this measurement.)
    const started = await driver.call<{ sent: Array<[number, number, number, number, number]>; errors: number; errorSamples: string[] }>(
      { cmd: 'run', url: server.url, token: workerToken, jobs: jobOf, rate: 400, durationMs: Math.ceil((nUsers / 400) * 1000), progressBase: 0, maxInflight: nUsers },
      nUsers * 50 + 120_000,
    );
    const notStarted = started.sent.filter((s) => s[3] !== 1).length + (nUsers - started.sent.length);
    if (started.errors > 0 || notStarted > 0) throw new Error(`setup: ${notStarted} jobs not started: ${started.errorSamples.join('; ')}`);
    let progressBase = 1;
    const levels: CallbackPhaseResult['levels'] = [];
    for (const S of [...o.subs].sort((a, b) => a - b)) {
      try {
        const level = await runLevel(S);
        levels.push(level);
        log(
          `${name} callbacks S=${S}: p50 ${level.latencyMs.p50} ms, p99 ${level.latencyMs.p99} ms, lost ${level.lostEvents}/${level.expectedEvents}, ` +
            `rate ${round(level.achievedRate, 1)}/s, rss ${level.serverRssMB} MB`,
        );
      } catch (err) {
        levels.push({ subscriptions: S, error: String(err) });
        log(`${name} callbacks S=${S}: ${String(err)}`);
        await Promise.all(clients.map((c) => c.call({ cmd: 'close' }).catch(() => {})));
      }
    }
    return { setup: { users: nUsers, jobs: made.acked.length, sec: round(setupSec, 1), errors: made.errors }, levels };

    async function runLevel(S: number): Promise<CallbackLevel> {
      const nJobSubs = Math.ceil(S / 2);
      const nMySubs = S - nJobSubs;
      // Interleave the kinds so every client process holds both.
      const specs: ConnSpec[] = [];
      for (let i = 0; i < nJobSubs; i++) {
        specs.push({ user: users[i]!, subs: [jobOf[i]!] });
        if (i < nMySubs) specs.push({ user: users[i]!, subs: [null] });
      }
      const share = (k: number) => specs.filter((_, i) => i % clients.length === k);
      const tOpen = performance.now();
      const opened = await Promise.all(
        clients.map((c, k) =>
          c.call<{ opened: number; failed: number; failures: string[] }>(
            { cmd: 'open', wsUrl: server.wsUrl, secret, conns: share(k), inflight: 64, timeoutMs: 60_000 },
            600_000,
          ),
        ),
      );
      const openSec = (performance.now() - tOpen) / 1000;
      const openFailed = opened.reduce((n, r) => n + r.failed, 0);
      if (openFailed > 0) log(`${name} callbacks S=${S}: ${openFailed} subscriptions failed to open: ${opened.flatMap((r) => r.failures).slice(0, 3).join('; ')}`);
      // myJobUpdates sends nothing when it becomes live: let the server finish its subscribe work.
      await waitQuiet(server.pid, { windowMs: 500, busyFraction: 0.2, timeoutMs: 15_000 });
      await sleep(500);
      const serverRssMB = round(server.rssKb() / 1024, 1);

      const cpu0 = server.cpuMs();
      const run = await driver.call<{
        sent: Array<[number, number, number, number, number]>;
        errors: number;
        errorSamples: string[];
        achievedRate: number;
      }>(
        {
          cmd: 'run',
          url: server.url,
          token: workerToken,
          jobs: jobOf.slice(0, nJobSubs),
          rate: o.rate,
          durationMs: o.cbDurationSec * 1000,
          progressBase,
        },
        o.cbDurationSec * 1000 + 120_000,
      );
      const serverCpuMsPerCallback = round((server.cpuMs() - cpu0) / Math.max(1, run.sent.length), 3);
      const rounds = Math.ceil(run.sent.length / nJobSubs);
      progressBase += rounds;

      // Drain: until every expected event arrived, or none arrived for 2 s (20 s at most).
      let expectedNow = 0;
      for (const [j, , , changed] of run.sent) if (changed) expectedNow += 1 + (j < nMySubs ? 1 : 0);
      let last = -1;
      let still = 0;
      for (let i = 0; i < 80; i++) {
        await sleep(250);
        const counts = await Promise.all(clients.map((c) => c.call<{ records: number }>({ cmd: 'stats' })));
        const total = counts.reduce((n, s) => n + s.records, 0);
        if (total >= expectedNow) break;
        still = total === last ? still + 1 : 0;
        if (still >= 8) break;
        last = total;
      }
      const stats = await Promise.all(
        clients.map((c) => c.call<{ errorsReceived: number; unexpectedCloses: number; errorSamples: string[] }>({ cmd: 'stats' })),
      );
      const received = (await Promise.all(clients.map((c) => c.call<Rec[]>({ cmd: 'collect' })))).flat();
      await Promise.all(clients.map((c) => c.call({ cmd: 'close' })));
      await waitQuiet(server.pid, { windowMs: 500, busyFraction: 0.2, timeoutMs: 15_000 });

      // Join: each changed callback on job j must reach j's jobUpdated subscriber,
      // and its owner's myJobUpdates subscriber when that user has one.
      const sentAt = new Map<string, number>();
      let expected = 0;
      const httpMs: number[] = [];
      for (const [j, progress, t, changed, ms] of run.sent) {
        httpMs.push(ms);
        if (!changed) continue;
        sentAt.set(`${jobOf[j]}:${progress}`, t);
        expected += 1 + (j < nMySubs ? 1 : 0);
      }
      const tFirst = run.sent.length ? run.sent[0]![2] : 0;
      const bySecond = new Map<number, number[]>();
      const seen = new Set<string>();
      const all: number[] = [];
      const byKind: [number[], number[]] = [[], []];
      let matched = 0;
      let duplicates = 0;
      for (const [job, progress, t, kind] of received) {
        const key = `${job}:${progress}`;
        const t0 = sentAt.get(key);
        if (t0 === undefined) continue;
        const k = `${key}:${kind}`;
        if (seen.has(k)) {
          duplicates++;
          continue;
        }
        seen.add(k);
        matched++;
        all.push(t - t0);
        byKind[kind as 0 | 1].push(t - t0);
        const sec = Math.floor((t0 - tFirst) / 1000);
        let list = bySecond.get(sec);
        if (!list) bySecond.set(sec, (list = []));
        list.push(t - t0);
      }
      return {
        subscriptions: S,
        connections: specs.length,
        clientProcesses: clients.length,
        openSec: round(openSec, 1),
        openFailed,
        serverRssMB,
        rate: o.rate,
        achievedRate: round(run.achievedRate, 1),
        callbacksSent: run.sent.length,
        callbackErrors: run.errors,
        callbackHttpMs: summarize(httpMs),
        expectedEvents: expected,
        receivedEvents: matched,
        lostEvents: expected - matched,
        duplicateEvents: duplicates,
        latencyMs: summarize(all),
        latencyByKind: { myJobUpdates: summarize(byKind[0]), jobUpdated: summarize(byKind[1]) },
        errorSamples: [...run.errorSamples, ...stats.flatMap((s) => s.errorSamples)].slice(0, 5),
        loadAvg1: round(os.loadavg()[0]!, 2),
        serverCpuMsPerCallback,
        perSecond: [...bySecond.entries()]
          .sort((a, b) => a[0] - b[0])
          .map(([sec, l]) => {
            const x = summarize(l);
            return [sec, x.n, x.p50, x.max] as [number, number, number, number];
          }),
      };
    }
  } finally {
    await Promise.all(children.map((c) => c.close()));
    if (!shared) await booted.close();
  }
}
