import { rotateWebhookSigningSecret, redeliverWebhook, webhookDeliveriesOf, webhookSigningSecret } from '../resolvers/webhooks.js';
import { WEBHOOK_EVENTS, type WebhookDeliveryView } from '../webhooks/outbox.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';
import { WebhookEventEnum } from './enums.js';
import { Job } from './job.js';


const WebhookDeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: ['pending', 'delivered', 'failed'] as const,
});

const WebhookDelivery = builder.objectRef<WebhookDeliveryView>('WebhookDelivery').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Also the `webhook-id` header, the same on every attempt.' }),
    event: t.field({ type: WebhookEventEnum, resolve: (d) => d.event as (typeof WEBHOOK_EVENTS)[number] }),
    status: t.field({ type: WebhookDeliveryStatusEnum, resolve: (d) => d.status as 'pending' | 'delivered' | 'failed' }),
    attempts: t.exposeInt('attempts', { description: 'Attempts made so far (1 after the first try).' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'HTTP status of the last attempt; null when it got no answer.' }),
    lastAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.lastAttemptAt }),
    nextAttemptAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.nextAttemptAt }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last attempt failed (no answer, the status, a refused address); null once delivered.',
    }),
    createdAt: t.field({ type: 'DateTime', description: 'When the job event happened (the body\'s `timestamp`).', resolve: (d) => d.createdAt }),
    deliveredAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.deliveredAt }),
  }),
});

builder.objectFields(Job, (t) => ({
  webhook: t.exposeString('webhook', { nullable: true }),
  webhookEvents: t.field({
    type: [WebhookEventEnum],
    nullable: true,
    description: 'The events sent to `webhook`; null without a webhook.',
    resolve: (j) => j.webhookEvents as (typeof WEBHOOK_EVENTS)[number][] | null,
  }),
  webhookDeliveries: t.field({
    type: [WebhookDelivery],
    description: 'One per event sent (or being sent) to `webhook`, in event order.',
    resolve: (j, _args, ctx) => (j.webhook ? webhookDeliveriesOf(ctx.deps, j.id) : []),
  }),
}));

builder.queryField('webhookSigningSecret', (t) =>
  t.string({
    description: "The viewer's webhook signing secret (Standard Webhooks `whsec_…`), created on first read.",
    resolve: (_root, _args, ctx) => webhookSigningSecret(ctx.deps, requireUser(ctx)),
  }),
);

builder.mutationFields((t) => ({
  redeliverWebhook: t.field({
    type: WebhookDelivery,
    description: 'Sends a webhook delivery again now.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => redeliverWebhook(ctx.deps, requireUser(ctx), String(id)),
  }),
  rotateWebhookSigningSecret: t.string({
    description: "Replaces the viewer's webhook signing secret; the old one stops signing at once.",
    resolve: (_root, _args, ctx) => rotateWebhookSigningSecret(ctx.deps, requireUser(ctx)),
  }),
}));
