import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleet, startTestServer, type TestServer } from '../helpers/app.js';
import { isolatedContext, launchChromium } from '../helpers/browser.js';

/**
 * GraphiQL in a real Chromium with every other origin blocked: the page
 * loads, the example mutation runs with the dev token the Headers tab opened
 * with, and a subscription (websocket, authenticated by GraphiQL's
 * `extensions.headers`) shows the job's current state, then its completion.
 */
let server: TestServer;
let browser: Browser;
beforeAll(async () => {
  server = await startTestServer();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** An element's text with Monaco's non-breaking spaces and line breaks as plain spaces. */
async function textOf(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().innerText()).replace(/\s+/g, ' ');
}

/** The text of GraphiQL's result pane. */
const resultText = (page: Page) => textOf(page, '.graphiql-response:visible');

async function run(page: Page): Promise<void> {
  await page.getByRole('button', { name: /execute query/i }).click();
}

/** Replaces a Monaco editor's text (insertText types no auto-closed brackets). */
async function replaceEditor(page: Page, selector: string, text: string): Promise<void> {
  const editor = page.locator(selector).first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

describe('GraphiQL in Chromium, offline', () => {
  it('runs the example mutation and a subscription with the Headers tab filled in', async () => {
    const { context, blocked } = await isolatedContext(browser, new URL(server.url).origin);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      await page.goto(`${server.url}/graphql`);
      await expect.poll(() => page.locator('.graphiql-container').count(), { timeout: 30_000 }).toBeGreaterThan(0);
      // The Headers tab opens holding the dev user token.
      await expect.poll(async () => (await textOf(page, '.graphiql-editor-tool:visible')).includes('Bearer'), { timeout: 15_000 }).toBe(true);

      // Tab 1: the queueJob example.
      await expect.poll(async () => (await textOf(page, '.graphiql-query-editor:visible')).includes('mutation QueueJob'), { timeout: 15_000 }).toBe(true);
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 20_000 }).toMatch(/"queueJob"/);
      const id = /"id": ?"([0-9a-f-]{36})"/.exec(await resultText(page))![1];

      // Watch it, in the same tab (its Headers still hold the token): the first message is the current state.
      await replaceEditor(page, '.graphiql-query-editor', `subscription WatchIt { jobUpdated(id: "${id}") { id status progress } }`);
      // GraphiQL takes the operation name from the editor a moment later (debounced): wait for the tab to show it.
      await expect.poll(() => textOf(page, '.graphiql-tab-active'), { timeout: 15_000 }).toContain('WatchIt');
      await run(page);
      await expect.poll(() => resultText(page), { timeout: 20_000 }).toMatch(/"status": ?"queued"/);

      // The worker finishes it; the subscription shows the completion.
      const worker = fleet(server.url, await server.workerToken());
      let payload: Record<string, any> | null = null;
      for (let i = 0; i < 20 && payload?.id !== id; i++) payload = await worker.pop('sdxl_queue');
      expect(payload?.id).toBe(id);
      const path = `${payload!.user_id}/sdxl_${id}_1700000000_0.png`;
      expect((await worker.uploadRaw('sdxl_image_fast', path, new Uint8Array([137, 80, 78, 71, 9]))).status).toBe(200);
      expect((await worker.callback({ job_id: id, status: 'completed', assets: [path] })).status).toBe(200);
      await expect.poll(() => resultText(page), { timeout: 20_000 }).toMatch(/"status": ?"completed"/);

      expect(blocked).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
