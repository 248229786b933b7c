/**
 * The simulator worker process: `tsx sim/worker.ts`.
 *
 * Configured like the real GPU fleet (SUPABASE_URL, SUPABASE_SERVICE_KEY,
 * UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN) plus SIM_SPEED,
 * SIM_FAIL_RATE, SIM_QUEUES, SIM_POLL_MS and SIM_GENERATION (1 or 2: which
 * of the fleet's two generations to speak). Logs one line per event and never
 * prints the keys. Ctrl-C stops after the current jobs; a second Ctrl-C quits.
 */
import { z } from 'zod';
import { isPlainHttpUrl, startSimulator } from './simulator.js';

const QUEUES = ['sdxl_queue', 'wan_queue'] as const;

const blankIsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const secret = (what: string) =>
  z.preprocess(blankIsUnset, z.string({ error: `is not set: ${what}` }));

const httpUrl = (what: string) =>
  z.preprocess(
    blankIsUnset,
    z
      .string({ error: `is not set: ${what}` })
      .trim()
      .refine((v) => isPlainHttpUrl(v), {
        error: 'must be an http(s) URL such as http://localhost:4000, without user:password, ?query or #fragment',
      }),
  );

const number = (def: number, schema: z.ZodNumber) =>
  z.preprocess(blankIsUnset, z.coerce.number({ error: 'must be a number' }).pipe(schema).default(def));

const EnvSchema = z.object({
  SUPABASE_URL: httpUrl('base URL for uploads and callbacks (the API server, e.g. http://localhost:4000)'),
  SUPABASE_SERVICE_KEY: secret('token sent on uploads and callbacks (a worker or service_role token)'),
  UPSTASH_REDIS_REST_URL: httpUrl('base URL for popping jobs (the API server, e.g. http://localhost:4000)'),
  UPSTASH_REDIS_REST_TOKEN: secret('token sent when popping jobs (a worker or service_role token)'),
  SIM_SPEED: number(10, z.number().positive({ error: 'must be > 0 (a job takes expected_time / SIM_SPEED seconds)' })),
  SIM_FAIL_RATE: number(0, z.number().min(0, { error: 'must be within 0..1' }).max(1, { error: 'must be within 0..1' })),
  SIM_QUEUES: z.preprocess(
    blankIsUnset,
    z
      .string()
      .default(QUEUES.join(','))
      .transform((v) => v.split(',').map((q) => q.trim()).filter(Boolean))
      .pipe(
        z
          .array(z.enum(QUEUES, { error: `lists an unknown queue: use ${QUEUES.join(' and/or ')}` }))
          .min(1, { error: `is empty: use ${QUEUES.join(' and/or ')}` }),
      ),
  ),
  SIM_GENERATION: z.preprocess(
    blankIsUnset,
    z.enum(['1', '2'], { error: 'must be 1 (the fleet as of July 2025) or 2 (its code from mid-August 2025 on)' }).default('1'),
  ),
  SIM_POLL_MS: number(
    2000,
    z.number().int({ error: 'must be a whole number of milliseconds' }).min(0, { error: 'must be >= 0' }).max(600_000, {
      error: 'must be <= 600000',
    }),
  ),
});

function line(text: string): void {
  process.stdout.write(`${new Date().toISOString()} ${text}\n`);
}

/** Origin and path only: no user:password, no query string. */
function safeUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

const parsed = EnvSchema.safeParse(process.env);
if (!parsed.success) {
  const problems = parsed.error.issues.map((i) => `${String(i.path[0] ?? 'environment')} ${i.message}`);
  process.stderr.write(`sim worker: cannot start: ${problems.join('; ')}\n`);
  process.exit(1);
}
const env = parsed.data;

line(
  `sim worker: generation ${env.SIM_GENERATION}, queues ${env.SIM_QUEUES.join(',')}, speed x${env.SIM_SPEED}, fail rate ${env.SIM_FAIL_RATE}, ` +
    `poll ${env.SIM_POLL_MS} ms, pop from ${safeUrl(env.UPSTASH_REDIS_REST_URL)}, ` +
    `upload and call back to ${safeUrl(env.SUPABASE_URL)}`,
);

let sim: ReturnType<typeof startSimulator>;
try {
  sim = startSimulator({
    supabaseUrl: env.SUPABASE_URL,
    serviceKey: env.SUPABASE_SERVICE_KEY,
    queueUrl: env.UPSTASH_REDIS_REST_URL,
    queueToken: env.UPSTASH_REDIS_REST_TOKEN,
    speed: env.SIM_SPEED,
    failRate: env.SIM_FAIL_RATE,
    queues: env.SIM_QUEUES,
    pollMs: env.SIM_POLL_MS,
    generation: env.SIM_GENERATION === '2' ? 2 : 1,
    log: line,
  });
} catch (err) {
  process.stderr.write(`sim worker: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) {
    line(`sim worker: ${signal} again, quitting now`);
    process.exit(130);
  }
  stopping = true;
  line(`sim worker: ${signal}, stopping after the current job(s) (send again to quit now)`);
  void sim.stop().then(() => {
    line(`sim worker: stopped after ${sim.processed} job(s)`);
    process.exit(0);
  });
}
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
