/**
 * Measurement 7: completed callback → the webhook receiver's first byte.
 * N jobs, each with a webhook to a real HTTP receiver on loopback (this
 * process), are completed by `completed` callbacks sent open-loop at a fixed
 * rate. Latency: from just before a callback is sent to the moment the
 * receiver's server sees the delivery's request (headers parsed, the first
 * bytes in). Lost = jobs whose delivery never arrived.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BackendName } from '../lib/backends.js';
import { boot, type Ctx } from '../lib/context.js';
import { log, now, pool, round, signToken, sleep, summarize, uuid, type Summary } from '../lib/util.js';

export interface WebhookPhaseResult {
  jobs: number;
  rate: number;
  achievedRate: number;
  setupSec: number;
  callbackErrors: number;
  callbackHttpMs: Summary;
  received: number;
  lost: number;
  duplicates: number;
  /** Callback sent → receiver's first byte, ms. */
  latencyMs: Summary;
  loadAvg1: number;
}

export async function webhookPhase(ctx: Ctx, name: BackendName): Promise<WebhookPhaseResult> {
  const o = ctx.opts;
  const n = o.webhookJobs;
  const rate = o.webhookRate;

  const firstByte = new Map<string, number>();
  let duplicates = 0;
  const receiver = createServer((req, res) => {
    const at = now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const id = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { id: string } }).data.id;
      if (firstByte.has(id)) duplicates++;
      else firstByte.set(id, at);
      res.writeHead(204).end();
    });
  });
  receiver.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const booted = await boot(ctx, name, { label: 'webhooks', profile: true, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
  try {
    const url = booted.server.url;
    const secret = ctx.settings.jwtSecret;
    const worker = await signToken(secret, 'bench-worker', 'service_role');

    // Setup (not measured): one user and one webhooked job per delivery.
    const t0 = performance.now();
    const jobs = await pool(Array.from({ length: n }, (_, i) => i), 16, async () => {
      const sub = uuid();
      const token = await signToken(secret, sub);
      const res = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }',
          variables: { i: { jobType: 'sdxl_image_fast', prompt: 'a lighthouse at dusk', webhook: hook } },
        }),
      });
      const body = (await res.json()) as { data?: { queueJob: { job: { id: string } } }; errors?: unknown[] };
      if (!body.data) throw new Error(`setup queueJob failed: ${JSON.stringify(body.errors)}`);
      return { id: body.data.queueJob.job.id, sub };
    });
    const setupSec = (performance.now() - t0) / 1000;
    log(`${name} webhooks: ${n} webhooked jobs queued in ${setupSec.toFixed(1)} s`);
    await sleep(1000);

    // Open loop: callback i leaves at start + i/rate whatever earlier ones are doing.
    const sentAt = new Map<string, number>();
    const httpMs: number[] = [];
    let errors = 0;
    const start = now() + 100;
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < n; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - now();
      if (wait > 1) await sleep(wait);
      const job = jobs[i]!;
      inflight.push(
        (async () => {
          const t = now();
          sentAt.set(job.id, t);
          try {
            const res = await fetch(`${url}/functions/v1/job-callback`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${worker}` },
              body: JSON.stringify({ job_id: job.id, status: 'completed', assets: [`${job.sub}/out_0.png`], metadata: { seed: 1, generation_time: 1 } }),
            });
            await res.arrayBuffer();
            if (res.status !== 200) errors++;
          } catch {
            errors++;
          }
          httpMs.push(now() - t);
        })(),
      );
    }
    const sendSec = (now() - start) / 1000;
    await Promise.all(inflight);
    const deadline = Date.now() + 30_000;
    while (firstByte.size < n && Date.now() < deadline) await sleep(50);
    await sleep(500); // late duplicates, if any

    const latencies: number[] = [];
    for (const [id, t] of firstByte) {
      const s = sentAt.get(id);
      if (s !== undefined) latencies.push(t - s);
    }
    const result: WebhookPhaseResult = {
      jobs: n,
      rate,
      achievedRate: round(n / sendSec, 1),
      setupSec: round(setupSec, 1),
      callbackErrors: errors,
      callbackHttpMs: summarize(httpMs),
      received: firstByte.size,
      lost: n - firstByte.size,
      duplicates,
      latencyMs: summarize(latencies),
      loadAvg1: round((await import('node:os')).loadavg()[0]!, 2),
    };
    log(`${name} webhooks: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ${result.lost} lost, ${duplicates} duplicates`);
    return result;
  } finally {
    await booted.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    receiver.closeAllConnections();
  }
}
