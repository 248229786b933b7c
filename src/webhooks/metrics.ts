import { Histogram } from 'prom-client';
import type { Metrics } from '../metrics/registry.js';

export interface WebhookMetrics {
  /** One per attempt: `delivered` (2xx), `retrying` (failed, another attempt is scheduled) or `failed` (gave up). */
  attempt(status: 'delivered' | 'retrying' | 'failed'): void;
  /** Seconds from the job event to the receiver's 2xx answer, on the attempt that delivered it. */
  delivered(seconds: number): void;
}

/**
 * The webhook side of the app's metrics: it counts attempts on the registry's
 * `genjob_webhook_deliveries_total{status}` and adds the delivery-latency
 * histogram to the same registry.
 */
export function createWebhookMetrics(metrics: Pick<Metrics, 'registry' | 'webhookDeliveries'>): WebhookMetrics {
  const latency = new Histogram({
    name: 'genjob_webhook_delivery_latency_seconds',
    help: "Seconds from a job event to the receiver's 2xx answer, retries included.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60, 600, 3600, 7200],
    registers: [metrics.registry],
  });
  for (const status of ['delivered', 'retrying', 'failed'] as const) metrics.webhookDeliveries.inc({ status }, 0);
  return {
    attempt: (status) => metrics.webhookDeliveries.inc({ status }),
    delivered: (seconds) => latency.observe(seconds),
  };
}
