import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics/registry.js';
import type { EventBus } from '../pubsub/events.js';
import type { WorkerQueue } from '../pubsub/queue.js';
import type { Storage } from '../storage/storage.js';
import type { UrlPolicy } from '../webhooks/addresses.js';

/** What the domain functions are handed by the composition root (app.ts). */
export interface Deps {
  db: Db;
  queue: WorkerQueue;
  events: EventBus;
  storage: Storage;
  logger: Logger;
  /** The app's Prometheus registry and the metrics the public surface promises. */
  metrics: Metrics;
  settings: {
    startingCredits: number;
    signedUrlTtl: number;
    jobTimeoutGrace: number;
    /** REFERENCE_ALLOW_PRIVATE: accept reference URLs that resolve to loopback/private/link-local addresses. */
    allowPrivateReferences: boolean;
    /** MAX_ACTIVE_JOBS_PER_USER: queued + running jobs one user may have at once. */
    maxActiveJobsPerUser: number;
  };
  /** Which webhook URLs are allowed (WEBHOOK_ALLOW_PRIVATE) and how their hosts are resolved. */
  webhookPolicy: UrlPolicy;
}
