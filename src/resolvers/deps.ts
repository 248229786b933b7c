import type { Logger } from 'pino';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics/registry.js';
import type { EventBus } from '../pubsub/events.js';
import type { WorkerQueue } from '../pubsub/queue.js';
import type { Storage } from '../storage/storage.js';
import type { UrlPolicy } from '../webhooks/addresses.js';

export interface SchedulerHooks {
  /** Something changed in `queue` (a job queued, taken, re-queued, cancelled): refill its window soon, refresh positions. */
  changed(queue: string): void;
  /** A worker polled `queue` (counts toward its active workers). */
  polled(queue: string, worker: string): void;
  /**
   * Calls `listener` with the job's new place whenever jobs ahead of it are
   * taken (at most once a second), while it waits. Returns the unwatch.
   */
  watchPosition(job: { id: string; queue: string }, listener: (position: number) => void): () => void;
}

export const NO_SCHEDULER: SchedulerHooks = { changed: () => {}, polled: () => {}, watchPosition: () => () => {} };

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
    /** MAX_ATTEMPTS: hand-outs of a job before it fails for good. */
    maxAttempts: number;
    /** Failure messages worth another attempt (TRANSIENT_ERROR_PATTERN). */
    transientErrorPattern: RegExp;
    /** Jobs kept in each Redis list for direct poppers; 0 with the in-process queue. */
    windowSize: number;
    /** REFERENCE_ALLOW_PRIVATE: accept reference URLs that resolve to loopback/private/link-local addresses. */
    allowPrivateReferences: boolean;
    /** MAX_ACTIVE_JOBS_PER_USER: queued + running jobs one user may have at once. */
    maxActiveJobsPerUser: number;
  };
  /**
   * The scheduler's hooks (scheduler.ts), set by the composition root once
   * it started; no-ops until then, and in tests that drive the domain alone.
   */
  scheduler: SchedulerHooks;
  /** Which webhook URLs are allowed (WEBHOOK_ALLOW_PRIVATE) and how their hosts are resolved. */
  webhookPolicy: UrlPolicy;
}
