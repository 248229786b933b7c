import { existsSync, readFileSync } from 'node:fs';
import type { CallbackLevel, CallbackPhaseResult } from '../phases/callbacks.js';
import type { ColdStartResult } from '../phases/coldstart.js';
import type { PickupPhaseResult, PickupResult } from '../phases/pickup.js';
import type { QueuePhaseResult, TargetResult } from '../phases/queue.js';
import type { ScalePhaseResult } from '../phases/scale.js';
import type { WebhookPhaseResult } from '../phases/webhooks.js';
import type { BackendName } from './backends.js';
import type { Options } from './context.js';

type Failed = { error: string };

export interface BackendResults {
  queue?: QueuePhaseResult | Failed;
  callbacks?: CallbackPhaseResult | Failed;
  scale?: ScalePhaseResult | Failed;
  pickup?: PickupPhaseResult | Failed;
  coldstart?: ColdStartResult | Failed;
  webhooks?: WebhookPhaseResult | Failed;
}

export interface Target {
  id: string;
  backend: BackendName;
  target: string;
  measured: string;
  met: boolean | null;
}

export interface Results {
  name: string;
  smoke: boolean;
  date: string;
  finishedAt: string;
  totalSec: number;
  machine: {
    cores: number;
    cpuModel: string;
    memoryGB: number;
    node: string;
    platform: string;
    openFilesLimit: string;
    loadAverageAtStart: number[];
    /** Fraction of all CPUs busy in the second before the run started. */
    cpuBusyAtStart: number;
    loadAverageAtEnd: number[];
  };
  commands: { run: string; npm: string; servers: string[] };
  options: Omit<Options, 'only'> & { only: string[] };
  backends: Partial<Record<BackendName, BackendResults>>;
  targets: Target[];
  errors: string[];
}

const ok = <T extends object>(x: T | Failed | undefined | null): T | null => (x && !('error' in x) ? (x as T) : null);

