/**
 * Measurement 5: pickup latency, from queueJob's answer arriving at the
 * client to a worker holding the payload: a worker polling `GET /rpop`
 * (fixed interval after an empty answer, at once after a hit), and, with
 * Redis, a direct `BRPOP` consumer. One job at a time with random gaps, so
 * the queue never holds more than one job and the figure is pure pickup.
 * Negative values mean the worker had the payload before the client had the
 * answer (the push happens before the response is written).
 */
import type { BackendName } from '../lib/backends.js';
import { boot, type Booted, type Ctx } from '../lib/context.js';
import { forkChild, type Child } from '../lib/proc.js';
import { log, signToken, sleep, summarize, uuid, type Summary } from '../lib/util.js';
import type { RunResult } from '../load/http-load.js';

export interface PickupResult {
  mode: string;
  samples: number;
  missing: number;
  latencyMs: Summary;
  errors: number;
}

export interface PickupPhaseResult {
  pollIntervalMs: number;
  rpop: PickupResult | { error: string };
  brpop: PickupResult | { error: string } | null;
}

const QUEUE = 'sdxl_queue';

/** `shared`: run on this server instead of booting a fresh one (smoke mode). */
export async function pickupPhase(ctx: Ctx, name: BackendName, shared?: Booted): Promise<PickupPhaseResult> {
  const o = ctx.opts;
  const booted = shared ?? (await boot(ctx, name, { label: 'pickup' }));
  const children: Child[] = [];
  try {
    const { server, backend } = booted;
    const secret = ctx.settings.jwtSecret;
    const tokens = [await signToken(secret, uuid())];
    const driver = await forkChild('bench/load/http-load.ts', 'http-load');
    const picker = await forkChild('bench/load/pickup.ts', 'pickup');
    children.push(driver, picker);

    const measure = async (mode: 'rpop' | 'brpop', pace: [number, number], start: Record<string, unknown>): Promise<PickupResult> => {
      await picker.call({ cmd: 'start', mode, queue: QUEUE, ...start });
      await sleep(200);
      const run = await driver.call<RunResult>(
        { cmd: 'run', url: server.url, target: 'graphql', tokens, concurrency: 1, maxRequests: o.pickupSamples, paceMs: pace, recordTimes: true },
        o.pickupSamples * (pace[1] + 2000) + 60_000,
      );
      await sleep(Math.max(500, 3 * o.pollIntervalMs));
      const got = await picker.call<{ got: Array<[string, number]>; errors: number }>({ cmd: 'stop' });
      const at = new Map(got.got);
      const lat: number[] = [];
      let missing = 0;
      for (const [, id, t] of run.acked) {
        const tGot = at.get(id);
        if (tGot === undefined) missing++;
        else lat.push(tGot - t);
      }
      const r: PickupResult = {
        mode,
        samples: lat.length,
        missing,
        latencyMs: summarize(lat),
        errors: run.errors + got.errors,
      };
      log(`${name} pickup ${mode}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${r.samples} samples, ${missing} missing`);
      return r;
    };

    const worker = await signToken(secret, 'bench-worker', 'service_role');
    const poll = o.pollIntervalMs;
    const rpop = await measure('rpop', [poll * 0.5, poll * 1.5], { url: server.url, token: worker, pollMs: poll }).catch(
      (err: unknown) => ({ error: String(err) }),
    );
    const brpop =
      backend.name === 'production'
        ? await measure('brpop', [10, 40], { redisUrl: ctx.settings.redisUrl, redisKey: `${backend.redisPrefix}${QUEUE}` }).catch(
            (err: unknown) => ({ error: String(err) }),
          )
        : null;
    return { pollIntervalMs: poll, rpop, brpop };
  } finally {
    await Promise.all(children.map((c) => c.close()));
    if (!shared) await booted.close();
  }
}

