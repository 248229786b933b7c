import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type Api } from './api.js';
import type { ConsoleStartQuery, ReferenceType } from './gql/graphql.js';
import { jobTypeName, plural, seconds } from './format.js';
import type { Job } from './jobs.js';
import { QueueJobMutation, ReferenceUploadMutation } from './operations.js';

type JobTypeInfo = ConsoleStartQuery['jobTypes'][number];

const IMAGE_REFERENCE_TYPES: ReferenceType[] = ['style', 'composition', 'character'];
const VIDEO_REFERENCE_TYPES: ReferenceType[] = ['start_frame', 'end_frame', 'style', 'composition', 'character'];
const REFERENCE_LABELS: Record<ReferenceType, string> = {
  style: 'Style',
  composition: 'Composition',
  character: 'Character',
  start_frame: 'Start frame',
  end_frame: 'End frame',
};
const MAX_SEED = 4294967295;

/** Which control an API error belongs beside (the API names it in `extensions.field`). */
type Field = 'jobType' | 'prompt' | 'numImages' | 'seed' | 'reference' | 'form';

function fieldOf(error: ApiError): Field {
  if (error.code === 'CONTENT_POLICY') return 'prompt';
  const f = error.field ?? '';
  if (f === 'jobType' || f === 'prompt' || f === 'numImages' || f === 'seed') return f;
  if (f.startsWith('references') || f === 'reference' || f === 'contentType') return 'reference';
  return 'form';
}

