import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/registry.js';
import { CONTRACT_METRICS, sample } from '../helpers/metrics.js';

describe('the metrics registry', () => {
  it('exposes every promised name, plus the process and Node.js defaults', async () => {
    const text = await createMetrics().render();
    for (const name of CONTRACT_METRICS) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('two registries count independently', async () => {
    const a = createMetrics({ defaults: false });
    const b = createMetrics({ defaults: false });
    a.jobsQueued.inc({ job_type: 'sdxl_image_fast' });
    expect(sample(await a.render(), 'genjob_jobs_queued_total', { job_type: 'sdxl_image_fast' })).toBe(1);
    expect(await b.render()).not.toContain('genjob_jobs_queued_total{job_type="sdxl_image_fast"}');
  });

  it('refreshes gauges at scrape time, and skips a failing or slow refresh without failing the scrape', async () => {
    const errors: unknown[] = [];
    const m = createMetrics({ defaults: false, onRefreshError: (e) => errors.push(e) });
    let length = 3;
    m.onScrape(() => void m.queueWaiting.set({ queue: 'sdxl_queue' }, length));
    m.onScrape(() => {
      throw new Error('redis down');
    });
    m.onScrape(() => new Promise(() => {})); // never settles
    const started = Date.now();
    expect(await m.render()).toContain('genjob_queue_waiting{queue="sdxl_queue"} 3');
    expect(Date.now() - started).toBeLessThan(3000);
    length = 5;
    expect(await m.render()).toContain('genjob_queue_waiting{queue="sdxl_queue"} 5');
    expect(errors.map(String)).toEqual(expect.arrayContaining(['Error: redis down', expect.stringContaining('took over')]));
  });
});
