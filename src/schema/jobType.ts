import { CATALOG, type JobTypeEntry } from '../resolvers/catalog.js';
import { builder } from './builder.js';
import { JobTypeEnum, MediaFormatEnum, QualityEnum } from './enums.js';

const JobTypeInfo = builder.objectRef<JobTypeEntry>('JobTypeInfo').implement({
  fields: (t) => ({
    jobType: t.field({ type: JobTypeEnum, resolve: (e) => e.jobType }),
    format: t.field({ type: MediaFormatEnum, resolve: (e) => e.format }),
    quality: t.field({ type: QualityEnum, resolve: (e) => e.quality }),
    queue: t.exposeString('queue'),
    modelVariant: t.exposeString('modelVariant'),
    bucket: t.exposeString('bucket'),
    allowedNumImages: t.field({ type: ['Int'], resolve: (e) => [...e.allowedNumImages] }),
    negativePromptSupported: t.exposeBoolean('negativePromptSupported'),
    expectedGenerationTime: t.exposeInt('expectedGenerationTime', { description: 'Seconds for one output.' }),
    creditCost: t.exposeInt('creditCost', { description: 'Credits for one output; sdxl_* jobs cost this × numImages.' }),
  }),
});

builder.queryField('jobTypes', (t) =>
  t.field({ type: [JobTypeInfo], resolve: () => Object.values(CATALOG) }),
);
