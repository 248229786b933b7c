/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type JobStatus =
  | 'cancelled'
  | 'completed'
  | 'failed'
  | 'processing'
  | 'queued';

export type JobType =
  | 'image7b_fast_enhanced'
  | 'image7b_high_enhanced'
  | 'image_fast'
  | 'image_high'
  | 'sdxl_image_fast'
  | 'sdxl_image_high'
  | 'video7b_fast_enhanced'
  | 'video7b_high_enhanced'
  | 'video_fast'
  | 'video_high';

export type MediaFormat =
  | 'image'
  | 'video';

export type Quality =
  | 'fast'
  | 'high';

export type QueueJobInput = {
  /** Repeating a queueJob with the same key (per user) returns the first job instead of creating another. */
  idempotencyKey?: string | null | undefined;
  jobType: JobType;
  /** 1, 3 or 6 for sdxl_* types; 1 for every other type. */
  numImages?: number | null | undefined;
  projectId?: string | number | null | undefined;
  /** 1..2000 characters after trimming. */
  prompt: string;
  /** At most one reference per type. */
  references?: Array<ReferenceInput> | null | undefined;
  seed?: number | null | undefined;
  /** https URL (http allowed where the deployment allows it) that receives signed POSTs about this job. */
  webhook?: string | null | undefined;
  /** Events to send to `webhook`; default: completed, failed, cancelled. */
  webhookEvents?: Array<WebhookEvent> | null | undefined;
};

export type ReferenceInput = {
  /** 0.1 .. 1.0 */
  strength?: number | null | undefined;
  type: ReferenceType;
  /** http(s) URL, or a path returned by createReferenceUpload. */
  url: string;
};

/** style/composition/character guide an image; start_frame/end_frame pin a video's first/last frame (video job types only). */
export type ReferenceType =
  | 'character'
  | 'composition'
  | 'end_frame'
  | 'start_frame'
  | 'style';

/** Which job events are sent to a job's webhook. */
export type WebhookEvent =
  | 'cancelled'
  | 'completed'
  | 'failed'
  | 'processing';

export type JobFieldsFragment = { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> };

export type ConsoleStartQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleStartQuery = { me: { id: string, credits: number }, jobTypes: Array<{ jobType: JobType, format: MediaFormat, quality: Quality, queue: string, allowedNumImages: Array<number>, expectedGenerationTime: number, creditCost: number }> };

export type ConsoleMeQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleMeQuery = { me: { id: string, credits: number } };

export type ConsoleJobsQueryVariables = Exact<{
  first: number;
  after?: string | null | undefined;
}>;


export type ConsoleJobsQuery = { jobs: { edges: Array<{ node: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleQueuesQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleQueuesQuery = { queues: Array<{ name: string, waiting: number, running: number, activeWorkers: number, throughputPerMinute: number, estimatedWaitSeconds: number | null }> };

export type ConsoleQueueJobMutationVariables = Exact<{
  input: QueueJobInput;
}>;


export type ConsoleQueueJobMutation = { queueJob: { job: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } } };

export type ConsoleCancelJobMutationVariables = Exact<{
  id: string | number;
}>;


export type ConsoleCancelJobMutation = { cancelJob: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } };

export type ConsoleRetryJobMutationVariables = Exact<{
  id: string | number;
}>;


export type ConsoleRetryJobMutation = { retryJob: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } };

export type ConsoleReferenceUploadMutationVariables = Exact<{
  contentType: string;
  filename?: string | null | undefined;
}>;


export type ConsoleReferenceUploadMutation = { createReferenceUpload: { path: string, uploadUrl: string, method: string, headers: unknown, fields: unknown, maxBytes: number } };

export type ConsoleJobUpdatesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type ConsoleJobUpdatesSubscription = { myJobUpdates: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } };

