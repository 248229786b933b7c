import { createScheduleLoader, allQueueStats, type QueueStats } from '../resolvers/queueStats.js';
import { retryJob } from '../resolvers/retryJob.js';
import type { JobView, ScheduleView } from '../resolvers/jobView.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';
import type { Context } from './context.js';
import { Job } from './job.js';

/** One schedule loader per request, so a page of jobs costs one pass per queue. */
const loaders = new WeakMap<Context, (view: JobView) => Promise<ScheduleView>>();
function scheduleOf(ctx: Context, job: JobView): Promise<ScheduleView> {
  let load = loaders.get(ctx);
  if (!load) loaders.set(ctx, (load = createScheduleLoader(ctx.deps)));
  return load(job);
}

builder.objectFields(Job, (t) => ({
  attempts: t.exposeInt('attempts', {
    description: 'How many times a worker has been handed this job (0 while it waits for its first).',
  }),
  maxAttempts: t.exposeInt('maxAttempts'),
  queuePosition: t.int({
    nullable: true,
    description: '1 = next to be handed to a worker of its queue; null unless the job is queued and not yet taken.',
    resolve: async (job, _args, ctx) => (await scheduleOf(ctx, job)).queuePosition,
  }),
  estimatedStartAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: "When a worker is expected to take the job, from the queue's measured throughput; null when not queued or unknown.",
    resolve: async (job, _args, ctx) => (await scheduleOf(ctx, job)).estimatedStartAt,
  }),
  estimatedCompletionAt: t.field({
    type: 'DateTime',
    nullable: true,
    description: 'When the job is expected to finish; null when finished or unknown.',
    resolve: async (job, _args, ctx) => (await scheduleOf(ctx, job)).estimatedCompletionAt,
  }),
}));

const QueueInfo = builder.objectRef<QueueStats>('QueueInfo').implement({
  fields: (t) => ({
    name: t.exposeString('name', { description: 'sdxl_queue or wan_queue.' }),
    waiting: t.exposeInt('waiting', { description: 'Jobs queued and not yet taken by a worker.' }),
    running: t.exposeInt('running', { description: 'Jobs a worker has taken and not finished.' }),
    activeWorkers: t.exposeInt('activeWorkers', {
      description:
        'Distinct workers that took a job or polled this queue in the last 5 minutes, where the server can tell them apart; otherwise the number of jobs running.',
    }),
    throughputPerMinute: t.exposeFloat('throughputPerMinute', {
      description: 'Jobs finished (completed or failed) per minute over the last 15 minutes.',
    }),
    estimatedWaitSeconds: t.exposeInt('estimatedWaitSeconds', {
      nullable: true,
      description: 'Expected wait in seconds for a job queued now; null when the queue has no throughput history.',
    }),
  }),
});

builder.queryFields((t) => ({
  queues: t.field({
    type: [QueueInfo],
    description: 'The worker queues, as a user deciding when to queue would want to see them.',
    resolve: (_root, _args, ctx) => {
      requireUser(ctx);
      return allQueueStats(ctx.deps);
    },
  }),
}));

builder.mutationFields((t) => ({
  retryJob: t.field({
    type: Job,
    description: 'Queues a failed or cancelled job again as a new attempt, charging its cost again; the job keeps its id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => retryJob(ctx.deps, requireUser(ctx), String(id)),
  }),
}));
