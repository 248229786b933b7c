import { cancelJob } from '../resolvers/cancelJob.js';
import { getJob, listJobs } from '../resolvers/readJobs.js';
import { watchJob, watchUserJobs } from '../resolvers/watchJobs.js';
import type { AssetRecord, JobView } from '../resolvers/jobView.js';
import { queueJob } from '../resolvers/queueJob.js';
import type { StoredReference } from '../db/schema.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';
import { JobStatusEnum, JobTypeEnum, MediaFormatEnum, QualityEnum, ReferenceTypeEnum, WebhookEventEnum } from './enums.js';

interface SignedAsset extends AssetRecord {
  url: string;
  expiresAt: Date;
  thumbnailUrl: string | null;
}

const Reference = builder.objectRef<StoredReference>('Reference').implement({
  fields: (t) => ({
    url: t.exposeString('url'),
    type: t.field({ type: ReferenceTypeEnum, resolve: (r) => r.type }),
    strength: t.exposeFloat('strength'),
  }),
});

const Asset = builder.objectRef<SignedAsset>('Asset').implement({
  fields: (t) => ({
    index: t.exposeInt('index', { description: '0-based position within the job\'s outputs.' }),
    bucket: t.exposeString('bucket'),
    path: t.exposeString('path', { description: 'Path relative to the bucket, as the worker reported it.' }),
    url: t.exposeString('url', { description: 'Signed, expiring URL that downloads the bytes.' }),
    contentType: t.exposeString('contentType', { nullable: true }),
    expiresAt: t.field({ type: 'DateTime', resolve: (a) => a.expiresAt }),
    thumbnailUrl: t.exposeString('thumbnailUrl', {
      nullable: true,
      description:
        'Signed, expiring URL of a small preview (WebP or PNG), when the worker uploaded one or the server made one; null otherwise.',
    }),
  }),
});

export const Job = builder.objectType('Job', {
  fields: (t) => ({
    id: t.exposeID('id'),
    jobType: t.field({ type: JobTypeEnum, resolve: (j) => j.jobType }),
    format: t.field({ type: MediaFormatEnum, resolve: (j) => j.format }),
    quality: t.field({ type: QualityEnum, resolve: (j) => j.quality }),
    status: t.field({ type: JobStatusEnum, resolve: (j) => j.status }),
    progress: t.exposeInt('progress', { description: '0..100; 100 once completed.' }),
    prompt: t.exposeString('prompt'),
    negativePrompt: t.exposeString('negativePrompt', { nullable: true, description: 'Present for sdxl_* jobs only.' }),
    seed: t.field({
      type: 'Seed',
      nullable: true,
      description: 'The requested seed until a worker reports the seed it used.',
      resolve: (j) => j.seed,
    }),
    numImages: t.exposeInt('numImages'),
    references: t.field({ type: [Reference], resolve: (j) => j.references }),
    modelVariant: t.exposeString('modelVariant'),
    queue: t.exposeString('queue'),
    expectedGenerationTime: t.exposeInt('expectedGenerationTime', {
      description: "Seconds, from the job type's catalog entry.",
    }),
    generationTime: t.exposeFloat('generationTime', { nullable: true, description: 'Seconds, as reported by the worker.' }),
    creditCost: t.exposeInt('creditCost'),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    enhancedPrompt: t.exposeString('enhancedPrompt', { nullable: true }),
    assets: t.field({
      type: [Asset],
      resolve: (j, _args, ctx) => {
        const ttl = ctx.deps.settings.signedUrlTtl;
        return Promise.all(
          j.assets.map(async (a) => ({
            ...a,
            ...(await ctx.deps.storage.signedGetUrl(a.bucket, a.path, ttl)),
            thumbnailUrl: a.thumbnailPath ? (await ctx.deps.storage.signedGetUrl(a.bucket, a.thumbnailPath, ttl)).url : null,
          })),
        );
      },
    }),
    metadata: t.field({ type: 'JSON', resolve: (j) => j.metadata }),
    projectId: t.exposeID('projectId', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (j) => j.createdAt }),
    startedAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.startedAt }),
    completedAt: t.field({ type: 'DateTime', nullable: true, resolve: (j) => j.completedAt }),
  }),
});

const PageInfo = builder
  .objectRef<{ hasNextPage: boolean; endCursor: string | null }>('PageInfo')
  .implement({
    fields: (t) => ({
      hasNextPage: t.exposeBoolean('hasNextPage'),
      endCursor: t.exposeString('endCursor', { nullable: true }),
    }),
  });