export type ConsoleJobUpdatedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type ConsoleJobUpdatedSubscription = { jobUpdated: { id: string, jobType: JobType, format: MediaFormat, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, attempts: number, maxAttempts: number, queuePosition: number | null, estimatedStartAt: string | null, estimatedCompletionAt: string | null, references: Array<{ type: ReferenceType, strength: number }>, assets: Array<{ index: number, url: string, thumbnailUrl: string | null, contentType: string | null }> } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const JobFieldsFragmentDoc = new TypedDocumentString(`
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}
    `, {"fragmentName":"JobFields"}) as unknown as TypedDocumentString<JobFieldsFragment, unknown>;
export const ConsoleStartDocument = new TypedDocumentString(`
    query ConsoleStart {
  me {
    id
    credits
  }
  jobTypes {
    jobType
    format
    quality
    queue
    allowedNumImages
    expectedGenerationTime
    creditCost
  }
}
    `) as unknown as TypedDocumentString<ConsoleStartQuery, ConsoleStartQueryVariables>;
export const ConsoleMeDocument = new TypedDocumentString(`
    query ConsoleMe {
  me {
    id
    credits
  }
}
    `) as unknown as TypedDocumentString<ConsoleMeQuery, ConsoleMeQueryVariables>;
export const ConsoleJobsDocument = new TypedDocumentString(`
    query ConsoleJobs($first: Int!, $after: String) {
  jobs(first: $first, after: $after) {
    edges {
      node {
        ...JobFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleJobsQuery, ConsoleJobsQueryVariables>;
export const ConsoleQueuesDocument = new TypedDocumentString(`
    query ConsoleQueues {
  queues {
    name
    waiting
    running
    activeWorkers
    throughputPerMinute
    estimatedWaitSeconds
  }
}
    `) as unknown as TypedDocumentString<ConsoleQueuesQuery, ConsoleQueuesQueryVariables>;
export const ConsoleQueueJobDocument = new TypedDocumentString(`
    mutation ConsoleQueueJob($input: QueueJobInput!) {
  queueJob(input: $input) {
    job {
      ...JobFields
    }
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleQueueJobMutation, ConsoleQueueJobMutationVariables>;
export const ConsoleCancelJobDocument = new TypedDocumentString(`
    mutation ConsoleCancelJob($id: ID!) {
  cancelJob(id: $id) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleCancelJobMutation, ConsoleCancelJobMutationVariables>;
export const ConsoleRetryJobDocument = new TypedDocumentString(`
    mutation ConsoleRetryJob($id: ID!) {
  retryJob(id: $id) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleRetryJobMutation, ConsoleRetryJobMutationVariables>;
export const ConsoleReferenceUploadDocument = new TypedDocumentString(`
    mutation ConsoleReferenceUpload($contentType: String!, $filename: String) {
  createReferenceUpload(contentType: $contentType, filename: $filename) {
    path
    uploadUrl
    method
    headers
    fields
    maxBytes
  }
}
    `) as unknown as TypedDocumentString<ConsoleReferenceUploadMutation, ConsoleReferenceUploadMutationVariables>;
export const ConsoleJobUpdatesDocument = new TypedDocumentString(`
    subscription ConsoleJobUpdates {
  myJobUpdates {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleJobUpdatesSubscription, ConsoleJobUpdatesSubscriptionVariables>;
export const ConsoleJobUpdatedDocument = new TypedDocumentString(`
    subscription ConsoleJobUpdated($id: ID!) {
  jobUpdated(id: $id) {
    ...JobFields
  }
}
    fragment JobFields on Job {
  id
  jobType
  format
  status
  progress
  prompt
  negativePrompt
  seed
  numImages
  queue
  expectedGenerationTime
  generationTime
  creditCost
  errorMessage
  createdAt
  startedAt
  completedAt
  attempts
  maxAttempts
  queuePosition
  estimatedStartAt
  estimatedCompletionAt
  references {
    type
    strength
  }
  assets {
    index
    url
    thumbnailUrl
    contentType
  }
}`) as unknown as TypedDocumentString<ConsoleJobUpdatedSubscription, ConsoleJobUpdatedSubscriptionVariables>;