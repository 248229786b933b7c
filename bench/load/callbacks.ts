/**
 * Callback driver process: plays the GPU fleet sending `processing` callbacks
 * with progress to `POST /functions/v1/job-callback` at a fixed rate (open
 * loop: sends are scheduled by the clock, not by answers, so a slow server
 * cannot slow the offered load down). Records the send time of every
 * (job, progress) so receipt times in the subscriber processes can be joined.
 */
import http from 'node:http';
import { request } from '../lib/http.js';
import { serveCommands } from '../lib/proc.js';
import { now } from '../lib/util.js';

interface RunCommand {
  url: string;
  token: string;
  jobs: string[];
  rate: number;
  durationMs: number;
  /** Progress sent in round r over the jobs is progressBase + r + 1 (must exceed what each job has). */
  progressBase: number;
  maxInflight?: number;
}

/** [job index, progress, send time, 1 = answered 200 and changed the job | 0, answer latency ms] */
type Sent = [number, number, number, number, number];

async function run(cmd: RunCommand) {
  const url = new URL('/functions/v1/job-callback', cmd.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${cmd.token}` };
  const total = Math.floor((cmd.rate * cmd.durationMs) / 1000);
  const maxRounds = 99 - cmd.progressBase;
  const sent: Sent[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let skipped = 0;
  let inflight = 0;
  let k = 0;
  const inflightDone: Array<Promise<void>> = [];
  const t0 = performance.now();

  const fire = (i: number) => {
    const jobIndex = i % cmd.jobs.length;
    const round = Math.floor(i / cmd.jobs.length);
    if (round >= maxRounds) {
      skipped++;
      return;
    }
    const progress = cmd.progressBase + round + 1;
    const body = JSON.stringify({ job_id: cmd.jobs[jobIndex], status: 'processing', progress });
    const record: Sent = [jobIndex, progress, now(), 0, 0];
    sent.push(record);
    inflight++;
    const start = performance.now();
    inflightDone.push(
      request(agent, url, 'POST', headers, body)
        .then((answer) => {
          record[4] = performance.now() - start;
          if (answer.status === 200 && answer.text.includes('processed successfully')) record[3] = 1;
          else {
            errors++;
            if (errorSamples.length < 5) errorSamples.push(`HTTP ${answer.status}: ${answer.text.slice(0, 200)}`);
          }
        })
        .catch((err: unknown) => {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(String(err));
        })
        .finally(() => {
          inflight--;
        }),
    );
  };

  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * cmd.rate));
      while (k < due) {
        if (inflight >= (cmd.maxInflight ?? 1000)) {
          skipped++;
          k++;
          continue;
        }
        fire(k++);
      }
      if (k >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const sendingMs = performance.now() - t0;
  await Promise.all(inflightDone);
  agent.destroy();
  return { sent, errors, skipped, errorSamples, sendingMs, achievedRate: sent.length / (sendingMs / 1000) };
}

serveCommands({ run: (msg: RunCommand) => run(msg) });
