import type { Config } from '../config.js';
import type { DbHandle } from '../db/client.js';
import type { JobView } from '../resolvers/jobView.js';
import type { Deps } from '../resolvers/deps.js';
import { createWebhookDispatcher } from './dispatcher.js';
import { createWebhookMetrics } from './metrics.js';
import { createSender } from './sender.js';

export interface StartWebhooksOptions {
  deps: Deps;
  db: DbHandle;
  config: Config['webhooks'];
  /** SWEEP_INTERVAL_MS: the longest the dispatcher goes without looking at the outbox. */
  pollMs: number;
  /** The job as the GraphQL API returns it (the composition root passes the schema's renderer). */
  render: (job: JobView) => Promise<unknown>;
}

/** Starts this instance's webhook sender and dispatcher; `close()` stops both. */
export function startWebhooks(opts: StartWebhooksOptions): { close(): Promise<void> } {
  const { deps, config } = opts;
  const sender = createSender({ ...deps.webhookPolicy, timeoutMs: config.timeoutMs });
  const dispatcher = createWebhookDispatcher({
    db: deps.db,
    listen: (channel, onNotify) => opts.db.listen(channel, onNotify),
    sender,
    render: opts.render,
    logger: deps.logger,
    metrics: createWebhookMetrics(deps.metrics),
    retryBaseSeconds: config.retryBaseSeconds,
    pollMs: opts.pollMs,
    // Longer than any send may take, so a live dispatcher never loses its claim; short enough that a dead one's come back soon.
    leaseMs: config.timeoutMs * 2 + 5000,
  });
  return {
    async close() {
      await dispatcher.close();
      sender.close();
    },
  };
}
