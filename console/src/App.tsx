import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, createApi, subscribe, type Api } from './api.js';
import type { ConsoleQueuesQuery, ConsoleStartQuery } from './gql/graphql.js';
import { jobTypeName, plural } from './format.js';
import { Gallery, Viewer, type GalleryItem } from './Gallery.js';
import { JobsList } from './JobsList.js';
import { applyEvent, applyPage, applySnapshot, emptyJobs, isActive, isTerminal, type Job, type JobsState } from './jobs.js';
import { CancelJobMutation, JobsQuery, JobUpdated, MeQuery, MyJobUpdates, QueuesQuery, RetryJobMutation, StartQuery } from './operations.js';
import { QueueForm } from './QueueForm.js';
import { Queues } from './Queues.js';
import { devToken, initialToken, saveToken } from './token.js';

const PAGE = 20;
const QUEUES_EVERY_MS = 5000;

/** Runs `fn` at most once per `ms`, trailing: bursts of job events become one refresh. */
function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
}

export function App() {
  const [token, setToken] = useState(initialToken);
  const [draft, setDraft] = useState(token);
  const [api, setApi] = useState<Api | null>(null);
  const [start, setStart] = useState<ConsoleStartQuery | null>(null);
  const [credits, setCredits] = useState<number | null>(null);
  const [jobs, setJobs] = useState<JobsState>(emptyJobs);
  const [loaded, setLoaded] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [queues, setQueues] = useState<ConsoleQueuesQuery['queues'] | null>(null);
  const [queuesError, setQueuesError] = useState<string | null>(null);
  const [alert, setAlert] = useState<string | null>(null);
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [viewing, setViewing] = useState<GalleryItem | null>(null);
  const [now, setNow] = useState(Date.now());
  const jobsRef = useRef(jobs);
  jobsRef.current = jobs;

  const update = useCallback((fn: (s: JobsState) => JobsState) => {
    jobsRef.current = fn(jobsRef.current);
    setJobs(jobsRef.current);
  }, []);

  // One API client per token; everything below re-runs when the token changes.
  useEffect(() => {
    if (!token) {
      setApi(null);
      return;
    }
    let current: Api | null = null;
    let refreshTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshHead = async () => {
      if (!current) return;
      const sentAt = performance.now();
      const data = await current.request(JobsQuery, { first: PAGE });
      const page = { jobs: data.jobs.edges.map((e) => e.node), endCursor: data.jobs.pageInfo.endCursor ?? null, hasNextPage: data.jobs.pageInfo.hasNextPage };
      update((s) => applyPage(s, page, sentAt, true));
      setLoaded(true);
    };
    const fail = (err: unknown) => {
      const e = err instanceof ApiError ? err : new ApiError(String(err), 'UNKNOWN');
      setAlert(e.code === 'UNAUTHENTICATED' ? `${e.message} Paste a valid token into “API token”.` : e.message);
    };
    current = createApi(token, {
      // Changes made while no socket was up (before the first one, or during a drop) reach no
      // subscription: read the newest page again after every (re)connection, a moment later so the
      // subscriptions are registered before the read and nothing falls between the two.
      onConnected: () => {
        clearTimeout(refreshTimer);
        refreshTimer = setTimeout(() => void refreshHead().then(() => setAlert(null), fail), 300);
      },
      onSocketError: fail,
    });
    setApi(current);
    setAlert(null);
    update(() => emptyJobs);
    setLoaded(false);
    current
      .request(StartQuery)
      .then((data) => {
        setStart(data);
        setCredits(data.me.credits);
      }, fail);
    void refreshHead().catch(fail);
    const stop = subscribe(current, MyJobUpdates, {}, {
      data: (data) => update((s) => applyEvent(s, data.myJobUpdates, performance.now())),
      error: fail,
    });
    return () => {
      clearTimeout(refreshTimer);
      stop();
      current?.close();
      current = null;
    };
  }, [token]);

  const refreshCredits = useCallback(() => {
    api?.request(MeQuery).then((d) => setCredits(d.me.credits), () => {});
  }, [api]);

  const refreshQueues = useCallback(() => {
    api?.request(QueuesQuery).then(
      (d) => {
        setQueues(d.queues);
        setQueuesError(null);
      },
      (e: ApiError) => setQueuesError(`Queue figures are unavailable: ${e.message}`),
    );
  }, [api]);

  // Queues: polled while the page is visible, and soon after any job changes state.
  const throttledQueues = useRef(() => {});
  const throttledCredits = useRef(() => {});
  useEffect(() => {
    throttledQueues.current = throttle(refreshQueues, 1000);
    throttledCredits.current = throttle(refreshCredits, 500);
    refreshQueues();
    const timer = setInterval(() => document.visibilityState === 'visible' && refreshQueues(), QUEUES_EVERY_MS);
    return () => clearInterval(timer);
  }, [refreshQueues, refreshCredits]);

  // Status changes move queue figures; terminal ones may refund credits.
  const lastStatus = useRef(new Map<string, string>());
  const [announcement, setAnnouncement] = useState('');
  useEffect(() => {
    let changed = false;
    let ended: Job | null = null;
    for (const j of jobs.jobs) {
      const before = lastStatus.current.get(j.id);
      if (before !== j.status) {
        // A job seen for the first time may have been queued elsewhere (another tab, the API): credits moved too.
        changed = true;
        if (before !== undefined && isTerminal(j)) ended = j;
        lastStatus.current.set(j.id, j.status);
      }
    }
    if (changed) {
      throttledQueues.current();
      throttledCredits.current();
    }
    // Screen readers hear when a job ends, without the whole list being a live region.
    if (ended) setAnnouncement(`${jobTypeName(ended.jobType)} job “${ended.prompt.slice(0, 80)}” ${ended.status}.`);
  }, [jobs]);

  // Each waiting or running job also gets its own jobUpdated stream: only that one carries the queue
  // position and expected start as they change while the job waits (myJobUpdates carries state changes).
  const watching = useRef(new Map<string, () => void>());
  useEffect(() => {
    const active = new Set(jobs.jobs.filter(isActive).map((j) => j.id));
    for (const [id, stop] of watching.current) {
      if (!active.has(id)) {
        stop();
        watching.current.delete(id);
      }
    }
    if (!api) return;
    for (const id of active) {
      if (watching.current.has(id)) continue;
      let first = true;
      const stop = subscribe(api, JobUpdated, { id }, {
        data: (data) => {
          const apply = first ? applySnapshot : applyEvent;
          first = false;
          update((s) => apply(s, data.jobUpdated, performance.now()));
        },
        // Not retried: the job's changes still arrive through myJobUpdates.
        error: () => {},
        complete: () => watching.current.delete(id),
      });
      watching.current.set(id, stop);
    }
  }, [jobs, api]);
  useEffect(
    () => () => {
      for (const stop of watching.current.values()) stop();
      watching.current.clear();
    },
    [api],
  );

  // Relative times ("in 40 s") tick while something waits.
  const anyQueued = jobs.jobs.some((j) => j.status === 'queued' || j.status === 'processing');
  useEffect(() => {
    if (!anyQueued) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [anyQueued]);

  const act = async (job: Job, run: (api: Api) => Promise<Job>) => {
    if (!api) return;
    setPending((p) => new Set(p).add(job.id));
    try {
      const next = await run(api);
      update((s) => applyEvent(s, next, performance.now()));
      setAlert(null);
      refreshCredits();
    } catch (err) {
      setAlert(err instanceof ApiError ? err.message : String(err));
    } finally {
      setPending((p) => {
        const n = new Set(p);
        n.delete(job.id);
        return n;
      });
    }
  };

  const more = async () => {
    if (!api || loadingMore) return;
    setLoadingMore(true);
    try {
      const sentAt = performance.now();
      const data = await api.request(JobsQuery, { first: PAGE, after: jobsRef.current.endCursor });
      const page = { jobs: data.jobs.edges.map((e) => e.node), endCursor: data.jobs.pageInfo.endCursor ?? null, hasNextPage: data.jobs.pageInfo.hasNextPage };
      update((s) => applyPage(s, page, sentAt, false));
    } catch (err) {
      setAlert(err instanceof ApiError ? err.message : String(err));
    } finally {
      setLoadingMore(false);
    }
  };

  const applyToken = (e: Event) => {
    e.preventDefault();
    // An emptied field goes back to the dev token where the server offers one.
    const t = draft.trim() || devToken();
    saveToken(t);
    setDraft(t);
    setToken(t);
  };

  return (
    <>
      <header class="top">
        <h1>Generation console</h1>
        <p class="credits" aria-live="polite">
          <span class="credits-label">Credits</span> <strong data-testid="credits">{credits ?? '–'}</strong>
        </p>
        <form class="token" onSubmit={applyToken}>
          <label for="token">API token</label>
          <input
            id="token"
            type="text"
            autoComplete="off"
            spellcheck={false}
            value={draft}
            placeholder="paste a bearer token"
            onInput={(e) => setDraft(e.currentTarget.value)}
          />
          <button type="submit" disabled={draft.trim() === token && token !== ''}>
            Use token
          </button>
        </form>
      </header>
      <div class="alert-slot">
        {alert && (
          <p class="alert" role="alert">
            {alert}
          </p>
        )}
        {!token && (
          <p class="notice">
            Paste an API token above (a JWT whose <code>sub</code> is your user id) and choose “Use token”.
          </p>
        )}
      </div>
      <main class="layout">
        <section class="panel compose" aria-labelledby="compose-h">
          <h2 id="compose-h">Queue a job</h2>
          {api && start ? (
            <QueueForm
              api={api}
              jobTypes={start.jobTypes}
              credits={credits}
              onQueued={(job) => {
                // The worker may already have taken it: the answer must not undo news that came first.
                update((s) => applySnapshot(s, job, performance.now()));
                refreshCredits();
                throttledQueues.current();
              }}
            />
          ) : (
            <p class="empty">{!token ? 'Waiting for a token.' : alert ? 'The job types could not be loaded: see the message above.' : 'Loading job types…'}</p>
          )}
        </section>
        <section class="panel jobs-panel" aria-labelledby="jobs-h">
          <h2 id="jobs-h">
            Jobs <span class="count">{loaded ? `(${plural(jobs.jobs.length, 'job')}${jobs.hasNextPage ? ' loaded' : ''})` : ''}</span>
          </h2>
          <JobsList
            jobs={jobs.jobs}
            loaded={loaded}
            now={now}
            pending={pending}
            hasNextPage={jobs.hasNextPage}
            loadingMore={loadingMore}
            onCancel={(job) => act(job, async (a) => (await a.request(CancelJobMutation, { id: job.id })).cancelJob)}
            onRetry={(job) => act(job, async (a) => (await a.request(RetryJobMutation, { id: job.id })).retryJob)}
            onMore={more}
          />
        </section>
        <section class="panel gallery-panel" aria-labelledby="gallery-h">
          <h2 id="gallery-h">Gallery</h2>
          <Gallery jobs={jobs.jobs} onOpen={setViewing} />
        </section>
        <section class="panel queues-panel" aria-labelledby="queues-h">
          <h2 id="queues-h">Queues</h2>
          <Queues queues={queues} error={queuesError} />
        </section>
      </main>
      <Viewer item={viewing} onClose={() => setViewing(null)} />
      <p class="visually-hidden" aria-live="polite">
        {announcement}
      </p>
    </>
  );
}
