import { Repeater } from 'graphql-yoga';
import { notFound } from '../resolvers/errors.js';
import { cancelJob, getJob, listJobs } from '../resolvers/jobs.js';
import { TERMINAL_STATUSES, type AssetRecord, type JobView } from '../resolvers/jobView.js';
import { jobTopic, userTopic } from '../resolvers/publish.js';
import { queueJob } from '../resolvers/queueJob.js';
import { scheduleAt } from '../resolvers/queueStats.js';
import type { Deps } from '../resolvers/deps.js';
import type { StoredReference } from '../db/schema.js';
import type { EventSubscription } from '../pubsub/events.js';
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

/** Feeds a bus subscription into a Repeater, which (unlike an async generator) can be ended while it waits. */
function stream(
  sub: EventSubscription<JobView>,
  first: JobView | null,
  accept: (job: JobView) => boolean,
  deps?: Deps,
): Repeater<JobView> {
  return new Repeater<JobView>(async (push, stop) => {
    let unwatch = () => {};
    void stop.then(() => {
      unwatch();
      return sub.return();
    });
    let version = -1;
    let latest: JobView | null = null;
    const emit = async (job: JobView) => {
      version = job.version;
      latest = job;
      // A single job's stream also shows its queue position going down while it waits.
      unwatch();
      if (deps && first && job.status === 'queued' && job.takenAt === null) {
        unwatch = deps.scheduler.watchPosition(job, (position) => {
          const at = latest;
          if (!at || at.version !== job.version) return;
          void scheduleAt(deps, at, position).then((schedule) => latest === at && push({ ...at, schedule }), () => {});
        });
      }
      await push(job);
      if (first && TERMINAL_STATUSES.has(job.status)) stop();
    };
    if (first) await emit(first);
    for await (const job of sub) {
      if (first && job.version <= version) continue; // stale or duplicate news
      if (accept(job)) await emit(job);
    }
    stop();
  });
}

builder.subscriptionFields((t) => ({
  jobUpdated: t.field({
    type: Job,
    description: "The job's current state at once, then every change; completes after a terminal state.",
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_root, { id }, ctx) => {
      const viewer = requireUser(ctx);
      const jobId = String(id).toLowerCase();
      // Subscribe before reading, so no change can fall between the read and the stream.
      const sub = await ctx.deps.events.subscribe<JobView>([jobTopic(jobId)]);
      try {
        const current = await getJob(ctx.deps, viewer, jobId);
        if (!current) throw notFound(`Job ${id} not found. Check the id; you can only watch your own jobs.`);
        return stream(sub, current, () => true, ctx.deps);
      } catch (err) {
        await sub.return();
        throw err;
      }
    },
    resolve: (job) => job,
  }),
  myJobUpdates: t.field({
    type: Job,
    description: "Every change to any of the viewer's jobs.",
    subscribe: async (_root, _args, ctx) => {
      const viewer = requireUser(ctx);
      const sub = await ctx.deps.events.subscribe<JobView>([userTopic(viewer.id)]);
      return stream(sub, null, (job) => job.userId === viewer.id);
    },
    resolve: (job) => job,
  }),
}));
