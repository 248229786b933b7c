/** Every metric name docs/http-api.md promises. */
export const CONTRACT_METRICS = [
  'genjob_jobs_queued_total',
  'genjob_jobs_finished_total',
  'genjob_queue_waiting',
  'genjob_queue_running',
  'genjob_job_wait_seconds',
  'genjob_job_run_seconds',
  'genjob_http_request_duration_seconds',
  'genjob_webhook_deliveries_total',
  'genjob_subscriptions_active',
];

/** The value of one sample line of a Prometheus exposition (`name{labels} value`), 0 when absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ? m[2].split(/,(?=[a-zA-Z_]\w*=")/) : [];
    if (wanted.length === have.length && wanted.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}
