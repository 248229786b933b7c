import { useEffect, useRef } from 'preact/hooks';
import { jobTypeName, seconds } from './format.js';
import type { Job } from './jobs.js';

export interface GalleryItem {
  job: Job;
  asset: Job['assets'][number];
}

/** Finished outputs, newest job first; tiles have a fixed shape so loading images never move the page. */
export function Gallery(props: { jobs: Job[]; onOpen(item: GalleryItem): void }) {
  const items: GalleryItem[] = props.jobs
    .filter((j) => j.status === 'completed')
    .flatMap((job) => job.assets.map((asset) => ({ job, asset })));
  if (items.length === 0) return <p class="empty">Finished images and videos appear here.</p>;
  return (
    <ul class="gallery" role="list">
      {items.map(({ job, asset }, i) => (
        <li key={`${job.id}/${asset.index}`} class="tile">
          {job.format === 'video' ? (
            <>
              <video
                src={asset.url}
                poster={asset.thumbnailUrl ?? undefined}
                controls
                muted
                loop
                playsInline
                preload="metadata"
                aria-label={job.prompt}
              />
              <button type="button" class="tile-info" onClick={() => props.onOpen({ job, asset })} aria-label={`Details of ${job.prompt}`}>
                i
              </button>
            </>
          ) : (
            <button type="button" class="tile-open" onClick={() => props.onOpen({ job, asset })}>
              <img src={asset.thumbnailUrl ?? asset.url} alt={job.prompt} loading={i < 24 ? 'eager' : 'lazy'} decoding="async" />
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The full-size output with what made it; a native modal <dialog> keeps focus inside and closes on Escape. */
export function Viewer(props: { item: GalleryItem | null; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.item && !d.open) d.showModal();
    if (!props.item && d.open) d.close();
  }, [props.item]);
  const item = props.item;
  const job = item?.job;
  const ext = item?.asset.contentType?.split('/')[1]?.replace('jpeg', 'jpg') ?? (job?.format === 'video' ? 'mp4' : 'png');
  return (
    <dialog ref={ref} class="viewer" aria-labelledby="viewer-title" onClose={props.onClose}>
      {item && job && (
        <div class="viewer-body">
          <div class="viewer-media">
            {job.format === 'video' ? (
              <video src={item.asset.url} controls autoPlay muted loop playsInline />
            ) : (
              <img src={item.asset.url} alt={job.prompt} />
            )}
          </div>
          <div class="viewer-info">
            <h2 id="viewer-title">{jobTypeName(job.jobType)}</h2>
            <dl>
              <dt>Prompt</dt>
              <dd>{job.prompt}</dd>
              <dt>Seed</dt>
              <dd>{job.seed ?? 'not reported'}</dd>
              <dt>Negative prompt</dt>
              <dd class="long">{job.negativePrompt || 'none'}</dd>
              <dt>Generation time</dt>
              <dd>{job.generationTime != null ? seconds(job.generationTime) : 'not reported'}</dd>
            </dl>
            <div class="viewer-actions">
              <a class="button primary" href={item.asset.url} download={`${job.id}-${item.asset.index}.${ext}`}>
                Download
              </a>
              <button type="button" onClick={() => ref.current?.close()}>
                Close
              </button>
            </div>
          </div>
        </div>
      )}
    </dialog>
  );
}
