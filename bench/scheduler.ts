/**
 * Scheduler benchmarks (issue: fair queues, attempts, position and ETA), on
 * PostgreSQL + Redis, against real server processes:
 *
 *   pop      /rpop latency p50/p99 with 100 and with 100,000 waiting jobs from
 *            1,000 users, one instance and two instances popping at once
 *   fairness Jain's fairness index of running share among users with waiting
 *            work, 10 users of unequal demand (1..200 jobs), a fixed fleet;
 *            and the same run under plain FIFO (simulated, same arrivals)
 *   eta      median |estimatedStartAt (at queue time) - actual start| / actual
 *            wait, on a simulated fleet (sim/ worker processes)
 *
 * node --import tsx bench/scheduler.ts [--only pop,fairness,eta] [--pop-window 4,0] [--out bench/results/scheduler.json]
 * Figures go to bench/results/scheduler.json; BENCHMARKS.md quotes them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { createAuth } from '../src/auth/tokens.js';
import { productionBackend, type Backend } from './lib/backends.js';
import { freePort, killAllStarted, ROOT, startServer, type ServerProc } from './lib/proc.js';

const args = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : def;
};
const only = new Set(flag('only', 'pop,fairness,eta').split(','));
const out = flag('out', 'bench/results/scheduler.json');
/** QUEUE_WINDOW_SIZE of the pop measurement's servers: the default 4, or 0 (a fleet that only uses /rpop). */
const popWindows = flag('pop-window', '4').split(',');
const JWT_SECRET = 'bench-secret-for-the-scheduler-benchmarks-0123456789';
const settings = {
  pgAdminUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  runDir: mkdtempSync(join(tmpdir(), 'genjob-bench-sched-')),
  jwtSecret: JWT_SECRET,
};
const auth = createAuth({ secret: JWT_SECRET });
const log = (msg: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
}

async function boot(backend: Backend, extra: Record<string, string> = {}): Promise<ServerProc & { url: string }> {
  const port = await freePort();
  const env = {
    ...backend.env,
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    JWT_SECRET,
    STARTING_CREDITS: '1000000000',
    // The request limits are out of the way: a user here queues up to 200 jobs in a burst.
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_ACTIVE_JOBS_PER_USER: '1000000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
  const proc = await startServer({ script: 'src/server.ts', env, logFile: join(settings.runDir, `server-${port}.log`) });
  return Object.assign(proc, { url: `http://127.0.0.1:${port}` });
}

/** Inserts `n` waiting sdxl_image_fast jobs from `users` users, interleaved, in one statement. */
async function seed(databaseUrl: string, n: number, users: number): Promise<void> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`
      with u as (select array_agg(gen_random_uuid()) as ids from generate_series(1, ${users})),
      j as (
        select gen_random_uuid() as id, (select ids[1 + (g % ${users})] from u) as user_id,
               now() - interval '1 hour' + g * interval '1 millisecond' as t
        from generate_series(1, ${n}) g
      )
      insert into jobs (id, user_id, job_type, format, quality, status, prompt, num_images, credit_cost,
                        expected_generation_time, payload, queue, payload_id, queued_at, created_at, updated_at)
      select id, user_id, 'sdxl_image_fast', 'image', 'fast', 'queued', 'bench', 1, 1, 5,
             json_build_object('id', id, 'type', 'sdxl_image_fast', 'prompt', 'bench', 'user_id', user_id,
                               'config', json_build_object('num_images', 1))::text,
             'sdxl_queue', id, t, t, t
      from j`);
    await sql`analyze jobs`;
  } finally {
    await sql.end();
  }
}

