import { Counter, Histogram, type Registry } from 'prom-client';

export interface WebhookMetrics {
  /** One per attempt: `delivered` (2xx), `retrying` (failed, another attempt is scheduled) or `failed` (gave up). */
  attempt(status: 'delivered' | 'retrying' | 'failed'): void;
  /** Seconds from the job event to the receiver's 2xx answer, on the attempt that delivered it. */
  delivered(seconds: number): void;
}

/**
 * `genjob_webhook_deliveries_total{status}` (a name fixed by the public /metrics surface) and
 * the delivery-latency histogram, registered in the app's registry.
 */
export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const total = new Counter({
    name: 'genjob_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, will retry), failed (gave up).',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'genjob_webhook_delivery_latency_seconds',
    help: 'Seconds from a job event to the receiver\'s 2xx answer, retries included.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600, 3600, 7200],
    registers: [registry],
  });
  for (const status of ['delivered', 'retrying', 'failed'] as const) total.inc({ status }, 0);
  return {
    attempt: (status) => total.inc({ status }),
    delivered: (seconds) => latency.observe(seconds),
  };
}
