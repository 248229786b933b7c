import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser, Locator, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.mjs';
import { gql, startTestServer, type TestServer } from '../helpers/app.js';
import { isolatedContext, launchChromium, type IsolatedContext } from '../helpers/browser.js';
import { startSimulator, type Simulator } from '../helpers/simulator.js';

/**
 * The web console in headless Chromium against a started server and the
 * simulator worker, driven only through the accessible roles and names the
 * contract fixes. Every request to another origin is refused and recorded.
 * Screenshots go to test-results/console/ (not committed).
 */

const SHOTS = join(process.cwd(), 'test-results', 'console');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

let dist: string;
let server: TestServer;
let sim: Simulator;
let browser: Browser;
let ctx: IsolatedContext;
let page: Page;
let token: string;
/** Every aria-valuenow each job's progressbar showed, and every height each job row had, as the page saw them. */
type Seen = { progress: Record<string, number[]>; heights: Record<string, number[]> };

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dist = mkdtempSync(join(tmpdir(), 'console-dist-'));
  await buildConsole(dist);
  // The test itself polls the API for job states far more often than a person would: its own calls
  // must not use up the dev user's per-minute budget that the console also draws on.
  server = await startTestServer({ STARTING_CREDITS: '200', RATE_LIMIT_PER_MINUTE: '100000' }, { consoleDir: dist });
  // A video_fast job (180 s expected) takes 6 s, an SDXL batch of 3 half a second.
  sim = await startSimulator(server.url, await server.workerToken(), { SIM_SPEED: '30' });
  browser = await launchChromium();
  ctx = await isolatedContext(browser, server.url, DESKTOP);
  page = await ctx.context.newPage();
  await page.goto(`${server.url}/console`);
  await page.getByRole('combobox', { name: 'Job type' }).waitFor();
  await watchJobs(page);
  token = await page.getByRole('textbox', { name: 'API token' }).inputValue();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await sim?.stop();
  await server?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

/** Records progress values and row heights from inside the page, so quick changes are not missed between polls. */
async function watchJobs(p: Page): Promise<void> {
  await p.evaluate(() => {
    const seen: Seen = { progress: {}, heights: {} };
    (window as unknown as { __seen: Seen }).__seen = seen;
    const record = () => {
      for (const li of document.querySelectorAll<HTMLElement>('ul[aria-label="Jobs"] > li')) {
        const id = li.dataset.jobId!;
        const bar = li.querySelector('[role="progressbar"]');
        const value = bar ? Number(bar.getAttribute('aria-valuenow')) : null;
        const list = (seen.progress[id] ??= []);
        if (value !== null && list.at(-1) !== value) list.push(value);
        const h = li.getBoundingClientRect().height;
        const hs = (seen.heights[id] ??= []);
        if (!hs.includes(h)) hs.push(h);
      }
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    record();
  });
}

const seen = (p: Page = page) => p.evaluate(() => (window as unknown as { __seen: Seen }).__seen);
const jobs = (p: Page = page) => p.getByRole('list', { name: 'Jobs' });
const row = (id: string, p: Page = page) => jobs(p).locator(`li[data-job-id="${id}"]`);
const statusOf = (li: Locator) => li.locator('.badge').textContent();
const credits = async (p: Page = page) => Number(await p.getByTestId('credits').textContent());

async function waitStatus(li: Locator, status: string, timeout = 30_000): Promise<void> {
  await li.locator(`.badge:text-is("${status}")`).waitFor({ timeout });
}

/** The newest job's id once a new row appears at the top of the list. */
async function newestJobId(p: Page, before: string | null): Promise<string> {
  const first = jobs(p).getByRole('listitem').first();
  await p.waitForFunction(
    (prev) => {
      const li = document.querySelector<HTMLElement>('ul[aria-label="Jobs"] > li');
      return li && li.dataset.jobId !== prev;
    },
    before,
    { timeout: 10_000 },
  );
  return (await first.getAttribute('data-job-id'))!;
}

async function topId(p: Page = page): Promise<string | null> {
  return p.evaluate(() => document.querySelector<HTMLElement>('ul[aria-label="Jobs"] > li')?.dataset.jobId ?? null);
}

async function apiState() {
  const res = await gql(server.url, token, '{ me { credits } jobs(first: 100) { edges { node { id status } } } }');
  expect(res.errors).toBeUndefined();
  return { credits: res.data!.me.credits as number, jobs: res.data!.jobs.edges.length as number };
}

function png(width: number, height: number): Buffer {
  const img = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) img.data.set([i % 255, 80, 160, 255], i * 4);
  return PNG.sync.write(img);
}