function newKey(): string {
  // crypto.randomUUID exists only in secure contexts (https, localhost); a LAN address over http has none.
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export function costOf(type: JobTypeInfo | undefined, numImages: number): number {
  if (!type) return 0;
  return type.creditCost * (type.allowedNumImages.length > 1 ? numImages : 1);
}

export function QueueForm(props: {
  api: Api;
  jobTypes: JobTypeInfo[];
  credits: number | null;
  onQueued(job: Job): void;
}) {
  const { api, jobTypes, credits } = props;
  const [jobType, setJobType] = useState('');
  const [prompt, setPrompt] = useState('');
  const [numImages, setNumImages] = useState(1);
  const [seed, setSeed] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [refType, setRefType] = useState<ReferenceType>('style');
  const [strength, setStrength] = useState(0.5);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState('');
  // One key per composed job: a double submit or a retried request cannot queue it twice.
  const key = useRef(newKey());
  const fileInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (!jobType && jobTypes[0]) setJobType(jobTypes[0].jobType);
  }, [jobTypes, jobType]);

  const type = jobTypes.find((t) => t.jobType === jobType);
  const counts = type?.allowedNumImages ?? [1];
  const n = counts.includes(numImages) ? numImages : counts[0]!;
  const cost = costOf(type, n);
  const refTypes = type?.format === 'video' ? VIDEO_REFERENCE_TYPES : IMAGE_REFERENCE_TYPES;
  const preview = useMemo(() => (file ? URL.createObjectURL(file) : null), [file]);
  useEffect(() => () => void (preview && URL.revokeObjectURL(preview)), [preview]);

  useEffect(() => {
    if (!refTypes.includes(refType)) setRefType(refTypes[0]!);
  }, [jobType]);

  const errorAt = error ? fieldOf(error) : null;
  const errorFor = (f: Field) =>
    errorAt === f ? (
      <p class="field-error" role="alert" id={`${f}-error`}>
        {error!.message}
      </p>
    ) : null;
  const invalid = (f: Field) => (errorAt === f ? { 'aria-invalid': true, 'aria-describedby': `${f}-error` } : {});
  const edited = () => {
    setError(null);
    setDone('');
    key.current = newKey();
  };

  async function submit(e: Event) {
    e.preventDefault();
    if (busy || !type) return;
    setBusy(true);
    setError(null);
    setDone('');
    try {
      const seedValue = seed.trim() === '' ? null : Number(seed);
      if (seedValue !== null && !(Number.isInteger(seedValue) && seedValue >= 0 && seedValue <= MAX_SEED)) {
        throw new ApiError(`Seed must be a whole number from 0 to ${MAX_SEED}, or empty for a random one.`, 'BAD_USER_INPUT', 'seed');
      }
      const references = file ? [{ url: await upload(api, file), type: refType, strength }] : undefined;
      const data = await api.request(QueueJobMutation, {
        input: { jobType: type.jobType, prompt, numImages: n, seed: seedValue, references, idempotencyKey: key.current },
      });
      props.onQueued(data.queueJob.job);
      key.current = newKey();
      setDone(`Queued: ${jobTypeName(type.jobType)}, ${plural(cost, 'credit')}.`);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(String(err), 'UNKNOWN'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="queue-form" onSubmit={submit} noValidate>
      <div class="field">
        <label for="job-type">Job type</label>
        <select
          id="job-type"
          value={jobType}
          onChange={(e) => {
            setJobType(e.currentTarget.value);
            edited();
          }}
          {...invalid('jobType')}
        >
          {jobTypes.map((t) => (
            <option key={t.jobType} value={t.jobType}>
              {jobTypeName(t.jobType)} — {plural(t.creditCost, 'credit')}
              {t.allowedNumImages.length > 1 ? ' each' : ''}, ≈ {seconds(t.expectedGenerationTime)}
            </option>
          ))}
        </select>
        {errorFor('jobType')}
      </div>

      <div class="field">
        <label for="prompt">Prompt</label>
        <textarea
          id="prompt"
          rows={3}
          maxLength={2000}
          value={prompt}
          placeholder="a lighthouse at dusk, oil painting"
          onInput={(e) => {
            setPrompt(e.currentTarget.value);
            edited();
          }}
          {...invalid('prompt')}
        />
        {errorFor('prompt')}
      </div>

      <div class="row">
        <div class="field">
          <label for="num-images">Images</label>
          <select
            id="num-images"
            value={String(n)}
            disabled={counts.length < 2}
            aria-describedby={counts.length < 2 ? 'num-images-hint' : undefined}
            onChange={(e) => {
              setNumImages(Number(e.currentTarget.value));
              edited();
            }}
            {...invalid('numImages')}
          >
            {counts.map((c) => (
              <option key={c} value={String(c)}>
                {c}
              </option>
            ))}
          </select>
          <span class="visually-hidden" id="num-images-hint">
            This job type makes one output per job.
          </span>
          {errorFor('numImages')}
        </div>
        <div class="field">
          <label for="seed">Seed</label>
          <input
            id="seed"
            type="number"
            inputMode="numeric"
            min={0}
            max={MAX_SEED}
            step={1}
            placeholder="random"
            value={seed}
            onInput={(e) => {
              setSeed(e.currentTarget.value);
              edited();
            }}
            {...invalid('seed')}
          />
          {errorFor('seed')}
        </div>
      </div>

      <fieldset class="reference">
        <legend>Reference image (optional)</legend>
        <div class="reference-body">
          <div class="reference-preview" aria-hidden="true">
            {preview ? <img src={preview} alt="" /> : <span>none</span>}
          </div>
          <div class="reference-fields">
            <div class="field">
              <label for="reference-file">Reference image</label>
              <input
                id="reference-file"
                ref={fileInput}
                type="file"
                accept="image/png,image/jpeg,image/webp"
                onChange={(e) => {
                  setFile(e.currentTarget.files?.[0] ?? null);
                  edited();
                }}
                {...invalid('reference')}
              />
            </div>
            <div class="row">
              <div class="field">
                <label for="reference-type">Reference type</label>
                <select
                  id="reference-type"
                  value={refType}
                  disabled={!file}
                  onChange={(e) => {
                    setRefType(e.currentTarget.value as ReferenceType);
                    edited();
                  }}
                >
                  {refTypes.map((t) => (
                    <option key={t} value={t}>
                      {REFERENCE_LABELS[t]}
                    </option>
                  ))}
                </select>
              </div>
              <div class="field">
                <label for="reference-strength">Strength</label>
                <div class="strength">
                  <input
                    id="reference-strength"
                    type="range"
                    min={0.1}
                    max={1}
                    step={0.05}
                    value={strength}
                    disabled={!file}
                    aria-valuetext={strength.toFixed(2)}
                    onInput={(e) => {
                      setStrength(Number(e.currentTarget.value));
                      edited();
                    }}
                  />
                  <output for="reference-strength">{strength.toFixed(2)}</output>
                </div>
              </div>
            </div>
            {file && (
              <button
                type="button"
                class="link"
                onClick={() => {
                  setFile(null);
                  if (fileInput.current) fileInput.current.value = '';
                  edited();
                }}
              >
                Remove reference
              </button>
            )}
          </div>
        </div>
        {errorFor('reference')}
      </fieldset>

      <div class="submit-row">
        <p class="cost" aria-live="polite">
          Cost: <strong>{plural(cost, 'credit')}</strong>
          {type && <> · ≈ {seconds(type.expectedGenerationTime * (counts.length > 1 ? n : 1))}</>}
          {credits !== null && cost > credits && <span class="warn"> — more than your {plural(credits, 'credit')}</span>}
        </p>
        <button type="submit" class="primary" disabled={busy || !type} aria-busy={busy}>
          Queue job
        </button>
      </div>
      {errorFor('form')}
      <p class="status-line" aria-live="polite">
        {done}
      </p>
    </form>
  );
}

/** createReferenceUpload, then one upload of the file (PUT or form POST, as the API says); resolves the path to pass as the reference url. */
async function upload(api: Api, file: File): Promise<string> {
  const { createReferenceUpload: u } = await api.request(ReferenceUploadMutation, { contentType: file.type, filename: file.name });
  if (file.size > u.maxBytes) {
    throw new ApiError(`The reference image is ${(file.size / 1048576).toFixed(1)} MB; the limit is ${Math.floor(u.maxBytes / 1048576)} MB. Choose a smaller image.`, 'BAD_USER_INPUT', 'reference');
  }
  let res: Response;
  try {
    // Local storage takes a PUT of the bytes; S3 a form POST whose signed fields come first and the file last.
    if (u.method === 'POST') {
      const form = new FormData();
      for (const [k, v] of Object.entries((u.fields ?? {}) as Record<string, string>)) form.append(k, v);
      form.append('file', file, file.name);
      const headers = Object.fromEntries(Object.entries((u.headers ?? {}) as Record<string, string>).filter(([k]) => k.toLowerCase() !== 'content-type'));
      res = await fetch(u.uploadUrl, { method: 'POST', headers, body: form });
    } else {
      res = await fetch(u.uploadUrl, { method: u.method, headers: u.headers as Record<string, string>, body: file });
    }
  } catch {
    throw new ApiError('The reference image could not be uploaded: the storage did not answer. Try again.', 'NETWORK', 'reference');
  }
  if (!res.ok) {
    const detail = await res.text().catch(() => '');
    throw new ApiError(`The reference image upload was refused (HTTP ${res.status}${detail ? `: ${detail.slice(0, 200)}` : ''}). Try again or choose another image.`, 'BAD_USER_INPUT', 'reference');
  }
  return u.path;
}
