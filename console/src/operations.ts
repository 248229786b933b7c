import { graphql } from './gql/index.js';

/**
 * Every operation the console sends. graphql-codegen's client preset types
 * them from schema.graphql (`npm run codegen` writes ./gql/); they are sent
 * as strings, so no GraphQL parser ships to the browser.
 */

export const JobFields = graphql(`
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
`);

export const StartQuery = graphql(`
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
`);

export const MeQuery = graphql(`
  query ConsoleMe {
    me {
      id
      credits
    }
  }
`);

export const JobsQuery = graphql(`
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
`);

export const QueuesQuery = graphql(`
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
`);

export const QueueJobMutation = graphql(`
  mutation ConsoleQueueJob($input: QueueJobInput!) {
    queueJob(input: $input) {
      job {
        ...JobFields
      }
    }
  }
`);

export const CancelJobMutation = graphql(`
  mutation ConsoleCancelJob($id: ID!) {
    cancelJob(id: $id) {
      ...JobFields
    }
  }
`);

export const RetryJobMutation = graphql(`
  mutation ConsoleRetryJob($id: ID!) {
    retryJob(id: $id) {
      ...JobFields
    }
  }
`);

export const ReferenceUploadMutation = graphql(`
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
`);

export const MyJobUpdates = graphql(`
  subscription ConsoleJobUpdates {
    myJobUpdates {
      ...JobFields
    }
  }
`);

export const JobUpdated = graphql(`
  subscription ConsoleJobUpdated($id: ID!) {
    jobUpdated(id: $id) {
      ...JobFields
    }
  }
`);
