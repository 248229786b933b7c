import type { GraphiQLOptions } from 'graphql-yoga';

/**
 * GraphiQL served entirely by this server: @graphql-yoga/render-graphiql
 * inlines GraphiQL's scripts, styles, editor workers and icon into one page,
 * where yoga's default page loads them from a CDN (a blank page offline).
 */

/** The example operations GraphiQL opens with: the README's tour, by clicking. */
const EXAMPLES: Array<{ query: string; variables?: string }> = [
  {
    query: `# Queue a job: run it (the ▶ button), then copy job.id into the next tab's variables.
mutation QueueJob {
  queueJob(input: { jobType: sdxl_image_fast, prompt: "a lighthouse at dusk", numImages: 1 }) {
    job { id status creditCost negativePrompt }
    queueLength
  }
}
`,
  },
  {
    query: `# Watch a job: the first message is its current state, then one per change,
# until it completes, fails or is cancelled (over websockets).
subscription WatchJob($id: ID!) {
  jobUpdated(id: $id) { id status progress errorMessage assets { index url } }
}
`,
    variables: JSON.stringify({ id: 'paste the job id here' }, null, 2),
  },
  {
    query: `# Your jobs, newest first, and your credits.
query MyJobs {
  me { id credits }
  jobs(first: 10) {
    edges { node { id jobType status prompt createdAt } }
    pageInfo { endCursor hasNextPage }
  }
}
`,
  },
  {
    query: `# Every change to any of your jobs, live.
subscription MyJobUpdates {
  myJobUpdates { id status progress }
}
`,
  },
];

/**
 * GraphiQL's settings. With `devToken` (the embedded defaults only) every tab,
 * and every new one, starts with that token in its Headers tab.
 */
export function graphiqlOptions(devToken?: string): GraphiQLOptions {
  const headers = devToken ? JSON.stringify({ Authorization: `Bearer ${devToken}` }, null, 2) : undefined;
  return {
    title: 'Generation jobs API',
    subscriptionsProtocol: 'WS',
    defaultEditorToolsVisibility: devToken ? 'headers' : true,
    defaultHeaders: headers,
    headers,
    defaultTabs: EXAMPLES.map((e) => ({ query: e.query, variables: e.variables ?? null, headers: headers ?? null })),
  };
}

/**
 * The page is about 9 MB of inlined assets: it is rendered once per set of
 * options (there are one or two: with and without a dev token) and kept.
 * The renderer itself (about 40 MB of memory once loaded) is imported on the
 * first page asked for, so a server nobody opens GraphiQL on never holds it.
 */
export function cachedGraphiQLRenderer(): (opts: GraphiQLOptions) => Promise<string> {
  const pages = new Map<string, string>();
  let renderer: Promise<(opts: GraphiQLOptions) => string> | undefined;
  return async (opts) => {
    const key = JSON.stringify(opts);
    let page = pages.get(key);
    if (!page) {
      renderer ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL);
      page = (await renderer)(opts);
      if (pages.size > 8) pages.clear();
      pages.set(key, page);
    }
    return page;
  };
}
