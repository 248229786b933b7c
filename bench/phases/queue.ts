/**
 * Measurements 1 and 2: queueJob throughput and latency at fixed
 * concurrencies for a fixed time, through the product (GraphQL) and through
 * the bare baseline (bench/baseline.ts), each on fresh backends; afterwards a
 * check that every acknowledged job is in the database and in its queue
 * exactly once.
 */
import os from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { BackendName } from '../lib/backends.js';
import { boot, type Booted, type Ctx } from '../lib/context.js';
import { getJson, request } from '../lib/http.js';
import { cpuMs, cpuMsOfCommands, forkChild } from '../lib/proc.js';
import { log, round, signToken, summarize, uuid, type Summary } from '../lib/util.js';
import type { RunResult } from '../load/http-load.js';
import { pgbenchScript, runPgbench, type PgbenchResult } from '../lib/pgbench.js';

export interface LevelResult {
  concurrency: number;
  durationSec: number;
  ok: number;
  errors: number;
  rps: number;
  latencyMs: Summary;
  errorSamples: string[];
  /** 1-minute load average when the level ended (other work on the machine shows here). */
  loadAvg1: number;
  /**
   * CPU time per successful request (utime+stime from /proc): of the server
   * process, of the PostgreSQL backends serving its database, of redis-server
   * (shared with anything else using it), of the load generator. Less
   * sensitive to other work on the machine than req/s.
   */
  cpuMsPerRequest: { server: number; postgres: number; redis: number; loadGenerator: number };
}

export interface Verification {
  method: string;
  acknowledged: number;
  inDatabase: number;
  missingFromDatabase: number;
  /** Job rows without an acknowledgement (e.g. a request that timed out after committing). */
  unacknowledgedRows: number;
  queueLength: number | null;
  missingFromQueue: number | null;
  duplicatesInQueue: number | null;
  /** Entries popped through /rpop to spot-check the in-process queue's contents. */
  sampled?: { popped: number; distinct: number; acknowledged: number };
  ok: boolean;
}

export interface TargetResult {
  /** Latency of the very first request to the fresh process. */
  firstRequestMs: number;
  warmup: { ok: number; errors: number; durationSec: number };
  levels: LevelResult[];
  best: { concurrency: number; rps: number; p99: number } | null;
  verification: Verification | { error: string };
  /**
   * PostgreSQL + Redis, product only: pgbench running the product's own queueJob SQL (one job per
   * transaction, bench/lib/pgbench.ts) on the run's database at the same concurrencies, right after.
   */
  pgbench?: PgbenchResult | { error: string };
  /** Product req/s ÷ pgbench jobs/s, per concurrency and at the product's best level. */
  pgbenchRatio?: { perConcurrency: Array<{ concurrency: number; ratio: number }>; atBest: number | null };
}

export interface QueuePhaseResult {
  product?: TargetResult | { error: string };
  baseline?: TargetResult | { error: string };
  /** Opt-in baseline variants (`--baseline-variants`): what a change to the work would be worth. */
  experiments?: Record<string, TargetResult | { error: string }>;
  /** product rps / baseline rps, per concurrency and at each one's best. */
  ratio?: { perConcurrency: Array<{ concurrency: number; ratio: number }>; best: number } | null;
}

const JOB_TYPE = 'sdxl_image_fast';
const QUEUE = 'sdxl_queue';

export async function queuePhase(ctx: Ctx, name: BackendName): Promise<QueuePhaseResult> {
  const out: QueuePhaseResult = {};
  const o = ctx.opts;
  if (o.only.has('queue')) {
    out.product = await measure(ctx, name, 'graphql').catch((err: unknown) => ({ error: String(err) }));
  }
  if (o.only.has('baseline')) {
    out.baseline = await measure(ctx, name, 'baseline').catch((err: unknown) => ({ error: String(err) }));
  }
  for (const variant of o.baselineVariants) {
    out.experiments ??= {};
    out.experiments[`baseline-${variant}`] = await measure(ctx, name, 'baseline', variant).catch((err: unknown) => ({ error: String(err) }));
  }
  const p = out.product && 'levels' in out.product ? out.product : null;
  const b = out.baseline && 'levels' in out.baseline ? out.baseline : null;
  if (p && b && p.best && b.best) {
    out.ratio = {
      perConcurrency: p.levels.map((l) => {
        const base = b.levels.find((x) => x.concurrency === l.concurrency);
        return { concurrency: l.concurrency, ratio: base && base.rps > 0 ? round(l.rps / base.rps, 3) : NaN };
      }),
      best: round(p.best.rps / b.best.rps, 3),
    };
  }
  return out;
}