export function evaluateTargets(r: Results): Target[] {
  const out: Target[] = [];
  for (const [name, b] of Object.entries(r.backends) as Array<[BackendName, BackendResults]>) {
    const q = ok<QueuePhaseResult>(b.queue);
    const product = ok<TargetResult>(q?.product);
    const baseline = ok<TargetResult>(q?.baseline);
    if (product) {
      const fit = product.levels.filter((l) => l.errors === 0 && l.latencyMs.p99 <= 50).sort((a, b) => b.rps - a.rps)[0];
      out.push({
        id: 'queue-throughput',
        backend: name,
        target: '≥ 2,000 queueJob/s with p99 ≤ 50 ms at the best concurrency' + (name === 'embedded' ? ' (target set for PostgreSQL + Redis; shown for reference)' : ''),
        measured: fit
          ? `${fit.rps.toFixed(0)}/s at c=${fit.concurrency} (p99 ${fit.latencyMs.p99} ms); peak ${product.best?.rps.toFixed(0)}/s at c=${product.best?.concurrency} (p99 ${product.best?.p99} ms)`
          : `no level with p99 ≤ 50 ms; peak ${product.best?.rps.toFixed(0)}/s at c=${product.best?.concurrency} (p99 ${product.best?.p99} ms)`,
        met: name === 'production' ? Boolean(fit && fit.rps >= 2000) : null,
      });
      const errors = product.levels.reduce((n, l) => n + l.errors, 0);
      const v = product.verification;
      out.push({
        id: 'queue-correctness',
        backend: name,
        target: '0 errors; every acknowledged job in the DB and in its queue exactly once',
        measured: `${errors} errors; ${'error' in v ? `verification failed: ${v.error}` : `${v.acknowledged} acknowledged, ${v.missingFromDatabase} missing from DB, ${v.missingFromQueue ?? 'n/a'} missing from queue, ${v.duplicatesInQueue ?? 'n/a'} duplicated, queue length ${v.queueLength}`}`,
        met: errors === 0 && !('error' in v) && v.ok,
      });
    }
    if (product?.pgbench && product.best) {
      const pg = product.pgbench;
      const atBest = product.pgbenchRatio?.atBest;
      const p = 'levels' in pg ? pg.levels.find((l) => l.concurrency === product.best!.concurrency) : undefined;
      out.push({
        id: 'queue-vs-pgbench',
        backend: name,
        target: '≥ 0.6 of pgbench running the product’s own queueJob SQL at the same concurrency',
        measured: 'error' in pg ? `pgbench failed: ${pg.error}` : `${atBest?.toFixed(2)} at c=${product.best.concurrency} (${product.best.rps.toFixed(0)}/s vs pgbench ${p?.tps.toFixed(0)} jobs/s)`,
        met: 'error' in pg || atBest === null || atBest === undefined ? false : atBest >= 0.6,
      });
    }
    if (product?.best && baseline?.best && q?.ratio) {
      out.push({
        id: 'queue-vs-baseline',
        backend: name,
        target: '≥ 0.7 of the bare baseline’s throughput' + (name === 'embedded' ? ' (reference)' : ''),
        measured: `${q.ratio.best.toFixed(2)} (${product.best.rps.toFixed(0)}/s vs ${baseline.best.rps.toFixed(0)}/s, best levels)`,
        met: name === 'production' ? q.ratio.best >= 0.7 : null,
      });
    }
    const cb = ok<CallbackPhaseResult>(b.callbacks);
    const big = cb?.levels.map((l) => ok<CallbackLevel>(l)).filter((l): l is CallbackLevel => l !== null).sort((a, c) => c.subscriptions - a.subscriptions)[0];
    if (big) {
      out.push({
        id: 'callback-latency',
        backend: name,
        target: 'callback → subscriber p99 ≤ 20 ms with 10,000 subscriptions at 200 callbacks/s; 0 events lost',
        measured: `p99 ${big.latencyMs.p99} ms (p50 ${big.latencyMs.p50}) with ${big.subscriptions} subscriptions at ${big.achievedRate}/s; ${big.lostEvents} of ${big.expectedEvents} lost`,
        met: big.subscriptions >= 10_000 && big.rate >= 200 ? big.latencyMs.p99 <= 20 && big.lostEvents === 0 : null,
      });
    }
    const sc = ok<ScalePhaseResult>(b.scale);
    if (sc?.maxHeld) {
      const m = sc.maxHeld;
      out.push({
        id: 'idle-subscriptions',
        backend: name,
        target: '≥ 20,000 idle subscriptions in one process within 500 MB RSS',
        measured: `${m.subscriptions} subscriptions on ${m.connections} connections, RSS ${m.rssMB} MB (${m.perSubKB} KB each)`,
        met: m.subscriptions >= 20_000 ? m.rssMB <= 500 : null,
      });
    }
    const wh = ok<WebhookPhaseResult>(b.webhooks);
    if (wh) {
      out.push({
        id: 'webhook-latency',
        backend: name,
        target: 'completed callback → webhook receiver first byte p99 ≤ 100 ms, 1,000 webhooked jobs completing at 50/s; 0 lost',
        measured: `p99 ${wh.latencyMs.p99} ms (p50 ${wh.latencyMs.p50}) over ${wh.jobs} jobs at ${wh.achievedRate}/s; ${wh.lost} lost, ${wh.duplicates} duplicated`,
        met: wh.jobs >= 1000 && wh.rate >= 50 ? wh.latencyMs.p99 <= 100 && wh.lost === 0 : null,
      });
    }
    const cs = ok<ColdStartResult>(b.coldstart);
    if (cs) {
      const sec = (ms: number) => (ms / 1000).toFixed(2);
      out.push({
        id: 'cold-start',
        backend: name,
        target: `spawn → /ready ≤ 1 s on an existing ${name === 'embedded' ? 'DATA_DIR' : 'database'}`,
        measured: `median /health ${sec(cs.health.p50)} s, /ready ${sec(cs.ready.p50)} s, first queueJob answered ${sec(cs.firstQueueJob.p50)} s over ${cs.runs.length} runs`,
        met: cs.ready.p50 <= 1000,
      });
      if (cs.firstBoot && name === 'embedded') {
        out.push({
          id: 'first-boot',
          backend: name,
          target: 'spawn → /ready ≤ 3 s on a first boot (empty DATA_DIR)',
          measured:
            `/ready ${sec(cs.firstBoot.readyMs)} s (from the build's cached template)` +
            (cs.pgliteInitMs ? `; PGlite's own initialisation without a template: ${sec(cs.pgliteInitMs)} s, paid once by the build` : ''),
          met: cs.firstBoot.readyMs <= 3000,
        });
      }
    }
  }
  return out;
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function md(head: string[], rows: Array<Array<string | number>>): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

const met = (m: boolean | null) => (m === null ? '—' : m ? 'met' : '**missed**');

interface Section {
  title: string;
  head: string[];
  rows: Array<Array<string | number>>;
  notes: string[];
}

function sections(r: Results): Section[] {
  const out: Section[] = [];
  for (const [name, b] of Object.entries(r.backends) as Array<[BackendName, BackendResults]>) {
    if (b.queue) {
      const q = b.queue;
      if ('error' in q) out.push({ title: `queueJob (${name})`, head: ['error'], rows: [[q.error]], notes: [] });
      else {
        const rows: Array<Array<string | number>> = [];
        const notes: string[] = [];
        const targets: Array<[string, TargetResult | Failed | undefined]> = [
          ['product (GraphQL)', q.product],
          ['baseline (node:http)', q.baseline],
          ...Object.entries(q.experiments ?? {}).map(([k, v]): [string, TargetResult | Failed] => [`experiment: ${k}`, v]),
        ];
        for (const [label, t] of targets) {
          if (!t) continue;
          if ('error' in t) {
            rows.push([label, 'error', t.error.slice(0, 120), '', '', '', '', '', '', '', '']);
            continue;
          }
          for (const l of t.levels) {
            const ratio = label.startsWith('product') ? q.ratio?.perConcurrency.find((x) => x.concurrency === l.concurrency)?.ratio : undefined;
            const cpu = l.cpuMsPerRequest;
            rows.push([label, l.concurrency, l.rps.toFixed(0), l.latencyMs.p50, l.latencyMs.p95, l.latencyMs.p99, l.errors, cpu ? cpu.server.toFixed(2) : '', cpu && name === 'production' ? cpu.postgres.toFixed(2) : '', l.loadAvg1 ?? '', ratio === undefined ? '' : ratio.toFixed(2)]);
          }
          if (t.pgbench && 'error' in t.pgbench) rows.push(['pgbench (product SQL)', 'error', t.pgbench.error.slice(0, 120), '', '', '', '', '', '', '', '']);
          else if (t.pgbench) {
            for (const l of t.pgbench.levels) {
              const ratio = t.pgbenchRatio?.perConcurrency.find((x) => x.concurrency === l.concurrency)?.ratio;
              rows.push([l.clients === l.concurrency ? 'pgbench (product SQL)' : `pgbench (product SQL, ${l.clients} clients)`, l.concurrency, l.tps.toFixed(0), `avg ${l.latencyAvgMs}`, '', '', l.failed, '', '', '', ratio === undefined ? '' : `product/pgbench ${ratio.toFixed(2)}`]);
            }
            notes.push(`pgbench (product SQL): \`${t.pgbench.command}\` on the run's database right after the product's levels, one job per transaction (bench/lib/pgbench.ts); its rows' last column is the product's req/s ÷ pgbench's jobs/s at that concurrency`);
          }
          const v = t.verification;
          notes.push(
            'error' in v
              ? `${label}: verification failed to run: ${v.error}`
              : `${label}: ${v.ok ? 'verified' : '**verification failed**'} — ${v.acknowledged} acknowledged jobs, ${v.inDatabase} rows, ${v.missingFromDatabase} missing from DB, ` +
                  `${v.unacknowledgedRows} unacknowledged rows, queue length ${v.queueLength}` +
                  (v.missingFromQueue !== null ? `, ${v.missingFromQueue} missing from queue, ${v.duplicatesInQueue} duplicated` : '') +
                  (v.sampled ? `, ${v.sampled.popped} popped via /rpop: ${v.sampled.distinct} distinct, ${v.sampled.acknowledged} acknowledged` : '') +
                  ` (${v.method})`,
          );
        }
        if (q.ratio) notes.push(`product/baseline at each one's best concurrency: ${q.ratio.best.toFixed(2)}`);
        out.push({ title: `1–2. queueJob throughput (${name})`, head: ['target', 'conc.', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'server CPU ms/req', 'PG CPU ms/req', 'load avg', 'product/baseline'], rows, notes });
      }
    }
    if (b.callbacks) {
      const c = b.callbacks;
      if ('error' in c) out.push({ title: `callback → subscriber (${name})`, head: ['error'], rows: [[c.error]], notes: [] });
      else
        out.push({
          title: `3. callback → subscriber latency (${name})`,
          head: ['subs', 'rate/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'expected', 'lost', 'cb HTTP p50/p99 ms', 'server CPU ms/cb', 'server RSS MB', 'open s', 'load avg'],
          rows: c.levels.map((l) =>
            'error' in l
              ? [l.subscriptions, 'error', l.error.slice(0, 100), '', '', '', '', '', '', '', '', '', '']
              : [l.subscriptions, l.achievedRate, l.latencyMs.p50, l.latencyMs.p95, l.latencyMs.p99, l.latencyMs.max, l.expectedEvents, l.lostEvents, `${l.callbackHttpMs.p50} / ${l.callbackHttpMs.p99}`, l.serverCpuMsPerCallback, l.serverRssMB, l.openSec, l.loadAvg1],
          ),
          notes: [`setup: ${c.setup.users} users with one job each, started by a first processing callback before the subscriptions open (${c.setup.sec} s)`],
        });
    }
    if (b.scale) {
      const s = b.scale;
      if ('error' in s) out.push({ title: `idle subscriptions (${name})`, head: ['error'], rows: [[s.error]], notes: [] });
      else
        out.push({
          title: `4. idle subscriptions (${name})`,
          head: ['subscriptions', 'connections', 'RSS MB', 'KB/subscription', 'idle CPU % of a core', 'failed', 'step s'],
          rows: s.steps.map((x) => [x.subscriptions, x.connections, x.rssMB, x.perSubKB, x.idleCpuPct, x.failed, x.openSec]),
          notes: [`RSS with no subscriptions: ${s.rssIdleMB} MB; open-files limit ${s.fdLimit} (socket cap ${s.socketCap}); stopped: ${s.stoppedBecause}`, ...s.errorSamples.map((e) => `error sample: ${e}`)],
        });
    }
    if (b.pickup) {
      const p = b.pickup;
      if ('error' in p) out.push({ title: `pickup (${name})`, head: ['error'], rows: [[p.error]], notes: [] });
      else {
        const row = (label: string, x: PickupResult | Failed | null) =>
          x === null ? [label, 'n/a (no Redis on the embedded defaults)', '', '', '', ''] : 'error' in x ? [label, 'error', x.error.slice(0, 100), '', '', ''] : [label, x.samples, x.latencyMs.p50, x.latencyMs.p99, x.latencyMs.min, x.missing];
        out.push({
          title: `5. pickup latency (${name})`,
          head: ['consumer', 'samples', 'p50 ms', 'p99 ms', 'min ms', 'missing'],
          rows: [row(`/rpop polling every ${p.pollIntervalMs} ms`, p.rpop), row('Redis BRPOP', p.brpop)],
          notes: [],
        });
      }
    }
    if (b.coldstart) {
      const c = b.coldstart;
      if ('error' in c) out.push({ title: `cold start (${name})`, head: ['error'], rows: [[c.error]], notes: [] });
      else {
        const sec = (ms: number) => (ms / 1000).toFixed(2);
        const rows: Array<Array<string | number>> = [];
        if (c.firstBoot) rows.push([name === 'embedded' ? 'first boot (empty DATA_DIR)' : 'first boot (empty database)', 1, sec(c.firstBoot.healthMs), sec(c.firstBoot.readyMs), sec(c.firstBoot.firstQueueJobMs)]);
        rows.push([
          `${name === 'embedded' ? 'existing DATA_DIR' : 'existing database'} (median; min–max)`,
          c.runs.length,
          `${sec(c.health.p50)} (${sec(c.health.min)}–${sec(c.health.max)})`,
          `${sec(c.ready.p50)} (${sec(c.ready.min)}–${sec(c.ready.max)})`,
          `${sec(c.firstQueueJob.p50)} (${sec(c.firstQueueJob.min)}–${sec(c.firstQueueJob.max)})`,
        ]);
        out.push({ title: `6. cold start (${name})`, head: ['case', 'runs', 'spawn → /health 200, s', 'spawn → /ready 200, s', 'spawn → first queueJob answered, s'], rows, notes: [] });
      }
    }
  }
  for (const [name, b] of Object.entries(r.backends) as Array<[BackendName, BackendResults]>) {
    const w = b.webhooks;
    if (!w) continue;
    if ('error' in w) {
      out.push({ title: `7. completed callback → webhook receiver (${name})`, head: ['error'], rows: [[w.error]], notes: [] });
      continue;
    }
    out.push({
      title: `7. completed callback → webhook receiver (${name})`,
      head: ['jobs', 'rate, /s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'lost', 'duplicated', 'callback HTTP p99 ms', 'load avg'],
      rows: [[w.jobs, w.achievedRate, w.latencyMs.p50, w.latencyMs.p95, w.latencyMs.p99, w.latencyMs.max, w.lost, w.duplicates, w.callbackHttpMs.p99, w.loadAvg1]],
      notes: w.callbackErrors ? [`${w.callbackErrors} callbacks failed`] : [],
    });
  }
  return out;
}

export function printReport(r: Results): string {
  const parts = [
    `\nBenchmarks "${r.name}" — ${r.machine.cores} cores, ${r.date}, ${r.totalSec} s\n`,
    table(
      ['target', 'backend', 'measured', 'result'],
      r.targets.map((t) => [t.id, t.backend, t.measured, t.met === null ? '—' : t.met ? 'met' : 'MISSED']),
    ),
  ];
  for (const s of sections(r)) {
    parts.push(`\n${s.title}\n${table(s.head, s.rows)}`);
    for (const n of s.notes) parts.push(`  ${n.replaceAll('**', '')}`);
  }
  if (r.errors.length) parts.push(`\nerrors:\n${r.errors.map((e) => `  ${e}`).join('\n')}`);
  return parts.join('\n') + '\n';
}

export const ANALYSIS_MARKER = '<!-- Everything below this line is written by hand and kept when `npm run bench` rewrites this file. -->';

export function markdown(r: Results, existingPath: string, resultsPath: string): string {
  const kept = existsSync(existingPath) ? readFileSync(existingPath, 'utf8').split(ANALYSIS_MARKER)[1] : undefined;
  const m = r.machine;
  const lines: string[] = [
    '# Benchmarks',
    '',
    `Figures from \`npm run bench\` (raw results: \`${resultsPath}\`), measured on ${r.date.slice(0, 10)} ` +
      `(${r.date}), total run time ${Math.round(r.totalSec)} s.`,
    '',
    `- Machine: **${m.cores} cores** (\`os.cpus().length\`), ${m.cpuModel}, ${m.memoryGB} GB RAM, Node ${m.node}, ${m.platform}; open-files limit ${m.openFilesLimit}.`,
    `- Server, PostgreSQL 15, Redis and every load-generator process share those cores. CPU ${Math.round(m.cpuBusyAtStart * 100)}% busy just before the run; load average at start ${m.loadAverageAtStart.join(' / ')}, at end ${m.loadAverageAtEnd.join(' / ')}` +
      ' (other work on the machine makes the figures pessimistic; each queueJob and callback level records the 1-minute load average as `loadAvg1` in the JSON).',
    '',
    '## Commands',
    '',
    '```sh',
    r.commands.npm,
    `# which runs: ${r.commands.run}`,
    '```',
    '',
    'Servers started by the run (each on fresh backends: a new temp `DATA_DIR`, or a database created for it and dropped after plus a random `REDIS_KEY_PREFIX`; storage is local disk in both modes, which no measurement touches):',
    '',
    '```sh',
    ...r.commands.servers,
    '```',
    '',
    '## Targets',
    '',
    md(
      ['target', 'backend', 'measured', 'result'],
      r.targets.map((t) => [t.target, t.backend, t.measured, met(t.met)]),
    ),
    '',
  ];
  for (const s of sections(r)) {
    lines.push(`## ${s.title}`, '', md(s.head, s.rows), '');
    for (const n of s.notes) lines.push(`- ${n}`);
    if (s.notes.length) lines.push('');
  }
  if (r.errors.length) lines.push('## Errors during the run', '', ...r.errors.map((e) => `- ${e}`), '');
  lines.push(
    '## How each figure is measured',
    '',
    '1. **queueJob**: `bench/load/http-load.ts` (a separate process, node:http keep-alive) runs `concurrency` virtual users, each its own user (random UUID `sub`, HS256 token), each sending `queueJob(sdxl_image_fast, numImages 1)` as soon as its previous answer arrived, for the duration per level, after a warm-up. Latency is per request at the client. Afterwards the acknowledged job ids are checked against `SELECT id FROM jobs` and the queue (`LRANGE` on Redis; on the embedded defaults `GET /llen`, 200 entries popped through `/rpop`, and the PGlite directory read after the server stopped).',
    '2. **Baseline**: `bench/baseline.ts`, a plain node:http handler with the same token check (jose, HS256), the same payload, the same drizzle transaction through the same driver set-up (`src/db/client.ts`: user upsert, conditional debit, job row, image row, usage log) and the same LPUSH (ioredis, or an in-process list), measured by the same load generator in the same run. It does not do what the product adds: GraphQL, the content-policy check, the active-job limit (advisory lock and count), the queue length count and the two PUBLISHes; and it writes each job alone where the product groups concurrent calls into one transaction. **pgbench** (PostgreSQL + Redis): the statements the product sends for one job (`groupStatements` in `src/resolvers/queueCommit.ts`, filled from a job the product wrote in the run: BEGIN, the per-user advisory lock, the debit/job/image/usage-log statement, the queue-length count, COMMIT) run by `pgbench -M prepared` on the run\'s database at the same concurrencies (clients capped by PostgreSQL\'s free connections), right after the product\'s levels (`bench/lib/pgbench.ts`).',
    '3. **Callback → subscriber**: S graphql-ws subscriptions, half `jobUpdated(id)` and half `myJobUpdates`, one per connection, each connection its own user with one job that a worker has started (its first `processing` callback is sent before the subscriptions open, as the fleet sends it on taking the job), spread over client processes (`bench/load/ws-clients.ts`). `bench/load/callbacks.ts` sends `processing` callbacks with rising `progress` at a fixed rate (open loop) to the watched jobs and records the send time of each (job, progress); clients record receipt times (`performance.timeOrigin + performance.now()`, the same clock across processes); the two are joined. Every callback changes its job, so it must reach that job\'s `jobUpdated` subscriber and its owner\'s `myJobUpdates` subscriber: lost = expected − received.',
    '4. **Idle subscriptions**: connections opened in steps (one subscription each, alternating `jobUpdated` on a pool of jobs and `myJobUpdates` of a fresh user), VmRSS of the server read from `/proc/<pid>/status` after the server goes idle. Beyond the server\'s open-files limit, further steps add a second subscription on connections already open.',
    '5. **Pickup**: one job at a time with random gaps; time from the client receiving queueJob\'s answer to the worker process holding the payload, via `/rpop` polling (at once again after a hit, the poll interval after a miss; the real fleet waits ~2 s, which adds ~1 s on average) and via a direct Redis `BRPOP`. Negative values: the worker had it before the client had its answer.',
    '6. **Cold start**: `spawn()` of the production command `node dist/server.js` (compiled by `npm run build`, run before timing) until the first `GET /health` 200, polled every 5 ms; then until `GET /ready` 200 (the server listens, and answers /health, before its app has started: /ready is when it can serve), and until a first queueJob sent right then is answered. The first boot starts on an empty DATA_DIR, which the server fills from the initialised PGlite template the build caches; PGlite\'s own initialisation without it is timed apart.',
    '7. **Webhooks**: N users each queue one `sdxl_image_fast` job with a `webhook` to a node:http receiver on loopback in the bench process (`WEBHOOK_ALLOW_PRIVATE=true`); the bench then sends their `completed` callbacks open-loop at the given rate and records, per job, the time just before the callback left and the time the receiver\'s server saw the delivery\'s request (headers parsed). Lost = jobs whose delivery never arrived within 30 s of the last callback.',
    '',
    ANALYSIS_MARKER,
    kept ?? '\n## Analysis\n\n(none yet)\n',
  );
  return lines.join('\n');
}