async function pop(url: string, token: string): Promise<{ ms: number; id: string | null; ok: boolean }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/rpop/sdxl_queue`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { result?: string | null };
  const ms = performance.now() - t0;
  return { ms, id: body.result ? (JSON.parse(body.result) as { id: string }).id : null, ok: res.status === 200 };
}

async function popPhase() {
  const results: Record<string, unknown> = {};
  const worker = await auth.sign({ sub: 'bench-worker', role: 'service_role' });
  for (const window of popWindows) for (const waiting of [100, 100_000]) {
    for (const instances of [1, 2]) {
      const backend = await productionBackend(settings);
      const servers: Array<ServerProc & { url: string }> = [];
      try {
        servers.push(await boot(backend, { QUEUE_WINDOW_SIZE: window }));
        if (instances === 2) servers.push(await boot(backend, { QUEUE_WINDOW_SIZE: window }));
        const t0 = Date.now();
        await seed(backend.databaseUrl!, waiting, waiting === 100 ? 100 : 1000);
        log(`seeded ${waiting} jobs in ${Date.now() - t0} ms`);
        await new Promise((r) => setTimeout(r, 1500)); // the window fills
        // Pops: sequential per popper, one popper per instance; stop before the queue runs dry.
        const perPopper = Math.min(waiting === 100 ? 45 : 500, Math.floor(waiting / (2 * instances)));
        for (let i = 0; i < 20 && waiting > 100; i++) await pop(servers[0]!.url, worker); // warm-up
        const latencies: number[] = [];
        const ids: string[] = [];
        let failed = 0;
        let empty = 0;
        // Each popper is a worker: it pops, and reports the job finished before popping again
        // (so the running jobs stay as many as the workers, as in a real fleet; only the pop is timed).
        await Promise.all(
          servers.map(async (s) => {
            for (let i = 0; i < perPopper; i++) {
              const r = await pop(s.url, worker);
              latencies.push(r.ms);
              if (!r.ok) failed++;
              else if (!r.id) empty++;
              if (!r.id) continue;
              ids.push(r.id);
              await fetch(`${s.url}/functions/v1/job-callback`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', authorization: `Bearer ${worker}` },
                body: JSON.stringify({ job_id: r.id, status: 'failed', error_message: 'bench: done' }),
              });
            }
          }),
        );
        const key = `${waiting}_waiting_${instances}_instance${instances > 1 ? 's' : ''}_window_${window}`;
        results[key] = {
          pops: latencies.length,
          distinctJobs: new Set(ids).size,
          failed,
          empty,
          p50: pct(latencies, 50),
          p99: pct(latencies, 99),
          max: pct(latencies, 100),
        };
        log(`pop ${key}: ${JSON.stringify(results[key])}`);
      } finally {
        for (const s of servers) await s.stop();
        await backend.close();
      }
    }
  }
  return results;
}

/** Jain's index of x: (Σx)² / (n Σx²); 1 = perfectly even. */
function jain(x: number[]): number {
  const sum = x.reduce((a, b) => a + b, 0);
  const sq = x.reduce((a, b) => a + b * b, 0);
  return sq === 0 ? 1 : (sum * sum) / (x.length * sq);
}

const DEMANDS = [1, 2, 5, 10, 20, 40, 60, 100, 150, 200];
const SLOTS = 20;

/**
 * A fleet of SLOTS workers taking jobs when free (every run 80..160 ms, the
 * same pseudo-random sequence for both policies). At each hand-out the
 * running share of each user with waiting work is sampled; the index is the
 * mean over samples. `next` chooses the job.
 */
function simulate(policy: 'fair' | 'fifo') {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const queue: Array<{ user: number; t: number }> = [];
  let t = 0;
  // All users queue at once, in interleaved bursts (as a client loop would): user u's jobs at u's pace.
  DEMANDS.forEach((d, u) => {
    for (let i = 0; i < d; i++) queue.push({ user: u, t: i * (u + 1) * 0.01 });
  });
  queue.sort((a, b) => a.t - b.t);
  const running: Array<{ user: number; end: number }> = [];
  const samples: number[] = [];
  const waitingOf = (u: number) => queue.filter((j) => j.user === u).length;
  while (queue.length) {
    running.sort((a, b) => a.end - b.end);
    if (running.length >= SLOTS) t = running.shift()!.end;
    const runningOf = (u: number) => running.filter((r) => r.user === u).length;
    let idx = 0;
    if (policy === 'fair') {
      let best = Infinity;
      for (const [i, j] of queue.entries()) {
        const n = runningOf(j.user);
        if (n < best) [best, idx] = [n, i];
      }
    }
    const job = queue.splice(idx, 1)[0]!;
    running.push({ user: job.user, end: t + 0.08 + 0.08 * rand() });
    const users = DEMANDS.map((_, u) => u).filter((u) => waitingOf(u) > 0);
    if (users.length > 1) samples.push(jain(users.map(runningOf)));
  }
  return Math.round((samples.reduce((a, b) => a + b, 0) / samples.length) * 1000) / 1000;
}

async function fairnessPhase() {
  const backend = await productionBackend(settings);
  let server: (ServerProc & { url: string }) | undefined;
  try {
    server = await boot(backend, { QUEUE_WINDOW_SIZE: '0' });
    const tokens = await Promise.all(DEMANDS.map(() => auth.sign({ sub: randomUUID() })));
    // Queue everything first (user by user, interleaved), then run the fleet.
    const queued: Array<{ id: string; user: number }> = [];
    const maxDemand = Math.max(...DEMANDS);
    for (let i = 0; i < maxDemand; i++) {
      await Promise.all(
        DEMANDS.map(async (d, u) => {
          if (i >= d) return;
          const res = await fetch(`${server!.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[u]}` },
            body: JSON.stringify({ query: 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "fair" }) { job { id } } }' }),
          });
          const body = (await res.json()) as { data?: { queueJob: { job: { id: string } } } };
          if (body.data) queued.push({ id: body.data.queueJob.job.id, user: u });
        }),
      );
    }
    const userOf = new Map(queued.map((q) => [q.id, q.user]));
    const waiting = DEMANDS.map((d) => d);
    const running = DEMANDS.map(() => 0);
    const samples: number[] = [];
    const worker = await auth.sign({ sub: 'bench-worker', role: 'service_role' });
    let remaining = queued.length;
    const slot = async () => {
      while (remaining > 0) {
        const { id } = await pop(server!.url, worker);
        if (!id) {
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        remaining--;
        const u = userOf.get(id)!;
        waiting[u]!--;
        running[u]!++;
        const users = DEMANDS.map((_, i) => i).filter((i) => waiting[i]! > 0);
        if (users.length > 1) samples.push(jain(users.map((i) => running[i]!)));
        await new Promise((r) => setTimeout(r, 80 + Math.random() * 80));
        await fetch(`${server!.url}/functions/v1/job-callback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${worker}` },
          body: JSON.stringify({ job_id: id, status: 'failed', error_message: 'bench: done' }),
        });
        running[u]!--;
      }
    };
    const t0 = Date.now();
    await Promise.all(Array.from({ length: SLOTS }, slot));
    const measured = Math.round((samples.reduce((a, b) => a + b, 0) / samples.length) * 1000) / 1000;
    const result = {
      users: DEMANDS.length,
      demands: DEMANDS,
      workers: SLOTS,
      jobs: queued.length,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      jainMeasuredServer: measured,
      jainSimulatedFair: simulate('fair'),
      jainSimulatedFifo: simulate('fifo'),
    };
    log(`fairness: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await server?.stop();
    await backend.close();
  }
}

