import { JOB_STATUSES, JOB_TYPES, MEDIA_FORMATS, QUALITIES, REFERENCE_TYPES } from '../vocabulary.js';
import { WEBHOOK_EVENTS } from '../webhooks/outbox.js';
import { builder } from './builder.js';

export const JobTypeEnum = builder.enumType('JobType', { values: JOB_TYPES });
export const JobStatusEnum = builder.enumType('JobStatus', {
  values: JOB_STATUSES,
});
export const MediaFormatEnum = builder.enumType('MediaFormat', { values: MEDIA_FORMATS });
export const QualityEnum = builder.enumType('Quality', { values: QUALITIES });
export const ReferenceTypeEnum = builder.enumType('ReferenceType', {
  description:
    'style/composition/character guide an image; start_frame/end_frame pin a video\'s first/last frame (video job types only).',
  values: REFERENCE_TYPES,
});
export const WebhookEventEnum = builder.enumType('WebhookEvent', {
  description: "Which job events are sent to a job's webhook.",
  values: WEBHOOK_EVENTS,
});
