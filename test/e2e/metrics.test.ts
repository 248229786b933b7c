import { describe, expect, it } from 'vitest';
import { CONTRACT_METRICS, sample } from '../helpers/metrics.js';
import { gql, newUser, type TestServer, serverForFile, type Fleet } from '../helpers/app.js';

/**
 * The operator's metrics: every promised name is exposed, and the job
 * counters, gauges and histograms move as jobs are queued, taken and finished.
 */
let server: TestServer;
let worker: Fleet;
serverForFile((s, w) => ((server = s), (worker = w)));

const scrape = () => server.app.deps.metrics.render();

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
});