async function etaPhase() {
  const backend = await productionBackend(settings);
  let server: (ServerProc & { url: string }) | undefined;
  const sims: ChildProcess[] = [];
  try {
    server = await boot(backend, { QUEUE_WINDOW_SIZE: '0' });
    const worker = await auth.sign({ sub: 'sim', role: 'service_role' });
    // Several simulated GPU workers: each job takes expected_time / SIM_SPEED, with the sim's own jitter.
    const WORKERS = 3;
    for (let i = 0; i < WORKERS; i++) {
      const workerToken = await auth.sign({ sub: `sim-${i}`, role: 'service_role' });
      const child = spawn(process.execPath, ['--import', 'tsx', 'sim/worker.ts'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          SUPABASE_URL: server.url,
          SUPABASE_SERVICE_KEY: workerToken,
          UPSTASH_REDIS_REST_URL: server.url,
          UPSTASH_REDIS_REST_TOKEN: workerToken,
          SIM_SPEED: '4',
          SIM_QUEUES: 'sdxl_queue',
          SIM_POLL_MS: '200',
        },
        stdio: 'ignore',
      });
      sims.push(child);
    }
    void worker;
    const users = await Promise.all(Array.from({ length: 5 }, () => auth.sign({ sub: randomUUID() })));
    const samples: Array<{ id: string; queuedAt: number; estimate: number | null }> = [];
    const N = 40;
    for (let i = 0; i < N; i++) {
      const token = users[i % users.length]!;
      const numImages = [1, 1, 3][i % 3];
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: `mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "eta ${i}", numImages: ${numImages} }) { job { id estimatedStartAt } } }`,
        }),
      });
      const body = (await res.json()) as { data?: { queueJob: { job: { id: string; estimatedStartAt: string | null } } } };
      const job = body.data!.queueJob.job;
      samples.push({ id: job.id, queuedAt: Date.now(), estimate: job.estimatedStartAt ? Date.parse(job.estimatedStartAt) : null });
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 300));
    }
    const sql = postgres(backend.databaseUrl!, { max: 1, onnotice: () => {} });
    let taken: Map<string, number>;
    try {
      for (;;) {
        const [{ n }] = await sql`select count(*)::int as n from jobs where picked_at is null and status = 'queued'`;
        if (n === 0) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      const rows = await sql`select job_id, min(taken_at) as taken_at from job_attempts group by job_id`;
      taken = new Map(rows.map((r) => [r.job_id as string, new Date(r.taken_at as string).getTime()]));
    } finally {
      await sql.end();
    }
    const errors: number[] = [];
    const absSeconds: number[] = [];
    for (const s of samples) {
      const start = taken.get(s.id);
      if (!start || s.estimate === null) continue;
      const actualWait = Math.max(1000, start - s.queuedAt); // at least 1 s: a job taken at once has no wait to be wrong about
      errors.push(Math.abs(s.estimate - start) / actualWait);
      absSeconds.push(Math.abs(s.estimate - start) / 1000);
    }
    const half = errors.slice(Math.floor(errors.length / 4));
    const result = {
      jobs: samples.length,
      workers: WORKERS,
      medianRelativeError: pct(errors, 50),
      medianRelativeErrorAfterWarmup: pct(half, 50),
      p90RelativeError: pct(errors, 90),
      medianAbsoluteErrorSeconds: pct(absSeconds, 50),
    };
    log(`eta: ${JSON.stringify(result)}`);
    return result;
  } finally {
    for (const c of sims) c.kill('SIGTERM');
    await server?.stop();
    await backend.close();
  }
}

async function main() {
  const results: Record<string, unknown> = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadavg1AtStart: loadavg()[0] },
  };
  try {
    if (only.has('pop')) results.pop = await popPhase();
    if (only.has('fairness')) results.fairness = await fairnessPhase();
    if (only.has('eta')) results.eta = await etaPhase();
  } finally {
    killAllStarted();
    rmSync(settings.runDir, { recursive: true, force: true });
  }
  results.machine = { ...(results.machine as object), loadavg1AtEnd: loadavg()[0] };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, out), JSON.stringify(results, null, 2) + '\n');
  log(`wrote ${out}`);
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killAllStarted();
    process.exit(1);
  },
);
