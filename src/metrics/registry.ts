import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus registry of one app instance, with every metric the public
 * surface promises (docs/http-api.md, "Metrics"). A factory, not prom-client's
 * global registry: tests run several apps in one process, and each must count
 * only its own work.
 *
 * Other parts register more metrics on `registry` (prom-client's
 * `registers: [metrics.registry]` option) and refresh values that are cheaper
 * to read at scrape time than to track through `onScrape`.
 */
export interface Metrics {
  registry: Registry;
  /** `genjob_jobs_queued_total{job_type}`: jobs accepted. */
  jobsQueued: Counter<'job_type'>;
  /** `genjob_jobs_finished_total{job_type,status}`: status is completed, failed or cancelled. */
  jobsFinished: Counter<'job_type' | 'status'>;
  /** `genjob_queue_waiting{queue}`: payloads waiting in a worker queue. */
  queueWaiting: Gauge<'queue'>;
  /** `genjob_queue_running{queue}`: jobs taken by a worker and not finished. */
  queueRunning: Gauge<'queue'>;
  /** `genjob_job_wait_seconds`: queued → taken by a worker. */
  jobWaitSeconds: Histogram;
  /** `genjob_job_run_seconds`: taken → finished. */
  jobRunSeconds: Histogram;
  /** `genjob_http_request_duration_seconds{method,route,status}`. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** `genjob_webhook_deliveries_total{status}`: webhook delivery attempts. */
  webhookDeliveries: Counter<'status'>;
  /** `genjob_subscriptions_active{kind}`: live job watches (kind job: one job; user: all of a user's jobs), listening to the bus. */
  subscriptionsActive: Gauge<'kind'>;
  /**
   * Runs `refresh` before every scrape (for gauges read from a backend, such
   * as queue lengths). A refresh that throws or takes over 2 s is skipped for
   * that scrape: a slow backend must not take the metrics endpoint down.
   */
  onScrape(refresh: () => Promise<void> | void): void;
  /** The exposition text, after the scrape refreshes ran. */
  render(): Promise<string>;
  contentType: string;
}

export interface CreateMetricsOptions {
  /** Collect prom-client's process and Node.js metrics (default true). */
  defaults?: boolean;
  /** Called with a refresh's error (logging is the caller's business). */
  onRefreshError?: (err: unknown) => void;
}

/** Seconds buckets from 5 ms to 10 min: covers HTTP requests and GPU jobs alike. */
const JOB_BUCKETS = [0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300, 600, 1200, 3600];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const REFRESH_TIMEOUT_MS = 2000;

export function createMetrics(opts: CreateMetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.defaults !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const refreshes: Array<() => Promise<void> | void> = [];

  return {
    registry,
    jobsQueued: new Counter({ name: 'genjob_jobs_queued_total', help: 'Jobs accepted, by job type.', labelNames: ['job_type'], registers }),
    jobsFinished: new Counter({
      name: 'genjob_jobs_finished_total',
      help: 'Jobs that reached a final state, by job type and status (completed, failed, cancelled).',
      labelNames: ['job_type', 'status'],
      registers,
    }),
    queueWaiting: new Gauge({ name: 'genjob_queue_waiting', help: 'Payloads waiting in a worker queue.', labelNames: ['queue'], registers }),
    queueRunning: new Gauge({ name: 'genjob_queue_running', help: 'Jobs a worker took and has not finished, by queue.', labelNames: ['queue'], registers }),
    jobWaitSeconds: new Histogram({ name: 'genjob_job_wait_seconds', help: 'Seconds from queued to taken by a worker.', buckets: JOB_BUCKETS, registers }),
    jobRunSeconds: new Histogram({ name: 'genjob_job_run_seconds', help: 'Seconds from taken by a worker to finished.', buckets: JOB_BUCKETS, registers }),
    httpRequestDuration: new Histogram({
      name: 'genjob_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    webhookDeliveries: new Counter({ name: 'genjob_webhook_deliveries_total', help: 'Webhook delivery attempts, by outcome.', labelNames: ['status'], registers }),
    subscriptionsActive: new Gauge({
      name: 'genjob_subscriptions_active',
      help: 'Live job subscriptions on this instance, listening for changes (kind: job or user).',
      labelNames: ['kind'],
      registers,
    }),
    onScrape(refresh) {
      refreshes.push(refresh);
    },
    async render() {
      await Promise.all(
        refreshes.map(async (refresh) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            await Promise.race([
              refresh(),
              new Promise((_, reject) => {
                timer = setTimeout(() => reject(new Error(`a metrics refresh took over ${REFRESH_TIMEOUT_MS} ms`)), REFRESH_TIMEOUT_MS);
              }),
            ]);
          } catch (err) {
            opts.onRefreshError?.(err);
          } finally {
            clearTimeout(timer);
          }
        }),
      );
      return registry.metrics();
    },
    contentType: registry.contentType,
  };
}
