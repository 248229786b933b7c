import { resolveWebhookTarget, WebhookUrlError } from '../webhooks/addresses.js';
import { DEFAULT_WEBHOOK_EVENTS, deliveriesOf, redeliver, WEBHOOK_EVENTS, type WebhookDeliveryView } from '../webhooks/outbox.js';
import { rotateSigningSecret, signingSecretOf } from '../webhooks/secrets.js';
import type { Deps } from './deps.js';
import { badInput, notFound } from './errors.js';
import { isUuid } from '../vocabulary.js';
import type { Viewer } from './viewer.js';
import type { QueueJobRequest } from './validateJob.js';


/**
 * A queueJob's `webhook` and `webhookEvents`, checked before anything is
 * written: the URL's shape and, unless WEBHOOK_ALLOW_PRIVATE, that its host
 * resolves only to public addresses (the dispatcher checks again at every
 * delivery, since DNS answers change). A DNS server that does not answer
 * right now is not the caller's fault: such a URL is accepted and checked
 * at delivery time.
 */
export async function checkWebhookRequest(
  deps: Deps,
  req: QueueJobRequest,
): Promise<{ webhook: string | null; webhookEvents: string[] | null }> {
  const raw = req.webhook ?? null;
  const events = req.webhookEvents ?? null;
  if (raw === null) {
    if (events !== null) throw badInput('webhookEvents needs a webhook: add the URL that should receive them.', { field: 'webhookEvents' });
    return { webhook: null, webhookEvents: null };
  }
  if (typeof raw !== 'string') throw badInput('webhook must be an https URL.', { field: 'webhook' });
  try {
    await resolveWebhookTarget(raw, deps.webhookPolicy);
  } catch (err) {
    if (!(err instanceof WebhookUrlError)) throw err;
    if (!err.temporary) throw badInput(err.message, { field: 'webhook' });
  }
  if (raw.includes('\0')) throw badInput('webhook may not contain NUL characters.', { field: 'webhook' });
  const webhook = raw;
  if (events === null) return { webhook, webhookEvents: [...DEFAULT_WEBHOOK_EVENTS] };
  if (!Array.isArray(events) || events.length === 0) {
    throw badInput(`webhookEvents must name at least one of ${WEBHOOK_EVENTS.join(', ')} (or leave it out for completed, failed, cancelled).`, {
      field: 'webhookEvents',
    });
  }
  for (const e of events) {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(e)) {
      throw badInput(`webhookEvents: "${String(e)}" is not an event; use ${WEBHOOK_EVENTS.join(', ')}.`, { field: 'webhookEvents' });
    }
  }
  return { webhook, webhookEvents: WEBHOOK_EVENTS.filter((e) => events.includes(e)) };
}

/** The viewer's Standard Webhooks signing secret, created on first read. */
export function webhookSigningSecret(deps: Deps, viewer: Viewer): Promise<string> {
  return signingSecretOf(deps.db, viewer.id);
}

/** A new secret for the viewer; the old one signs nothing from now on. */
export function rotateWebhookSigningSecret(deps: Deps, viewer: Viewer): Promise<string> {
  return rotateSigningSecret(deps.db, viewer.id);
}

/** The deliveries of a job the caller already may see, in event order. */
export function webhookDeliveriesOf(deps: Deps, jobId: string): Promise<WebhookDeliveryView[]> {
  return deliveriesOf(deps.db, [jobId]);
}

/** Sends a delivery again now: the owner's (or, for admins, anyone's); others get NOT_FOUND. */
export async function redeliverWebhook(deps: Deps, viewer: Viewer, id: string): Promise<WebhookDeliveryView> {
  const missing = () => notFound(`Webhook delivery ${id} not found. Check the id (Job.webhookDeliveries lists them); you can only redeliver your own.`);
  if (!isUuid(id)) throw missing();
  const row = await redeliver(deps.db, id.toLowerCase(), viewer.admin ? null : viewer.id);
  if (!row) throw missing();
  return row;
}
