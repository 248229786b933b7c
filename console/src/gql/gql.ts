/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  fragment JobFields on Job {\n    id\n    jobType\n    format\n    status\n    progress\n    prompt\n    negativePrompt\n    seed\n    numImages\n    queue\n    expectedGenerationTime\n    generationTime\n    creditCost\n    errorMessage\n    createdAt\n    startedAt\n    completedAt\n    attempts\n    maxAttempts\n    queuePosition\n    estimatedStartAt\n    estimatedCompletionAt\n    references {\n      type\n      strength\n    }\n    assets {\n      index\n      url\n      thumbnailUrl\n      contentType\n    }\n  }\n": typeof types.JobFieldsFragmentDoc,
    "\n  query ConsoleStart {\n    me {\n      id\n      credits\n    }\n    jobTypes {\n      jobType\n      format\n      quality\n      queue\n      allowedNumImages\n      expectedGenerationTime\n      creditCost\n    }\n  }\n": typeof types.ConsoleStartDocument,
    "\n  query ConsoleMe {\n    me {\n      id\n      credits\n    }\n  }\n": typeof types.ConsoleMeDocument,
    "\n  query ConsoleJobs($first: Int!, $after: String) {\n    jobs(first: $first, after: $after) {\n      edges {\n        node {\n          ...JobFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.ConsoleJobsDocument,
    "\n  query ConsoleQueues {\n    queues {\n      name\n      waiting\n      running\n      activeWorkers\n      throughputPerMinute\n      estimatedWaitSeconds\n    }\n  }\n": typeof types.ConsoleQueuesDocument,
    "\n  mutation ConsoleQueueJob($input: QueueJobInput!) {\n    queueJob(input: $input) {\n      job {\n        ...JobFields\n      }\n    }\n  }\n": typeof types.ConsoleQueueJobDocument,
    "\n  mutation ConsoleCancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobFields\n    }\n  }\n": typeof types.ConsoleCancelJobDocument,
    "\n  mutation ConsoleRetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobFields\n    }\n  }\n": typeof types.ConsoleRetryJobDocument,
    "\n  mutation ConsoleReferenceUpload($contentType: String!, $filename: String) {\n    createReferenceUpload(contentType: $contentType, filename: $filename) {\n      path\n      uploadUrl\n      method\n      headers\n      fields\n      maxBytes\n    }\n  }\n": typeof types.ConsoleReferenceUploadDocument,
    "\n  subscription ConsoleJobUpdates {\n    myJobUpdates {\n      ...JobFields\n    }\n  }\n": typeof types.ConsoleJobUpdatesDocument,
    "\n  subscription ConsoleJobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobFields\n    }\n  }\n": typeof types.ConsoleJobUpdatedDocument,
};
const documents: Documents = {
    "\n  fragment JobFields on Job {\n    id\n    jobType\n    format\n    status\n    progress\n    prompt\n    negativePrompt\n    seed\n    numImages\n    queue\n    expectedGenerationTime\n    generationTime\n    creditCost\n    errorMessage\n    createdAt\n    startedAt\n    completedAt\n    attempts\n    maxAttempts\n    queuePosition\n    estimatedStartAt\n    estimatedCompletionAt\n    references {\n      type\n      strength\n    }\n    assets {\n      index\n      url\n      thumbnailUrl\n      contentType\n    }\n  }\n": types.JobFieldsFragmentDoc,
    "\n  query ConsoleStart {\n    me {\n      id\n      credits\n    }\n    jobTypes {\n      jobType\n      format\n      quality\n      queue\n      allowedNumImages\n      expectedGenerationTime\n      creditCost\n    }\n  }\n": types.ConsoleStartDocument,
    "\n  query ConsoleMe {\n    me {\n      id\n      credits\n    }\n  }\n": types.ConsoleMeDocument,
    "\n  query ConsoleJobs($first: Int!, $after: String) {\n    jobs(first: $first, after: $after) {\n      edges {\n        node {\n          ...JobFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.ConsoleJobsDocument,
    "\n  query ConsoleQueues {\n    queues {\n      name\n      waiting\n      running\n      activeWorkers\n      throughputPerMinute\n      estimatedWaitSeconds\n    }\n  }\n": types.ConsoleQueuesDocument,
    "\n  mutation ConsoleQueueJob($input: QueueJobInput!) {\n    queueJob(input: $input) {\n      job {\n        ...JobFields\n      }\n    }\n  }\n": types.ConsoleQueueJobDocument,
    "\n  mutation ConsoleCancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobFields\n    }\n  }\n": types.ConsoleCancelJobDocument,
    "\n  mutation ConsoleRetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobFields\n    }\n  }\n": types.ConsoleRetryJobDocument,
    "\n  mutation ConsoleReferenceUpload($contentType: String!, $filename: String) {\n    createReferenceUpload(contentType: $contentType, filename: $filename) {\n      path\n      uploadUrl\n      method\n      headers\n      fields\n      maxBytes\n    }\n  }\n": types.ConsoleReferenceUploadDocument,
    "\n  subscription ConsoleJobUpdates {\n    myJobUpdates {\n      ...JobFields\n    }\n  }\n": types.ConsoleJobUpdatesDocument,
    "\n  subscription ConsoleJobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobFields\n    }\n  }\n": types.ConsoleJobUpdatedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment JobFields on Job {\n    id\n    jobType\n    format\n    status\n    progress\n    prompt\n    negativePrompt\n    seed\n    numImages\n    queue\n    expectedGenerationTime\n    generationTime\n    creditCost\n    errorMessage\n    createdAt\n    startedAt\n    completedAt\n    attempts\n    maxAttempts\n    queuePosition\n    estimatedStartAt\n    estimatedCompletionAt\n    references {\n      type\n      strength\n    }\n    assets {\n      index\n      url\n      thumbnailUrl\n      contentType\n    }\n  }\n"): typeof import('./graphql').JobFieldsFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleStart {\n    me {\n      id\n      credits\n    }\n    jobTypes {\n      jobType\n      format\n      quality\n      queue\n      allowedNumImages\n      expectedGenerationTime\n      creditCost\n    }\n  }\n"): typeof import('./graphql').ConsoleStartDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleMe {\n    me {\n      id\n      credits\n    }\n  }\n"): typeof import('./graphql').ConsoleMeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleJobs($first: Int!, $after: String) {\n    jobs(first: $first, after: $after) {\n      edges {\n        node {\n          ...JobFields\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): typeof import('./graphql').ConsoleJobsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleQueues {\n    queues {\n      name\n      waiting\n      running\n      activeWorkers\n      throughputPerMinute\n      estimatedWaitSeconds\n    }\n  }\n"): typeof import('./graphql').ConsoleQueuesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleQueueJob($input: QueueJobInput!) {\n    queueJob(input: $input) {\n      job {\n        ...JobFields\n      }\n    }\n  }\n"): typeof import('./graphql').ConsoleQueueJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleCancelJob($id: ID!) {\n    cancelJob(id: $id) {\n      ...JobFields\n    }\n  }\n"): typeof import('./graphql').ConsoleCancelJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleRetryJob($id: ID!) {\n    retryJob(id: $id) {\n      ...JobFields\n    }\n  }\n"): typeof import('./graphql').ConsoleRetryJobDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ConsoleReferenceUpload($contentType: String!, $filename: String) {\n    createReferenceUpload(contentType: $contentType, filename: $filename) {\n      path\n      uploadUrl\n      method\n      headers\n      fields\n      maxBytes\n    }\n  }\n"): typeof import('./graphql').ConsoleReferenceUploadDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleJobUpdates {\n    myJobUpdates {\n      ...JobFields\n    }\n  }\n"): typeof import('./graphql').ConsoleJobUpdatesDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleJobUpdated($id: ID!) {\n    jobUpdated(id: $id) {\n      ...JobFields\n    }\n  }\n"): typeof import('./graphql').ConsoleJobUpdatedDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
