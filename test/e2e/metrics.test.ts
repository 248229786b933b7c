import { describe, expect, it } from 'vitest';
import { CONTRACT_METRICS, sample } from '../helpers/metrics.js';
import { collect, gql, newUser, type TestServer, serverForFile, type Fleet, wsClient } from '../helpers/app.js';

/**
 * The operator's metrics: every promised name is exposed, and the job
 * counters, gauges and histograms move as jobs are queued, taken and finished.
 */
let server: TestServer;
/** A second server whose /metrics wants METRICS_TOKEN. */
let guarded: TestServer;
let worker: Fleet;
const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';
serverForFile((s, w) => ((server = s), (worker = w)));
serverForFile((s) => (guarded = s), { METRICS_TOKEN });

async function scrape(): Promise<string> {
  const res = await fetch(`${server.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function queue(token: string, jobType = 'sdxl_image_fast'): Promise<string> {
  const res = await gql(server.url, token, `mutation($t: JobType!) { queueJob(input: { jobType: $t, prompt: "a red kite" }) { job { id } } }`, { t: jobType });
  expect(res.errors).toBeUndefined();
  return res.data!.queueJob.job.id;
}

/** Pops until the payload of job `id` (other files' jobs never share this server's queue). */
async function take(queueName: string, id: string) {
  for (let i = 0; i < 20; i++) {
    const p = await worker.pop(queueName);
    if (p?.id === id) return p;
  }
  throw new Error(`job ${id} not in ${queueName}`);
}

describe('metrics', () => {
  it('exposes every promised metric name and the process and Node.js defaults', async () => {
    const text = await scrape();
    for (const name of CONTRACT_METRICS) expect(text, name).toContain(`# TYPE ${name} `);
    expect(text).toContain('process_resident_memory_bytes');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('counts jobs queued and finished by type and status; the gauges and histograms follow the jobs', async () => {
    const user = await newUser(server);
    const before = await scrape();
    const q0 = sample(before, 'genjob_jobs_queued_total', { job_type: 'sdxl_image_fast' });
    const done0 = sample(before, 'genjob_jobs_finished_total', { job_type: 'sdxl_image_fast', status: 'completed' });
    const cancelled0 = sample(before, 'genjob_jobs_finished_total', { job_type: 'video_fast', status: 'cancelled' });
    const failed0 = sample(before, 'genjob_jobs_finished_total', { job_type: 'sdxl_image_fast', status: 'failed' });
    const wait0 = sample(before, 'genjob_job_wait_seconds_count');
    const run0 = sample(before, 'genjob_job_run_seconds_count');

    const a = await queue(user.token);
    const b = await queue(user.token);
    const v = await queue(user.token, 'video_fast');
    let text = await scrape();
    expect(sample(text, 'genjob_jobs_queued_total', { job_type: 'sdxl_image_fast' })).toBe(q0 + 2);
    expect(sample(text, 'genjob_queue_waiting', { queue: 'sdxl_queue' })).toBe(await worker.llen('sdxl_queue'));
    expect(sample(text, 'genjob_queue_waiting', { queue: 'sdxl_queue' })).toBeGreaterThanOrEqual(2);

    const pa = await take('sdxl_queue', a);
    text = await scrape();
    expect(sample(text, 'genjob_job_wait_seconds_count')).toBe(wait0 + 1);
    expect(sample(text, 'genjob_queue_running', { queue: 'sdxl_queue' })).toBeGreaterThanOrEqual(1);

    const path = `${pa.user_id}/sdxl_${a}_1700000000_0.png`;
    expect((await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([137, 80, 78, 71, 1]))).status).toBe(200);
    expect((await worker.callback({ job_id: a, status: 'processing', progress: 10 })).status).toBe(200);
    expect((await worker.callback({ job_id: a, status: 'completed', assets: [path] })).status).toBe(200);
    // A repeated final callback changes nothing and is not counted again.
    expect((await worker.callback({ job_id: a, status: 'completed', assets: [path] })).status).toBe(200);

    await take('sdxl_queue', b);
    // Not a transient infrastructure error (those are retried while attempts remain).
    expect((await worker.callback({ job_id: b, status: 'failed', error_message: 'Unsupported sampler settings' })).status).toBe(200);
    const cancel = await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: v });
    expect(cancel.data?.cancelJob.status).toBe('cancelled');

    text = await scrape();
    expect(sample(text, 'genjob_jobs_finished_total', { job_type: 'sdxl_image_fast', status: 'completed' })).toBe(done0 + 1);
    expect(sample(text, 'genjob_jobs_finished_total', { job_type: 'sdxl_image_fast', status: 'failed' })).toBe(failed0 + 1);
    expect(sample(text, 'genjob_jobs_finished_total', { job_type: 'video_fast', status: 'cancelled' })).toBe(cancelled0 + 1);
    expect(sample(text, 'genjob_jobs_queued_total', { job_type: 'sdxl_image_fast' })).toBe(q0 + 2);
    expect(sample(text, 'genjob_job_run_seconds_count')).toBeGreaterThanOrEqual(run0 + 1);
  });

  it('times every HTTP request by method, route pattern and status (never the raw path)', async () => {
    const before = await scrape();
    const labels = { method: 'GET', route: '/llen/:queue', status: '200' };
    const n0 = sample(before, 'genjob_http_request_duration_seconds_count', labels);
    await worker.llen('sdxl_queue');
    await worker.llen('wan_queue');
    const after = await scrape();
    expect(sample(after, 'genjob_http_request_duration_seconds_count', labels)).toBe(n0 + 2);
    expect(after).not.toContain('route="/llen/sdxl_queue"');
    expect(sample(after, 'genjob_http_request_duration_seconds_count', { method: 'GET', route: '/metrics', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it('counts live subscriptions by kind: up while they listen, down when they end', async () => {
    const user = await newUser(server);
    const id = await queue(user.token);
    const live = async (kind: string) => sample(await scrape(), 'genjob_subscriptions_active', { kind });
    const [job0, user0] = [await live('job'), await live('user')];
    const client = wsClient(server.wsUrl, user.token);
    try {
      const mine = collect(client, `subscription { myJobUpdates { id } }`);
      const one = collect(client, `subscription($id: ID!) { jobUpdated(id: $id) { id status } }`, { id });
      await one.next(1); // its first event is the job as it is
      for (let i = 0; i < 200 && (await live('user')) < user0 + 1; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await live('user')).toBe(user0 + 1);
      expect(await live('job')).toBe(job0 + 1);
      // A watched job that ends ends its subscription.
      const cancelled = await gql(server.url, user.token, `mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id });
      expect(cancelled.errors).toBeUndefined();
      await one.completed();
      mine.unsubscribe();
      for (let i = 0; i < 200 && (await live('user')) > user0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await live('user')).toBe(user0);
      expect(await live('job')).toBe(job0);
    } finally {
      await client.dispose();
    }
  });
});

describe('METRICS_TOKEN', () => {
  it('without the token, or with a wrong one, /metrics is 401 and shows nothing; with it, 200', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${METRICS_TOKEN}x` }] as Array<Record<string, string>>) {
      const res = await fetch(`${guarded.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(text).not.toContain('genjob_');
      expect(text).toContain('METRICS_TOKEN');
    }
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('genjob_jobs_queued_total');
  });

  it('unset, /metrics is open', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
  });
});

describe('x-request-id', () => {
  const paths = ['/health', '/ready', '/graphql?query=%7B__typename%7D', '/metrics', '/llen/sdxl_queue', '/no/such/path', '/functions/v1/queue-job'];

  it('echoes a sane caller id on every answer, whatever the path and status', async () => {
    for (const path of paths) {
      const id = `trace-${Math.random().toString(36).slice(2)}:1.a_b`;
      const res = await fetch(`${server.url}${path}`, { headers: { 'x-request-id': id } });
      expect({ path, id: res.headers.get('x-request-id') }).toEqual({ path, id });
    }
  });

  it('replaces a missing, overlong or unsafe id with a fresh UUID', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = new Set<string>();
    for (const sent of [undefined, '', 'x'.repeat(129), 'has space', 'semi;colon', '<script>', 'a,b']) {
      const res = await fetch(`${server.url}/health`, { headers: sent === undefined ? {} : { 'x-request-id': sent } });
      const got = res.headers.get('x-request-id')!;
      expect(got, String(sent)).toMatch(uuid);
      ids.add(got);
    }
    expect(ids.size).toBe(7);
  });

  it('raw refusals of the HTTP layer (a path escaping its bucket) carry one too', async () => {
    const { request } = await import('node:http');
    const { hostname, port } = new URL(server.url);
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request({ host: hostname, port: Number(port), method: 'GET', path: '/storage/v1/object/sdxl_image_fast/../x.png' }, (res) => {
        res.resume();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