describe('the web console', () => {
  it('opens on the embedded defaults with the dev token, the credits and the queues', async () => {
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    await page.waitForFunction(() => document.querySelector('[data-testid="credits"]')?.textContent === '200');
    const queues = page.getByRole('region', { name: 'Queues' });
    for (const name of ['sdxl_queue', 'wan_queue']) await queues.getByRole('rowheader', { name }).waitFor();
    for (const column of ['Waiting', 'Running', 'Expected wait']) await queues.getByRole('columnheader', { name: column }).waitFor();
    await page.getByRole('region', { name: 'Gallery' }).waitFor();
    // Job types with their cost and expected time.
    const option = await page.getByRole('combobox', { name: 'Job type' }).locator('option[value="video_fast"]').textContent();
    expect(option).toMatch(/3 credits.*3 min/);
  });

  it('queues an SDXL batch of 3 from the keyboard and watches it complete live', async () => {
    const before = await topId();
    await page.getByRole('combobox', { name: 'Job type' }).selectOption('sdxl_image_fast');
    await page.getByRole('combobox', { name: 'Images' }).selectOption('3');
    await expect.poll(() => page.locator('.cost').textContent()).toMatch(/Cost: 3 credits/);
    const prompt = page.getByRole('textbox', { name: 'Prompt' });
    await prompt.focus();
    await page.keyboard.type('a lighthouse at dusk, oil painting');
    // Tab through the rest of the form to the submit button, then press Enter.
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate(() => document.activeElement?.textContent === 'Queue job')) break;
    }
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Queue job');
    await page.keyboard.press('Enter');

    const id = await newestJobId(page, before);
    const li = row(id);
    await waitStatus(li, 'completed');
    expect(await credits()).toBe(197);
    const s = await seen();
    expect(s.progress[id]!.length, JSON.stringify(s.progress[id])).toBeGreaterThanOrEqual(2);
    expect(s.progress[id]).toEqual([...s.progress[id]!].sort((a, b) => a - b));
    // No layout shift: the row kept one height through queued, processing and completed.
    expect(s.heights[id]).toHaveLength(1);

    const gallery = page.getByRole('region', { name: 'Gallery' });
    const images = gallery.getByRole('img', { name: 'a lighthouse at dusk, oil painting' });
    await expect.poll(() => images.count()).toBe(3);
    await page.waitForFunction(
      () => [...document.querySelectorAll<HTMLImageElement>('img[alt="a lighthouse at dusk, oil painting"]')].every((i) => i.complete && i.naturalWidth > 0),
      undefined,
      { timeout: 10_000 },
    );
    // The gallery shows the small WebP thumbnails (made by the server for first-generation outputs), not the full images.
    const sizes = await images.evaluateAll((els) => els.map((e) => ({ src: (e as HTMLImageElement).src, w: (e as HTMLImageElement).naturalWidth })));
    for (const { src, w } of sizes) {
      expect(src).toMatch(/\.thumb\.webp/);
      expect(w).toBeLessThanOrEqual(256);
    }
  });

  it('queues a video with a start-frame reference, watches the progress bar move and plays it in the gallery', async () => {
    const before = await topId();
    await page.getByRole('combobox', { name: 'Job type' }).selectOption('video_fast');
    expect(await page.getByRole('combobox', { name: 'Images' }).isDisabled()).toBe(true);
    await page.getByRole('textbox', { name: 'Prompt' }).fill('waves rolling onto a beach');
    await page.getByRole('spinbutton', { name: 'Seed' }).fill('1234');
    await page.getByLabel('Reference image', { exact: true }).setInputFiles({ name: 'first.png', mimeType: 'image/png', buffer: png(64, 48) });
    await page.getByRole('combobox', { name: 'Reference type' }).selectOption('start_frame');
    await page.getByRole('button', { name: 'Queue job' }).click();

    const id = await newestJobId(page, before);
    const li = row(id);
    await li.getByRole('progressbar').waitFor({ timeout: 15_000 });
    await waitStatus(li, 'completed', 40_000);
    const s = await seen();
    const values = s.progress[id]!;
    expect(values.filter((v) => v > 0 && v < 100).length, JSON.stringify(values)).toBeGreaterThanOrEqual(2);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(s.heights[id]).toHaveLength(1);

    // The reference went through createReferenceUpload and the job carries it.
    const job = await gql(server.url, token, 'query($id: ID!) { job(id: $id) { seed references { type strength url } } }', { id });
    expect(job.data!.job.references).toEqual([{ type: 'start_frame', strength: 0.5, url: expect.stringMatching(/^reference_images\//) }]);
    expect(job.data!.job.seed).toBe(1234);

    const video = page.getByRole('region', { name: 'Gallery' }).locator('video[aria-label="waves rolling onto a beach"]');
    await video.waitFor();
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('video[aria-label="waves rolling onto a beach"]');
        return v && v.readyState >= 1 && v.videoWidth > 0 && !v.error;
      },
      undefined,
      { timeout: 15_000 },
    );
  });

  it('opens an image full size with its prompt, seed, negative prompt, generation time and download link', async () => {
    const gallery = page.getByRole('region', { name: 'Gallery' });
    await gallery.getByRole('button', { name: 'a lighthouse at dusk, oil painting' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const text = (await dialog.textContent())!;
    expect(text).toContain('a lighthouse at dusk, oil painting');
    for (const label of ['Seed', 'Negative prompt', 'Generation time']) expect(text).toContain(label);
    const full = dialog.getByRole('img', { name: 'a lighthouse at dusk, oil painting' });
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('dialog[open] img');
      return img && img.complete && img.naturalWidth > 0;
    });
    const href = await dialog.getByRole('link', { name: 'Download' }).getAttribute('href');
    expect(href).toBe(await full.getAttribute('src'));
    const res = await fetch(href!);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    await page.screenshot({ path: join(SHOTS, 'desktop-viewer.png') });
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
  });

  it('shows an API error as an alert beside the field it concerns, and nothing changes', async () => {
    const before = await apiState();
    const creditsShown = await credits();
    await page.getByRole('combobox', { name: 'Job type' }).selectOption('sdxl_image_fast');
    // Blank after trimming: only the API knows, and says so.
    await page.getByRole('textbox', { name: 'Prompt' }).fill('    ');
    await page.getByRole('button', { name: 'Queue job' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/prompt must be 1 to 2000 characters after trimming/);
    const prompt = page.getByRole('textbox', { name: 'Prompt' });
    expect(await prompt.getAttribute('aria-invalid')).toBe('true');
    expect(await prompt.getAttribute('aria-describedby')).toBe(await alert.getAttribute('id'));
    expect(await apiState()).toEqual(before);
    expect(await credits()).toBe(creditsShown);
    await page.screenshot({ path: join(SHOTS, 'desktop-error.png') });
    // Editing the field clears the alert.
    await prompt.fill('a quiet harbour');
    await alert.waitFor({ state: 'detached' });
  });

  it('cancels a job (refunded) and retries it (charged again) until it completes', { timeout: 90_000 }, async () => {
    const start = await credits();
    const before = await topId();
    await page.getByRole('combobox', { name: 'Job type' }).selectOption('video_fast');
    await page.getByRole('textbox', { name: 'Prompt' }).fill('a paper boat on a pond');
    await page.getByRole('button', { name: 'Queue job' }).click();
    const id = await newestJobId(page, before);
    const li = row(id);
    await expect.poll(() => credits()).toBe(start - 3);
    await li.getByRole('button', { name: 'Cancel' }).click();
    await waitStatus(li, 'cancelled');
    await expect.poll(() => credits()).toBe(start);
    expect(await li.getByRole('button', { name: 'Cancel' }).count()).toBe(0);

    await li.getByRole('button', { name: 'Retry' }).click();
    await li.locator('.badge:text-matches("queued|processing")').waitFor();
    await expect.poll(() => credits()).toBe(start - 3);
    await waitStatus(li, 'completed', 40_000);
    expect(await li.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    expect((await seen()).heights[id]).toHaveLength(1);
  });

  it('shows the queue position and expected start while a job waits', { timeout: 90_000 }, async () => {
    // Two videos: the worker takes one, the other waits behind it in wan_queue.
    const ids: string[] = [];
    for (const prompt of ['a windmill turning', 'a kite over a field']) {
      const res = await gql(server.url, token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }', {
        i: { jobType: 'video_fast', prompt },
      });
      expect(res.errors).toBeUndefined();
      ids.push(res.data!.queueJob.job.id);
    }
    const waiting = row(ids[1]!);
    await waiting.locator('.badge:text-is("queued")').waitFor();
    await waiting.getByText(/Position \d+ in wan_queue/).waitFor({ timeout: 10_000 });
    await waiting.getByText(/expected start/).waitFor();
    const queues = page.getByRole('region', { name: 'Queues' });
    const wan = queues.getByRole('row', { name: /wan_queue/ });
    await expect.poll(async () => Number(await wan.getByRole('cell').nth(0).textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'desktop-queued.png'), fullPage: true });
    for (const id of ids) await waitStatus(row(id), 'completed', 40_000);
  });

  it('resumes after a reload', { timeout: 60_000 }, async () => {
    const before = await topId();
    await page.getByRole('combobox', { name: 'Job type' }).selectOption('video_fast');
    await page.getByRole('textbox', { name: 'Prompt' }).fill('rain on a window');
    await page.getByRole('button', { name: 'Queue job' }).click();
    const id = await newestJobId(page, before);
    await row(id).getByRole('progressbar').waitFor({ timeout: 15_000 });
    await page.reload();
    await watchJobs(page);
    await row(id).waitFor();
    await waitStatus(row(id), 'completed', 40_000);
  });

  it('catches up after a dropped connection', { timeout: 90_000 }, async () => {
    const other = await isolatedContext(browser, server.url, DESKTOP);
    try {
      let dropping = false;
      const sockets: WebSocketRoute[] = [];
      await other.context.routeWebSocket(/\/graphql$/, (ws) => {
        if (dropping) return void ws.close({ code: 1012, reason: 'test: connection dropped' });
        ws.connectToServer();
        sockets.push(ws);
      });
      const p = await other.context.newPage();
      // The console reads the newest jobs on load and again just after each (re)connection.
      let reads = 0;
      p.on('requestfinished', (r) => void (r.postData()?.includes('query ConsoleJobs') && reads++));
      await p.goto(`${server.url}/console`);
      await p.locator('ul[aria-label="Jobs"][aria-busy="false"]').waitFor({ state: 'attached' });
      await expect.poll(() => sockets.length).toBeGreaterThanOrEqual(1);
      await expect.poll(() => reads).toBeGreaterThanOrEqual(2);

      dropping = true;
      for (const ws of sockets.splice(0)) await ws.close({ code: 1012, reason: 'test: connection dropped' });
      // While the console is cut off, a job is queued elsewhere and runs to the end.
      const res = await gql(server.url, token, 'mutation { queueJob(input: { jobType: sdxl_image_fast, prompt: "while you were away" }) { job { id } } }');
      const id = res.data!.queueJob.job.id as string;
      await expect
        .poll(async () => (await gql(server.url, token, `{ job(id: "${id}") { status } }`)).data!.job.status, { timeout: 15_000, interval: 200 })
        .toBe('completed');
      expect(await row(id, p).count()).toBe(0);

      const readsBefore = reads;
      dropping = false;
      await waitStatus(row(id, p), 'completed', 30_000);
      expect(reads).toBeGreaterThan(readsBefore);
      expect(other.blocked).toEqual([]);
    } finally {
      await other.context.close();
    }
  });

  it('pages through older jobs', { timeout: 90_000 }, async () => {
    // More jobs than one page (20), queued a few at a time under the per-user limit on active jobs.
    const target = 24;
    let total = (await apiState()).jobs;
    while (total < target) {
      const batch = Math.min(4, target - total);
      const queued: string[] = [];
      for (let i = 0; i < batch; i++) {
        const res = await gql(server.url, token, 'mutation($i: QueueJobInput!) { queueJob(input: $i) { job { id } } }', {
          i: { jobType: 'sdxl_image_fast', prompt: `page filler ${total + i + 1}` },
        });
        expect(res.errors).toBeUndefined();
        queued.push(res.data!.queueJob.job.id);
      }
      for (const id of queued) {
        await expect
          .poll(async () => (await gql(server.url, token, `{ job(id: "${id}") { status } }`)).data!.job.status, { timeout: 20_000, interval: 200 })
          .toBe('completed');
      }
      total += batch;
    }
    await page.reload();
    await watchJobs(page);
    await expect.poll(() => jobs().getByRole('listitem').count()).toBe(20);
    await page.getByRole('button', { name: 'Load older jobs' }).click();
    await expect.poll(() => jobs().getByRole('listitem').count()).toBe(total);
    expect(await page.getByRole('button', { name: 'Load older jobs' }).count()).toBe(0);
    // Newest first, one row per job.
    const times = await jobs().locator('li time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')!));
    expect(times).toEqual([...times].sort().reverse());
    const idsShown = await jobs().getByRole('listitem').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.jobId));
    expect(new Set(idsShown).size).toBe(total);
  });

  it('reads well at phone and desktop widths (screenshots in test-results/console/)', async () => {
    await page.setViewportSize(DESKTOP);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'desktop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(200);
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.screenshot({ path: join(SHOTS, 'phone.png'), fullPage: true });
    await page.screenshot({ path: join(SHOTS, 'phone-top.png') });
    await page.setViewportSize(DESKTOP);
    expect(ctx.blocked).toEqual([]);
  });
});
