/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  DateTime: { input: string; output: string; }
  JSON: { input: unknown; output: unknown; }
  Seed: { input: number; output: number; }
};

export type Asset = {
  __typename?: 'Asset';
  bucket: Scalars['String']['output'];
  contentType?: Maybe<Scalars['String']['output']>;
  expiresAt: Scalars['DateTime']['output'];
  /** 0-based position within the job's outputs. */
  index: Scalars['Int']['output'];
  /** Path relative to the bucket, as the worker reported it. */
  path: Scalars['String']['output'];
  /** Signed, expiring URL that downloads the bytes. */
  url: Scalars['String']['output'];
};

export type Job = {
  __typename?: 'Job';
  assets: Array<Asset>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  creditCost: Scalars['Int']['output'];
  enhancedPrompt?: Maybe<Scalars['String']['output']>;
  errorMessage?: Maybe<Scalars['String']['output']>;
  /** Seconds, from the job type's catalog entry. */
  expectedGenerationTime: Scalars['Int']['output'];
  format: MediaFormat;
  /** Seconds, as reported by the worker. */
  generationTime?: Maybe<Scalars['Float']['output']>;
  id: Scalars['ID']['output'];
  jobType: JobType;
  metadata: Scalars['JSON']['output'];
  modelVariant: Scalars['String']['output'];
  /** Present for sdxl_* jobs only. */
  negativePrompt?: Maybe<Scalars['String']['output']>;
  numImages: Scalars['Int']['output'];
  /** 0..100; 100 once completed. */
  progress: Scalars['Int']['output'];
  projectId?: Maybe<Scalars['ID']['output']>;
  prompt: Scalars['String']['output'];
  quality: Quality;
  queue: Scalars['String']['output'];
  references: Array<Reference>;
  /** The requested seed until a worker reports the seed it used. */
  seed?: Maybe<Scalars['Seed']['output']>;
  startedAt?: Maybe<Scalars['DateTime']['output']>;
  status: JobStatus;
};

export type JobConnection = {
  __typename?: 'JobConnection';
  edges: Array<JobEdge>;
  pageInfo: PageInfo;
};

export type JobEdge = {
  __typename?: 'JobEdge';
  cursor: Scalars['String']['output'];
  node: Job;
};

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

export type JobTypeInfo = {
  __typename?: 'JobTypeInfo';
  allowedNumImages: Array<Scalars['Int']['output']>;
  bucket: Scalars['String']['output'];
  /** Credits for one output; sdxl_* jobs cost this × numImages. */
  creditCost: Scalars['Int']['output'];
  /** Seconds for one output. */
  expectedGenerationTime: Scalars['Int']['output'];
  format: MediaFormat;
  jobType: JobType;
  modelVariant: Scalars['String']['output'];
  negativePromptSupported: Scalars['Boolean']['output'];
  quality: Quality;
  queue: Scalars['String']['output'];
};

export type MediaFormat =
  | 'image'
  | 'video';

export type Mutation = {
  __typename?: 'Mutation';
  /** Cancels a queued or processing job and refunds its credits. */
  cancelJob: Job;
  queueJob: QueueJobPayload;
};


export type MutationCancelJobArgs = {
  id: Scalars['ID']['input'];
};


export type MutationQueueJobArgs = {
  input: QueueJobInput;
};

export type PageInfo = {
  __typename?: 'PageInfo';
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

export type Quality =
  | 'fast'
  | 'high';

export type Query = {
  __typename?: 'Query';
  /** null when the job does not exist or belongs to someone else. */
  job?: Maybe<Job>;
  jobTypes: Array<JobTypeInfo>;
  /** Newest first. */
  jobs: JobConnection;
  me: Viewer;
};


export type QueryJobArgs = {
  id: Scalars['ID']['input'];
};


export type QueryJobsArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  format?: InputMaybe<MediaFormat>;
  status?: InputMaybe<JobStatus>;
};

export type QueueJobInput = {
  /** Repeating a queueJob with the same key (per user) returns the first job instead of creating another. */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  jobType: JobType;
  /** 1, 3 or 6 for sdxl_* types; 1 for every other type. */
  numImages?: InputMaybe<Scalars['Int']['input']>;
  projectId?: InputMaybe<Scalars['ID']['input']>;
  /** 1..2000 characters after trimming. */
  prompt: Scalars['String']['input'];
  /** At most one reference per type. */
  references?: InputMaybe<Array<ReferenceInput>>;
  seed?: InputMaybe<Scalars['Seed']['input']>;
};

export type QueueJobPayload = {
  __typename?: 'QueueJobPayload';
  isSDXL: Scalars['Boolean']['output'];
  job: Job;
  modelVariant: Scalars['String']['output'];
  negativePromptSupported: Scalars['Boolean']['output'];
  queueLength: Scalars['Int']['output'];
};

export type Reference = {
  __typename?: 'Reference';
  strength: Scalars['Float']['output'];
  type: ReferenceType;
  url: Scalars['String']['output'];
};

export type ReferenceInput = {
  /** 0.1 .. 1.0 */
  strength?: InputMaybe<Scalars['Float']['input']>;
  type: ReferenceType;
  /** http(s) URL, or a path returned by createReferenceUpload. */
  url: Scalars['String']['input'];
};

