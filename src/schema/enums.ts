import { JOB_TYPES } from '../resolvers/catalog.js';
import { WEBHOOK_EVENTS } from '../webhooks/outbox.js';
import { builder } from './builder.js';

export const JobTypeEnum = builder.enumType('JobType', { values: JOB_TYPES });
export const JobStatusEnum = builder.enumType('JobStatus', {
  values: ['queued', 'processing', 'completed', 'failed', 'cancelled'] as const,
});
export const MediaFormatEnum = builder.enumType('MediaFormat', { values: ['image', 'video'] as const });
export const QualityEnum = builder.enumType('Quality', { values: ['fast', 'high'] as const });
export const ReferenceTypeEnum = builder.enumType('ReferenceType', {
  description:
    'style/composition/character guide an image; start_frame/end_frame pin a video\'s first/last frame (video job types only).',
  values: ['style', 'composition', 'character', 'start_frame', 'end_frame'] as const,
});
export const WebhookEventEnum = builder.enumType('WebhookEvent', {
  description: "Which job events are sent to a job's webhook.",
  values: WEBHOOK_EVENTS,
});
