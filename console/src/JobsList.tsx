import type { Job } from './jobs.js';
import { canRetry, isActive } from './jobs.js';
import { clock, fromNow, jobTypeName, plural, seconds } from './format.js';

/** One row per job; every row has the same height whatever its state, so live updates never move the page. */
function JobItem(props: { job: Job; now: number; pending: boolean; onCancel(): void; onRetry(): void }) {
  const { job, now } = props;
  const outputs = job.format === 'video' ? 'video' : plural(job.numImages, 'image');
  return (
    <li class={`job job-${job.status}`} data-job-id={job.id}>
      <div class="job-head">
        <span class={`badge badge-${job.status}`}>{job.status}</span>
        <span class="job-type">
          {jobTypeName(job.jobType)} · {outputs}
        </span>
        <time dateTime={job.createdAt} class="job-time">
          {clock(job.createdAt)}
        </time>
      </div>
      <p class="job-prompt" title={job.prompt}>
        {job.prompt}
      </p>
      <div class="job-detail">
        <JobDetail job={job} now={now} />
      </div>
      <div class="job-actions">
        {isActive(job) && (
          <button type="button" onClick={props.onCancel} disabled={props.pending}>
            Cancel
          </button>
        )}
        {canRetry(job) && (
          <button type="button" onClick={props.onRetry} disabled={props.pending}>
            Retry
          </button>
        )}
      </div>
    </li>
  );
}

function JobDetail({ job, now }: { job: Job; now: number }) {
  const attempt = job.attempts > 1 ? ` · attempt ${job.attempts} of ${job.maxAttempts}` : '';
  switch (job.status) {
    case 'queued': {
      const where = job.queuePosition != null ? `Position ${job.queuePosition} in ${job.queue}` : `Waiting in ${job.queue}`;
      const when = job.estimatedStartAt
        ? ` · expected start ${clock(job.estimatedStartAt)} (${fromNow(job.estimatedStartAt, now)})`
        : ' · expected start not known yet';
      return (
        <span>
          {where}
          {when}
          {attempt}
        </span>
      );
    }
    case 'processing':
      return (
        <div class="progress-row">
          <div
            class="progress"
            role="progressbar"
            aria-label="Progress"
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuenow={job.progress}
          >
            <div class="progress-fill" style={{ transform: `scaleX(${job.progress / 100})` }} />
          </div>
          <span class="progress-text">
            {job.progress} %
            {job.estimatedCompletionAt ? ` · done ${fromNow(job.estimatedCompletionAt, now)}` : ''}
            {attempt}
          </span>
        </div>
      );
    case 'completed':
      return (
        <span>
          Done{job.generationTime != null ? ` in ${seconds(job.generationTime)}` : ''}
          {job.seed != null ? ` · seed ${job.seed}` : ''} · {plural(job.creditCost, 'credit')}
        </span>
      );
    case 'failed':
      return (
        <span class="job-error" title={job.errorMessage ?? undefined}>
          {job.errorMessage ?? 'Failed without a message.'} · credits refunded
        </span>
      );
    case 'cancelled':
      return <span>Cancelled · credits refunded</span>;
  }
}

export function JobsList(props: {
  jobs: Job[];
  loaded: boolean;
  now: number;
  pending: ReadonlySet<string>;
  hasNextPage: boolean;
  loadingMore: boolean;
  onCancel(job: Job): void;
  onRetry(job: Job): void;
  onMore(): void;
}) {
  return (
    <>
      <ul class="jobs" aria-label="Jobs" aria-busy={!props.loaded}>
        {props.jobs.map((job) => (
          <JobItem
            key={job.id}
            job={job}
            now={props.now}
            pending={props.pending.has(job.id)}
            onCancel={() => props.onCancel(job)}
            onRetry={() => props.onRetry(job)}
          />
        ))}
      </ul>
      {props.loaded && props.jobs.length === 0 && <p class="empty">No jobs yet: queue one with the form.</p>}
      {props.hasNextPage && (
        <button type="button" class="more" onClick={props.onMore} disabled={props.loadingMore}>
          {props.loadingMore ? 'Loading…' : 'Load older jobs'}
        </button>
      )}
    </>
  );
}