/** style/composition/character guide an image; start_frame/end_frame pin a video's first/last frame (video job types only). */
export type ReferenceType =
  | 'character'
  | 'composition'
  | 'end_frame'
  | 'start_frame'
  | 'style';

export type Subscription = {
  __typename?: 'Subscription';
  /** The job's current state at once, then every change; completes after a terminal state. */
  jobUpdated: Job;
  /** Every change to any of the viewer's jobs. */
  myJobUpdates: Job;
};


export type SubscriptionJobUpdatedArgs = {
  id: Scalars['ID']['input'];
};

export type Viewer = {
  __typename?: 'Viewer';
  credits: Scalars['Int']['output'];
  id: Scalars['ID']['output'];
};

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

export type JobFieldsFragment = { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> };

export type QueueJobMutationVariables = Exact<{
  input: QueueJobInput;
}>;


export type QueueJobMutation = { queueJob: { queueLength: number, modelVariant: string, isSDXL: boolean, negativePromptSupported: boolean, job: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } } };

export type CancelJobMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelJobMutation = { cancelJob: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } };

export type JobQueryVariables = Exact<{
  id: string | number;
}>;


export type JobQuery = { job: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } | null };

export type JobsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  status?: JobStatus | null | undefined;
  format?: MediaFormat | null | undefined;
}>;


export type JobsQuery = { jobs: { edges: Array<{ cursor: string, node: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { id: string, credits: number } };

export type JobTypesQueryVariables = Exact<{ [key: string]: never; }>;


export type JobTypesQuery = { jobTypes: Array<{ jobType: JobType, format: MediaFormat, quality: Quality, queue: string, modelVariant: string, bucket: string, allowedNumImages: Array<number>, negativePromptSupported: boolean, expectedGenerationTime: number, creditCost: number }> };

export type JobUpdatedSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type JobUpdatedSubscription = { jobUpdated: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } };

export type MyJobUpdatesSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type MyJobUpdatesSubscription = { myJobUpdates: { id: string, jobType: JobType, format: MediaFormat, quality: Quality, status: JobStatus, progress: number, prompt: string, negativePrompt: string | null, seed: number | null, numImages: number, modelVariant: string, queue: string, expectedGenerationTime: number, generationTime: number | null, creditCost: number, errorMessage: string | null, enhancedPrompt: string | null, metadata: unknown, createdAt: string, startedAt: string | null, completedAt: string | null, references: Array<{ url: string, type: ReferenceType, strength: number }>, assets: Array<{ index: number, bucket: string, path: string, url: string, contentType: string | null, expiresAt: string }> } };

export const JobFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<JobFieldsFragment, unknown>;
export const QueueJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"QueueJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"QueueJobInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"queueJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"job"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}},{"kind":"Field","name":{"kind":"Name","value":"queueLength"}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"isSDXL"}},{"kind":"Field","name":{"kind":"Name","value":"negativePromptSupported"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<QueueJobMutation, QueueJobMutationVariables>;
export const CancelJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<CancelJobMutation, CancelJobMutationVariables>;
export const JobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Job"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"job"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<JobQuery, JobQueryVariables>;
export const JobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Jobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"status"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobStatus"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"format"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"MediaFormat"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"status"},"value":{"kind":"Variable","name":{"kind":"Name","value":"status"}}},{"kind":"Argument","name":{"kind":"Name","value":"format"},"value":{"kind":"Variable","name":{"kind":"Name","value":"format"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<JobsQuery, JobsQueryVariables>;
export const MeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"me"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"credits"}}]}}]}}]} as unknown as DocumentNode<MeQuery, MeQueryVariables>;
export const JobTypesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"allowedNumImages"}},{"kind":"Field","name":{"kind":"Name","value":"negativePromptSupported"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}}]}}]}}]} as unknown as DocumentNode<JobTypesQuery, JobTypesQueryVariables>;
export const JobUpdatedDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"JobUpdated"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobUpdated"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<JobUpdatedSubscription, JobUpdatedSubscriptionVariables>;
export const MyJobUpdatesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"MyJobUpdates"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"myJobUpdates"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"JobFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"JobFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Job"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"quality"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"progress"}},{"kind":"Field","name":{"kind":"Name","value":"prompt"}},{"kind":"Field","name":{"kind":"Name","value":"negativePrompt"}},{"kind":"Field","name":{"kind":"Name","value":"seed"}},{"kind":"Field","name":{"kind":"Name","value":"numImages"}},{"kind":"Field","name":{"kind":"Name","value":"references"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"strength"}}]}},{"kind":"Field","name":{"kind":"Name","value":"modelVariant"}},{"kind":"Field","name":{"kind":"Name","value":"queue"}},{"kind":"Field","name":{"kind":"Name","value":"expectedGenerationTime"}},{"kind":"Field","name":{"kind":"Name","value":"generationTime"}},{"kind":"Field","name":{"kind":"Name","value":"creditCost"}},{"kind":"Field","name":{"kind":"Name","value":"errorMessage"}},{"kind":"Field","name":{"kind":"Name","value":"enhancedPrompt"}},{"kind":"Field","name":{"kind":"Name","value":"assets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"index"}},{"kind":"Field","name":{"kind":"Name","value":"bucket"}},{"kind":"Field","name":{"kind":"Name","value":"path"}},{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"contentType"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]} as unknown as DocumentNode<MyJobUpdatesSubscription, MyJobUpdatesSubscriptionVariables>;