/**
 * Load-generator process: queues jobs over HTTP, either through the product
 * (`POST /graphql` queueJob) or through the bare baseline (`POST /queue`).
 *
 * Modes (command `run`):
 *   - closed loop: `concurrency` virtual users, each with its own token, each
 *     sending its next request as soon as the previous one answered, for
 *     `durationMs` (requests in flight at the deadline still count);
 *   - `once`: every token queues exactly one job (setup: one job per user);
 *   - `paceMs`: one virtual user, `maxRequests` jobs, a random pause between
 *     them (pickup latency), recording when each answer arrived.
 */
import http from 'node:http';
import { request } from '../lib/http.js';
import { serveCommands } from '../lib/proc.js';
import { now, randomBetween, sleep } from '../lib/util.js';

export const QUEUE_JOB = `mutation Queue($input: QueueJobInput!) {
  queueJob(input: $input) { job { id status createdAt } queueLength }
}`;

export interface RunCommand {
  url: string;
  target: 'graphql' | 'baseline';
  tokens: string[];
  concurrency: number;
  durationMs?: number;
  once?: boolean;
  maxRequests?: number;
  paceMs?: [number, number];
  jobType?: string;
  /** Record, per acknowledged job, the time its answer arrived (ms, see lib/util now()). */
  recordTimes?: boolean;
}

export interface RunResult {
  ok: number;
  errors: number;
  errorSamples: string[];
  /** Latency in ms of each successful request. */
  latMs: number[];
  elapsedMs: number;
  /** [token index, job id, answer time or 0] per acknowledged job. */
  acked: Array<[number, string, number]>;
}

async function run(cmd: RunCommand): Promise<RunResult> {
  const url = new URL(cmd.target === 'graphql' ? '/graphql' : '/queue', cmd.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, cmd.concurrency) });
  const jobType = cmd.jobType ?? 'sdxl_image_fast';
  const latMs: number[] = [];
  const acked: RunResult['acked'] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let sent = 0;
  let cursor = 0;
  const t0 = performance.now();
  const deadline = cmd.durationMs === undefined ? Infinity : t0 + cmd.durationMs;
  let last = t0;

  const body = (n: number) => {
    const input = { jobType, prompt: `a lighthouse on a cliff at dusk, oil painting, study ${n}`, numImages: 1 };
    return JSON.stringify(cmd.target === 'graphql' ? { query: QUEUE_JOB, variables: { input } } : input);
  };
  const fail = (why: string) => {
    errors++;
    if (errorSamples.length < 5) errorSamples.push(why.slice(0, 300));
  };

  async function one(tokenIndex: number): Promise<void> {
    const n = sent++;
    const start = performance.now();
    try {
      const answer = await request(
        agent,
        url,
        'POST',
        { 'content-type': 'application/json', authorization: `Bearer ${cmd.tokens[tokenIndex]}` },
        body(n),
      );
      const end = performance.now();
      last = end;
      if (answer.status !== 200) return fail(`HTTP ${answer.status}: ${answer.text}`);
      const parsed = JSON.parse(answer.text) as {
        id?: string;
        data?: { queueJob?: { job?: { id?: string } } };
        errors?: unknown[];
      };
      const id = cmd.target === 'graphql' ? parsed.data?.queueJob?.job?.id : parsed.id;
      if (!id || parsed.errors) return fail(`no job id: ${answer.text}`);
      latMs.push(end - start);
      acked.push([tokenIndex, id, cmd.recordTimes ? now() : 0]);
    } catch (err) {
      last = performance.now();
      fail(String(err));
    }
  }

  if (cmd.once) {
    await Promise.all(
      Array.from({ length: Math.min(cmd.concurrency, cmd.tokens.length) }, async () => {
        while (cursor < cmd.tokens.length) await one(cursor++);
      }),
    );
  } else if (cmd.paceMs) {
    const max = cmd.maxRequests ?? 100;
    for (let i = 0; i < max && performance.now() < deadline; i++) {
      await one(i % cmd.tokens.length);
      await sleep(randomBetween(cmd.paceMs[0], cmd.paceMs[1]));
    }
  } else {
    await Promise.all(
      Array.from({ length: cmd.concurrency }, async (_, vu) => {
        while (performance.now() < deadline && (cmd.maxRequests === undefined || sent < cmd.maxRequests)) {
          await one(vu % cmd.tokens.length);
        }
      }),
    );
  }
  agent.destroy();
  return { ok: latMs.length, errors, errorSamples, latMs, elapsedMs: last - t0, acked };
}

serveCommands({ run: (msg: RunCommand) => run(msg) });
