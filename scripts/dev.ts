/**
 * `npm run dev`: the API server and the simulator worker together.
 *
 * Starts `src/server.ts` (embedded defaults unless the environment says
 * otherwise), waits for GET /ready, mints a worker token from the server's
 * own JWT secret (JWT_SECRET, or the one kept in DATA_DIR) and starts
 * `sim/worker.ts` pointed at the server, exactly as the GPU fleet is
 * configured. Both outputs are forwarded line by line with a prefix. Ctrl-C
 * stops the simulator, then the server; a second Ctrl-C kills both at once.
 *
 * SIM_SPEED, SIM_FAIL_RATE, SIM_QUEUES and SIM_POLL_MS pass through to the
 * simulator (default speed 10: a job takes a tenth of its expected time).
 * SIM_GENERATION picks the fleet generation: `both` (default) runs one
 * simulator of each side by side on the same queues, as deployments do;
 * `1` or `2` runs only that one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createAuth, loadOrCreateSecret } from '../src/auth/tokens.js';
import { loadConfig, type Config } from '../src/config.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
const PREFIX = { api: paint(36, 'api  │'), sim1: paint(35, 'sim1 │'), sim2: paint(34, 'sim2 │'), dev: paint(33, 'dev  │') };

function say(text: string): void {
  for (const line of text.split('\n')) process.stdout.write(`${PREFIX.dev} ${line}\n`);
}

function die(text: string): never {
  process.stderr.write(`${PREFIX.dev} error: ${text}\n`);
  process.exit(1);
}

const PINO_LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Pino's JSON lines as `12:00:01 INFO message {extra}`; anything else unchanged. */
function readable(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const { level, time, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
    if (typeof level !== 'number' || typeof msg !== 'string') return line;
    const at = typeof time === 'number' ? new Date(time).toTimeString().slice(0, 8) : '';
    const name = PINO_LEVELS[level] ?? String(level);
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${at} ${level >= 50 ? paint(31, name) : level >= 40 ? paint(33, name) : name} ${msg}${extra}`;
  } catch {
    return line;
  }
}

function forward(child: ChildProcess, prefix: string): void {
  for (const [stream, out] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ] as const) {
    if (!stream) continue;
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`${prefix} ${readable(line)}\n`));
  }
}

/** Children get their own process group, so a terminal Ctrl-C reaches only this script, which stops them in order. */
function start(entry: string, env: NodeJS.ProcessEnv, prefix: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  forward(child, prefix);
  return child;
}

const running = (c: ChildProcess | undefined): boolean => !!c && c.exitCode === null && c.signalCode === null;

function exited(child: ChildProcess): Promise<void> {
  return running(child) ? new Promise((resolve) => child.once('exit', () => resolve())) : Promise.resolve();
}

/** Sends `signal`, then SIGKILL if the child is still there after `graceMs`. */
async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!child || !running(child)) return;
  child.kill(signal);
  const timer = setTimeout(() => running(child) && child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

/** The base URL this machine reaches the server on. */
function localBase(config: Config): string {
  const wildcard = ['0.0.0.0', '::', ''].includes(config.host);
  const host = wildcard ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

/**
 * Waits for GET /ready (not only /health: the server answers /health from its
 * first moment, while the database is still opening and before the embedded
 * JWT secret is sure to exist in DATA_DIR).
 */
async function waitForReady(base: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!running(server)) die(`the server exited (${server.exitCode ?? server.signalCode}) before it was ready; see its output above.`);
    try {
      const res = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status} ${(await res.text()).slice(0, 200)}`;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  die(`the server was not ready at ${base}/ready within ${timeoutMs / 1000} s (last answer: ${last}).`);
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    die((err as Error).message);
  }
  if (config.port === 0) die('set PORT to a fixed port for npm run dev (the simulator needs to know it).');
  if (!config.jwt.secret && config.jwt.jwksUrl) {
    die(
      'JWT_JWKS_URL is set, so this script cannot mint the simulator\'s worker token: run `npm start` and ' +
        '`npm run worker:sim` yourself, with SUPABASE_SERVICE_KEY and UPSTASH_REDIS_REST_TOKEN set to a worker token from your identity provider.',
    );
  }
  const base = localBase(config);

  let server: ChildProcess | undefined;
  const sims: ChildProcess[] = [];
  let stopping = false;
  let firstSignalAt = 0;

  const shutdown = async (code: number) => {
    stopping = true;
    // The simulator first (it finishes its in-flight HTTP call), then the server.
    await Promise.all(sims.map((sim) => stopChild(sim, 'SIGTERM', 3_000)));
    await stopChild(server, 'SIGTERM', 10_000);
    say('stopped');
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (!stopping) {
      firstSignalAt = now;
      say(`${signal}: stopping the simulator and the server (Ctrl-C again to kill them now)`);
      void shutdown(0);
      return;
    }
    // npm and tsx relay the terminal's Ctrl-C too: copies within a second are the same press.
    if (now - firstSignalAt < 1000) return;
    say(`${signal} again: killing both now`);
    for (const c of [...sims, server]) if (running(c)) c!.kill('SIGKILL');
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Never leave the children behind, whatever ends this process.
  process.on('exit', () => {
    for (const c of [...sims, server]) if (running(c)) c!.kill('SIGKILL');
  });

  say(`starting the server on ${base} (${config.embedded ? 'embedded defaults, data in ' + config.dataDir : 'configured backends'})`);
  server = start('src/server.ts', process.env, PREFIX.api);
  server.once('exit', (code, signal) => {
    if (stopping) return;
    say(`the server exited (${code ?? signal}); stopping the simulator`);
    void shutdown(code || 1);
  });
  await waitForReady(base, server, 120_000);
  if (stopping) return;

  // The secret the server verifies with: JWT_SECRET, or the embedded one it created in DATA_DIR.
  const secret = config.jwt.secret ?? loadOrCreateSecret(config.dataDir);
  const auth = createAuth({ secret, issuer: config.jwt.issuer, audience: config.jwt.audience });
  const workerToken = await auth.sign({ sub: 'dev-worker', role: 'service_role' }, '365d');

  const wanted = (process.env.SIM_GENERATION ?? '').trim() || 'both';
  if (!['1', '2', 'both'].includes(wanted)) die(`SIM_GENERATION must be 1, 2 or both; got "${wanted}".`);
  const generations = wanted === 'both' ? (['1', '2'] as const) : [wanted as '1' | '2'];
  for (const generation of generations) {
    const sim = start(
      'sim/worker.ts',
      {
        ...process.env,
        SUPABASE_URL: base,
        SUPABASE_SERVICE_KEY: workerToken,
        UPSTASH_REDIS_REST_URL: base,
        UPSTASH_REDIS_REST_TOKEN: workerToken,
        SIM_GENERATION: generation,
      },
      generation === '1' ? PREFIX.sim1 : PREFIX.sim2,
    );
    sims.push(sim);
    sim.once('exit', (code, signal) => {
      if (stopping) return;
      say(`simulator ${generation} exited (${code ?? signal}); the server keeps running (Ctrl-C to stop)`);
    });
  }

  say(
    [
      '',
      `ready: the console at ${config.publicUrl}/console, GraphiQL at ${config.publicUrl}/graphql; fleet generation(s) ${generations.join(' and ')} take jobs from both queues.`,
      'Queue a job with the dev user token printed above, e.g.:',
      `  curl -s ${base}/functions/v1/queue-job -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\`,
      `    -d '{"jobType":"sdxl_image_fast","metadata":{"prompt":"a lighthouse at dusk","num_images":3}}'`,
      '',
    ].join('\n'),
  );
}

main().catch((err: unknown) => die(err instanceof Error ? err.message : String(err)));