const JobEdge = builder.objectRef<{ cursor: string; node: JobView }>('JobEdge').implement({
  fields: (t) => ({ cursor: t.exposeString('cursor'), node: t.field({ type: Job, resolve: (e) => e.node }) }),
});

const JobConnection = builder
  .objectRef<{ edges: { cursor: string; node: JobView }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>(
    'JobConnection',
  )
  .implement({
    fields: (t) => ({
      edges: t.field({ type: [JobEdge], resolve: (c) => c.edges }),
      pageInfo: t.field({ type: PageInfo, resolve: (c) => c.pageInfo }),
    }),
  });

const ReferenceInput = builder.inputType('ReferenceInput', {
  fields: (t) => ({
    url: t.string({ required: true, description: 'http(s) URL, or a path returned by createReferenceUpload.' }),
    type: t.field({ type: ReferenceTypeEnum, required: true }),
    strength: t.float({ defaultValue: 0.5, description: '0.1 .. 1.0' }),
  }),
});

const QueueJobInput = builder.inputType('QueueJobInput', {
  fields: (t) => ({
    jobType: t.field({ type: JobTypeEnum, required: true }),
    prompt: t.string({ required: true, description: '1..2000 characters after trimming.' }),
    numImages: t.int({ defaultValue: 1, description: '1, 3 or 6 for sdxl_* types; 1 for every other type.' }),
    seed: t.field({ type: 'Seed' }),
    references: t.field({ type: [ReferenceInput], description: 'At most one reference per type.' }),
    projectId: t.id(),
    idempotencyKey: t.string({
      description: 'Repeating a queueJob with the same key (per user) returns the first job instead of creating another.',
    }),
    webhook: t.string({
      description: 'https URL (http allowed where the deployment allows it) that receives signed POSTs about this job.',
    }),
    webhookEvents: t.field({
      type: [WebhookEventEnum],
      description: 'Events to send to `webhook`; default: completed, failed, cancelled.',
    }),
  }),
});

const QueueJobPayload = builder
  .objectRef<{ job: JobView; queueLength: number; modelVariant: string; isSDXL: boolean; negativePromptSupported: boolean }>(
    'QueueJobPayload',
  )
  .implement({
    fields: (t) => ({
      job: t.field({ type: Job, resolve: (p) => p.job }),
      queueLength: t.exposeInt('queueLength'),
      modelVariant: t.exposeString('modelVariant'),
      isSDXL: t.exposeBoolean('isSDXL'),
      negativePromptSupported: t.exposeBoolean('negativePromptSupported'),
    }),
  });

builder.queryFields((t) => ({
  job: t.field({
    type: Job,
    nullable: true,
    description: 'null when the job does not exist or belongs to someone else.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => getJob(ctx.deps, requireUser(ctx), String(id)),
  }),
  jobs: t.field({
    type: JobConnection,
    description: 'Newest first.',
    args: {
      first: t.arg.int({ defaultValue: 20 }),
      after: t.arg.string(),
      status: t.arg({ type: JobStatusEnum }),
      format: t.arg({ type: MediaFormatEnum }),
    },
    resolve: (_root, args, ctx) => listJobs(ctx.deps, requireUser(ctx), args),
  }),
}));

builder.mutationFields((t) => ({
  queueJob: t.field({
    type: QueueJobPayload,
    args: { input: t.arg({ type: QueueJobInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const viewer = requireUser(ctx);
      const result = await queueJob(ctx.deps, viewer.id, {
        ...input,
        projectId: input.projectId == null ? null : String(input.projectId),
        references: input.references?.map((r) => ({ url: r.url, type: r.type, strength: r.strength })),
      });
      return {
        job: result.job,
        queueLength: result.queueLength,
        modelVariant: result.entry.modelVariant,
        isSDXL: result.entry.queue === 'sdxl_queue',
        negativePromptSupported: result.entry.negativePromptSupported,
      };
    },
  }),
  cancelJob: t.field({
    type: Job,
    description: 'Cancels a queued or processing job and refunds its credits.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => cancelJob(ctx.deps, requireUser(ctx), String(id)),
  }),
}));

builder.subscriptionFields((t) => ({
  jobUpdated: t.field({
    type: Job,
    description: "The job's current state at once, then every change; completes after a terminal state.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => watchJob(ctx.deps, requireUser(ctx), String(id)),
    resolve: (job) => job,
  }),
  myJobUpdates: t.field({
    type: Job,
    description: "Every change to any of the viewer's jobs.",
    subscribe: async (_root, _args, ctx) => watchUserJobs(ctx.deps, requireUser(ctx)),
    resolve: (job) => job,
  }),
}));