async function measure(ctx: Ctx, name: BackendName, target: 'graphql' | 'baseline', variant?: string): Promise<TargetResult> {
  const o = ctx.opts;
  const label = target === 'graphql' ? 'queue-product' : variant ? `queue-baseline-${variant}` : 'queue-baseline';
  const booted = await boot(ctx, name, {
    label,
    script: target === 'graphql' ? ctx.opts.serverScript : 'bench/baseline.ts',
    profile: true,
    env: variant ? { BASELINE_VARIANT: variant } : undefined,
  });
  const loader = await forkChild('bench/load/http-load.ts', 'http-load');
  const acked: string[] = [];
  try {
    const maxC = Math.max(...o.concurrency);
    const tokens = await Promise.all(Array.from({ length: maxC }, () => signToken(ctx.settings.jwtSecret, uuid())));
    const base = { url: booted.server.url, target, tokens, jobType: JOB_TYPE };

    // A fresh process answers its first request slowly (JIT, first queries, lazy
    // set-up); the warm-up's clock starts after that first answer.
    const first = await loader.call<RunResult>({ cmd: 'run', ...base, concurrency: 1, maxRequests: 1 });
    const warm = await loader.call<RunResult>({ cmd: 'run', ...base, concurrency: Math.min(16, maxC), durationMs: o.warmupSec * 1000 });
    for (const [, id] of first.acked) acked.push(id);
    for (const [, id] of warm.acked) acked.push(id);
    log(`${name} ${target}: first request ${round(first.elapsedMs)} ms; warm-up ${warm.ok} jobs in ${round(warm.elapsedMs / 1000, 1)} s`);

    const levels: LevelResult[] = [];
    for (const c of o.concurrency) {
      // PostgreSQL: the backends serving this run's database (its name is in their process title).
      const db = booted.backend.databaseUrl ? new URL(booted.backend.databaseUrl).pathname.slice(1) : '\0none';
      const cpuNow = () => [booted.server.cpuMs(), cpuMsOfCommands(['postgres'], db), cpuMsOfCommands(['redis-server']), cpuMs(loader.pid)];
      const cpu0 = cpuNow();
      const r = await loader.call<RunResult>(
        { cmd: 'run', ...base, concurrency: c, durationMs: o.durationSec * 1000 },
        o.durationSec * 1000 + 120_000,
      );
      const cpu1 = cpuNow();
      const per = (i: number) => round((cpu1[i]! - cpu0[i]!) / Math.max(1, r.ok), 3);
      for (const [, id] of r.acked) acked.push(id);
      const level: LevelResult = {
        concurrency: c,
        durationSec: round(r.elapsedMs / 1000, 2),
        ok: r.ok,
        errors: r.errors,
        rps: round(r.ok / (r.elapsedMs / 1000), 1),
        latencyMs: summarize(r.latMs),
        errorSamples: r.errorSamples,
        loadAvg1: round(os.loadavg()[0]!, 2),
        cpuMsPerRequest: { server: per(0), postgres: per(1), redis: per(2), loadGenerator: per(3) },
      };
      levels.push(level);
      log(
        `${name} ${variant ? `${target}-${variant}` : target} c=${c}: ${level.rps} req/s, p50 ${level.latencyMs.p50} ms, p99 ${level.latencyMs.p99} ms, errors ${level.errors}; ` +
          `CPU ms/req server ${level.cpuMsPerRequest.server}, postgres ${level.cpuMsPerRequest.postgres}, redis ${level.cpuMsPerRequest.redis}, load gen ${level.cpuMsPerRequest.loadGenerator}; load ${level.loadAvg1}`,
      );
    }
    const clean = levels.filter((l) => l.errors === 0 && l.ok > 0);
    const bestLevel = clean.sort((a, b) => b.rps - a.rps)[0];
    const best = bestLevel ? { concurrency: bestLevel.concurrency, rps: bestLevel.rps, p99: bestLevel.latencyMs.p99 } : null;

    const verification = await verify(ctx, booted, target, acked).catch((err: unknown) => ({ error: String(err) }));
    const out: TargetResult = {
      firstRequestMs: round(first.elapsedMs),
      warmup: { ok: warm.ok, errors: warm.errors, durationSec: round(warm.elapsedMs / 1000) },
      levels: o.concurrency.map((c) => levels.find((l) => l.concurrency === c)!),
      best,
      verification,
    };
    if (target === 'graphql' && booted.backend.databaseUrl && acked.length > 0) {
      // The server stops first: pgbench has the machine (and the database, with the run's rows) to itself.
      await booted.server.stop();
      const url = booted.backend.databaseUrl;
      const pg = await pgbenchScript(url, acked[acked.length - 1]!, 1_000_000_000)
        .then((script) => runPgbench(url, script, o.concurrency, o.durationSec))
        .catch((err: unknown) => ({ error: String(err) }));
      out.pgbench = pg;
      if ('levels' in pg) {
        for (const l of pg.levels) log(`${name} pgbench (the product's queueJob SQL) c=${l.concurrency}: ${l.tps} jobs/s, latency avg ${l.latencyAvgMs} ms, failed ${l.failed}`);
        const perConcurrency = levels.map((l) => {
          const p = pg.levels.find((x) => x.concurrency === l.concurrency);
          return { concurrency: l.concurrency, ratio: p && p.tps > 0 ? round(l.rps / p.tps, 3) : NaN };
        });
        out.pgbenchRatio = { perConcurrency, atBest: best ? (perConcurrency.find((x) => x.concurrency === best.concurrency)?.ratio ?? null) : null };
      } else log(`${name} pgbench failed: ${pg.error}`);
    }
    return out;
  } finally {
    await loader.close();
    await booted.close();
  }
}

