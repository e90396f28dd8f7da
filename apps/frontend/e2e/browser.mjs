// Shared by the browser checks: Debian's Chromium launched by playwright-core with a fresh profile, and a
// watcher that records console errors, page errors and failed requests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser context on a fresh user-data-dir; `close()` ends Chromium and removes the profile. */
export async function launch(executablePath, timeout) {
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'radiology-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1366, height: 900 },
      timeout: 60_000,
    });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new Error(`could not start Chromium at ${executablePath}: ${err.message.split('\n')[0]}`);
  }
  context.setDefaultTimeout(timeout);
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Record what goes wrong on a page: console errors, uncaught errors, requests with no answer and answers
 * with status >= 400. `allow(kind, text)` may excuse an expected one (the error-state checks expect some).
 */
export function watch(page, problems, step, allow = () => false) {
  const add = (kind, text) => {
    if (!allow(kind, text)) problems.push(`${step}: ${kind}: ${text}`);
  };
  page.on('console', (msg) => {
    if (msg.type() === 'error') add('console error', msg.text());
  });
  page.on('pageerror', (err) => add('uncaught page error', err.message));
  page.on('requestfailed', (req) =>
    add('request failed', `${req.method()} ${req.url()} (${req.failure()?.errorText ?? 'no answer'})`),
  );
  page.on('response', (res) => {
    if (res.status() >= 400) add(`HTTP ${res.status()}`, `${res.request().method()} ${res.url()}`);
  });
}

export class CheckFailed extends Error {}

export function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

export const intAttr = async (locator, name) => Number.parseInt((await locator.getAttribute(name)) ?? 'NaN', 10);

/** Wait until a page root settles; fail with the page's own error notice when it shows one. */
export async function waitReady(page, testid, expected = 'ok') {
  const root = page.locator(`[data-testid="${testid}"]`);
  await root.locator('xpath=self::*[@data-state="ok" or @data-state="error"]').waitFor();
  const state = await root.getAttribute('data-state');
  if (state !== expected) {
    const notice =
      state === 'error'
        ? await page.locator('[role="alert"]').first().innerText().catch(() => '(no message)')
        : '(no error shown)';
    throw new CheckFailed(`page state is ${state}, expected ${expected}: ${notice.replace(/\s+/g, ' ').trim()}`);
  }
  return root;
}
