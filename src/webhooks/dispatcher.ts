import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { Db } from '../db/client.js';
import { viewOf, type JobView } from '../resolvers/jobView.js';
import type { WebhookMetrics } from './metrics.js';
import { claimDue, jobRowFromSnapshot, recordAttempt, releaseLease, WEBHOOK_CHANNEL, type ClaimedDelivery } from './outbox.js';
import type { Sender } from './sender.js';
import { signingSecretOf } from './secrets.js';

export interface WebhookDispatcherOptions {
  db: Db;
  /** LISTEN on a channel; resolves to the unlisten function. Without it the dispatcher only polls. */
  listen?: (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;
  sender: Sender;
  /** The job as the GraphQL API returns it (signed asset URLs included), for the body's `data`. */
  render: (job: JobView) => Promise<unknown>;
  logger: Logger;
  metrics?: WebhookMetrics;
  retryBaseSeconds: number;
  /** Longest wait between looks at the outbox (due retries, leases of crashed instances). */
  pollMs: number;
  /** Deliveries in flight at once (default 64). */
  concurrency?: number;
  /** How long a claim holds a delivery; must exceed the send timeout (default 60 s). */
  leaseMs?: number;
}

export interface WebhookDispatcher {
  /** Look at the outbox now. */
  kick(): void;
  /** Stops claiming; sends in flight get a second to finish, then are cut off and handed back uncounted. */
  close(): Promise<void>;
}

/**
 * Sends the outbox. Any number of instances may run one: rows are claimed
 * with a lease. It wakes on the trigger's NOTIFY (sent at commit, so a
 * delivery goes out within milliseconds of the job change), when a send
 * finishes (the next delivery of that job may now go), when a retry it
 * scheduled is due, and every `pollMs` (which picks up everything else: rows
 * whose dispatcher died, retries scheduled by other instances).
 */
export function createWebhookDispatcher(opts: WebhookDispatcherOptions): WebhookDispatcher {
  const { db, logger } = opts;
  const concurrency = opts.concurrency ?? 64;
  const leaseMs = opts.leaseMs ?? 60_000;
  const inFlight = new Map<string, Promise<void>>();
  const stopping = new AbortController();
  let pumping = false;
  let again = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let timerAt = 0;
  let unlisten: (() => Promise<void>) | undefined;

  const listening = opts.listen
    ?.(WEBHOOK_CHANNEL, () => kick())
    .then((u) => {
      if (closed) return u();
      unlisten = u;
    })
    .catch((err) => logger.warn({ err: String(err) }, 'webhook dispatcher could not LISTEN; it polls every SWEEP_INTERVAL_MS instead'));

  function kick(): void {
    if (closed) return;
    if (pumping) {
      again = true;
      return;
    }
    void pump();
  }

  async function pump(): Promise<void> {
    pumping = true;
    try {
      do {
        again = false;
        const room = concurrency - inFlight.size;
        if (room <= 0) break;
        const claimed = await claimDue(db, room, leaseMs);
        for (const d of claimed) {
          const done = deliver(d).finally(() => {
            inFlight.delete(d.id);
            kick();
          });
          inFlight.set(d.id, done);
        }
        if (claimed.length === room) again = true;
      } while (again && !closed);
      // Retries this instance schedules arm the timer themselves (see deliver); the poll finds the rest:
      // other instances' retries, claims of dead instances, redeliveries whose NOTIFY was missed.
      arm(opts.pollMs);
    } catch (err) {
      if (!closed) logger.warn({ err: String(err) }, 'webhook dispatch pass failed; retrying shortly');
      arm(opts.pollMs);
    } finally {
      pumping = false;
    }
  }

  /** Wakes in `ms` at the latest: an earlier wake-up already set is kept. */
  function arm(ms: number): void {
    if (closed) return;
    const at = Date.now() + ms;
    if (timer && timerAt <= at && timerAt > Date.now()) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      kick();
    }, ms);
    timer.unref();
  }

  async function deliver(d: ClaimedDelivery): Promise<void> {
    let outcome;
    try {
      const view = await viewOf(db, jobRowFromSnapshot(d.job));
      const body = JSON.stringify({ type: `job.${d.event}`, timestamp: d.createdAt.toISOString(), data: await opts.render(view) });
      // Signed at send time with the current secret: after a rotation every attempt uses the new one.
      const secret = d.secret ?? (await signingSecretOf(db, d.userId));
      const sentAt = new Date();
      const headers = {
        'webhook-id': d.id,
        'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign(d.id, sentAt, body),
      };
      const result = await opts.sender.send(d.url, headers, body, stopping.signal);
      outcome = { ...result, at: sentAt };
    } catch (err) {
      if (closed) return;
      logger.error({ err: String(err), deliveryId: d.id }, 'could not build a webhook delivery; it will be retried');
      outcome = { status: null, error: 'internal error while preparing the delivery', at: new Date() };
    }
    if (stopping.signal.aborted && outcome.status === null) {
      // Cut off by shutdown: not the receiver's fault, so the attempt is not counted.
      await releaseLease(db, d).catch(() => {});
      return;
    }
    try {
      const recorded = await recordAttempt(db, d, outcome, opts.retryBaseSeconds);
      if (recorded === null) return;
      const { status, nextAttemptAt } = recorded;
      if (nextAttemptAt) arm(Math.max(0, nextAttemptAt.getTime() - Date.now()));
      opts.metrics?.attempt(status === 'pending' ? 'retrying' : status);
      if (status === 'delivered') opts.metrics?.delivered((outcome.at.getTime() - d.createdAt.getTime()) / 1000);
      const log = { deliveryId: d.id, jobId: d.jobId, event: d.event, attempt: d.attempts + 1, status: outcome.status };
      if (status === 'failed') logger.warn({ ...log, error: outcome.error }, 'webhook delivery failed for good; redeliverWebhook sends it again');
      else if (status === 'pending') logger.info({ ...log, error: outcome.error }, 'webhook delivery attempt failed; it will be retried');
    } catch (err) {
      // The lease runs out and the delivery is sent again: at least once, with the same webhook-id.
      logger.warn({ err: String(err), deliveryId: d.id }, 'could not record a webhook attempt');
    }
  }

  kick();
  return {
    kick,
    async close() {
      closed = true;
      clearTimeout(timer);
      await listening;
      await unlisten?.().catch(() => {});
      while (pumping) await new Promise((r) => setTimeout(r, 10));
      const grace = setTimeout(() => stopping.abort(), 1000);
      await Promise.allSettled([...inFlight.values()]);
      clearTimeout(grace);
    },
  };
}