function compare(method: string, acked: string[], dbIds: string[], queueIds: string[] | null, queueLength: number | null): Verification {
  const db = new Set(dbIds);
  const ackedSet = new Set(acked);
  const missingFromDatabase = acked.filter((id) => !db.has(id)).length;
  const unacknowledgedRows = dbIds.filter((id) => !ackedSet.has(id)).length;
  let missingFromQueue: number | null = null;
  let duplicatesInQueue: number | null = null;
  if (queueIds) {
    const counts = new Map<string, number>();
    for (const id of queueIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    missingFromQueue = acked.filter((id) => !counts.has(id)).length;
    duplicatesInQueue = [...counts.values()].filter((n) => n > 1).length;
  }
  const lengthOk = queueLength === null || queueLength === acked.length;
  return {
    method,
    acknowledged: acked.length,
    inDatabase: dbIds.length,
    missingFromDatabase,
    unacknowledgedRows,
    queueLength,
    missingFromQueue,
    duplicatesInQueue,
    ok:
      acked.length === ackedSet.size &&
      missingFromDatabase === 0 &&
      (missingFromQueue ?? 0) === 0 &&
      (duplicatesInQueue ?? 0) === 0 &&
      lengthOk,
  };
}

async function verify(ctx: Ctx, booted: Booted, target: 'graphql' | 'baseline', acked: string[]): Promise<Verification> {
  const { backend, server } = booted;
  if (backend.name === 'production') {
    const sql = postgres(backend.databaseUrl!, { max: 1, onnotice: () => {} });
    const redis = new Redis(ctx.settings.redisUrl);
    try {
      const rows = await sql<{ id: string }[]>`select id from jobs`;
      const entries = await redis.lrange(`${backend.redisPrefix}${QUEUE}`, 0, -1);
      const ids = entries.map((p) => (JSON.parse(p) as { id: string }).id);
      if (target === 'baseline') {
        return compare('SELECT id FROM jobs; LRANGE <prefix>sdxl_queue 0 -1', acked, rows.map((r) => r.id), ids, entries.length);
      }
      // The product: jobs wait in the database (the queue of record); the Redis list is only the
      // short window of the fair order's head. Every acknowledged job must wait untaken in the
      // database, and the list must hold acknowledged jobs only, each once.
      const waiting = await sql<{ id: string }[]>`select id from jobs where status = 'queued' and picked_at is null`;
      const v = compare('SELECT id FROM jobs; waiting untaken; LRANGE <prefix>sdxl_queue 0 -1 (the window)', acked, rows.map((r) => r.id), null, null);
      const ackedSet = new Set(acked);
      const waitingSet = new Set(waiting.map((r) => r.id));
      v.queueLength = entries.length;
      v.missingFromQueue = acked.filter((id) => !waitingSet.has(id)).length;
      v.duplicatesInQueue = ids.length - new Set(ids).size;
      v.ok = v.ok && v.missingFromQueue === 0 && v.duplicatesInQueue === 0 && ids.every((id) => ackedSet.has(id));
      return v;
    } finally {
      await sql.end();
      redis.disconnect();
    }
  }
  if (target === 'baseline') {
    const v = await getJson<{ db: string[]; queue: string[] }>(`${server.url}/verify`);
    return compare('baseline GET /verify (its DB rows and in-process list)', acked, v.db, v.queue, v.queue.length);
  }
  // Embedded product: the queue lives in the server process. LLEN through the
  // worker endpoint, a sample popped through /rpop, then the server stops and
  // its PGlite directory is read from here.
  const worker = await signToken(ctx.settings.jwtSecret, 'bench-worker', 'service_role');
  const auth = { authorization: `Bearer ${worker}` };
  const llen = (await getJson<{ result: number }>(`${server.url}/llen/${QUEUE}`, auth)).result;
  const ackedSet = new Set(acked);
  const popped: string[] = [];
  const sampleSize = Math.min(200, llen);
  for (let i = 0; i < sampleSize; i++) {
    const answer = await request(false, new URL(`${server.url}/rpop/${QUEUE}`), 'GET', auth);
    const result = (JSON.parse(answer.text) as { result: string | null }).result;
    if (result === null) break;
    popped.push((JSON.parse(result) as { id: string }).id);
  }
  await server.stop();
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create(join(backend.dataDir, 'pglite'));
  let ids: string[];
  try {
    ids = (await pg.query<{ id: string }>('select id from jobs')).rows.map((r) => r.id);
  } finally {
    await pg.close();
  }
  const v = compare('GET /llen/sdxl_queue; 200 entries popped via /rpop; SELECT id FROM jobs after stop', acked, ids, null, llen);
  const distinct = new Set(popped).size;
  const ackedPopped = popped.filter((id) => ackedSet.has(id)).length;
  v.sampled = { popped: popped.length, distinct, acknowledged: ackedPopped };
  v.ok = v.ok && distinct === popped.length && ackedPopped === popped.length && ids.length === acked.length;
  return v;
}
