#!/usr/bin/env node
// Browser check of the error states against a backend whose writes are frozen (a cutover in progress):
//
//   node e2e/states.mjs --url http://127.0.0.1:8080/ --screenshots DIR [--label states]
//
// - creating a task shows the friendly "writes paused, retry shortly" notice (503 writes_frozen);
// - deleting a task shows it too, and the task is still there;
// - an invalid filter (date_to before date_from) shows the API's message and marks the date_to input (422);
// - an unknown task shows "not found" (404).
// Only the one failing request each step provokes is excused; any other console error or failed request
// fails the check. Screenshots: DIR/<label>-<step>.png. Exits 1 on any failure.
//
// Environment as for run.mjs: RADIOLOGY_WEB_CA_FILE (PEM CA of an HTTPS site, trusted besides Chromium's defaults;
// certificates are always verified), RADIOLOGY_WEB_CREDENTIALS_FILE (user:password for HTTP Basic login, mode
// 0600), CHROMIUM_PATH.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CheckFailed, check, launch, visit, waitReady, watch } from './browser.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    screenshots: { type: 'string' },
    label: { type: 'string', default: 'states' },
    timeout: { type: 'string', default: '20000' },
    chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
  },
  strict: true,
});
if (!args.url || !args.screenshots) {
  console.error('usage: node e2e/states.mjs --url URL --screenshots DIR [--label states] [--timeout MS] [--chromium PATH]');
  process.exit(2);
}
const base = new URL(args.url);
base.hash = '';
const shots = path.resolve(args.screenshots);
await mkdir(shots, { recursive: true });

/** Excuse exactly the expected failing answer: its status, its method and a URL part. */
function expecting(status, method, urlPart) {
  return (kind, text) =>
    (kind === `HTTP ${status}` && text.startsWith(`${method} `) && text.includes(urlPart)) ||
    (kind === 'console error' && text.startsWith(`Failed to load resource: the server responded with a status of ${status}`));
}

const problems = [];
let passed = 0;
let failed = 0;
let browser;
try {
  browser = await launch(args.chromium, Number.parseInt(args.timeout, 10), { origin: base.origin });
} catch (err) {
  console.error(`e2e states FAILED: ${err.message}`);
  process.exit(1);
}

async function step(name, hash, allow, body) {
  const before = problems.length;
  const page = await browser.context.newPage();
  watch(page, problems, name, allow);
  try {
    await visit(page, base.toString() + hash);
    await body(page);
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: path.join(shots, `${args.label}-${name}.png`), fullPage: true });
  } catch (err) {
    problems.push(`${name}: ${err instanceof CheckFailed ? err.message : err.message.split('\n')[0]}`);
    await page.screenshot({ path: path.join(shots, `${args.label}-${name}-FAILED.png`), fullPage: true }).catch(() => {});
  } finally {
    await page.close();
  }
  const ok = problems.length === before;
  if (ok) passed += 1;
  else failed += 1;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${args.label}-${name}`);
}

await step('writes-frozen-create', '#/tasks', expecting(503, 'POST', '/analysis/tasks'), async (page) => {
  await waitReady(page, 'page-tasks');
  await page.getByTestId('writes-frozen').waitFor(); // health says writes_frozen: true
  await page.getByTestId('filter-name').fill('Created while frozen');
  await page.getByTestId('filter-task_type').selectOption('monthly_volume');
  await page.getByTestId('task-create-submit').click();
  const notice = page.getByTestId('task-create-error');
  await notice.waitFor();
  check((await notice.getAttribute('data-code')) === 'writes_frozen', 'create did not answer writes_frozen');
  const text = await notice.innerText();
  check(text.includes('Writes paused, retry shortly'), `notice reads ${JSON.stringify(text)}`);
  check(page.url().endsWith('#/tasks'), `the page navigated away: ${page.url()}`);
});

let taskId = null;
await step('writes-frozen-delete', '#/tasks', expecting(503, 'DELETE', '/analysis/tasks/'), async (page) => {
  await waitReady(page, 'page-tasks');
  taskId = await page.locator('[data-testid="tasks-table"] tbody tr').first().getAttribute('data-task-id');
  check(taskId, 'no analysis task is listed to try deleting');
  await page.locator(`[data-task-id="${taskId}"] a`).click();
  await waitReady(page, 'page-task');
  await page.getByTestId('task-delete').click();
  await page.getByTestId('task-delete-yes').click();
  const notice = page.getByTestId('task-delete-error');
  await notice.waitFor();
  check((await notice.getAttribute('data-code')) === 'writes_frozen', 'delete did not answer writes_frozen');
  check((await notice.innerText()).includes('Writes paused, retry shortly'), 'no friendly freeze notice');
  check(await page.getByTestId('task-name').isVisible(), 'the task is no longer shown');
});

await step(
  'invalid-filter',
  '#/studies?date_from=2025-05-01&date_to=2025-01-01',
  expecting(422, 'GET', '/studies/search'),
  async (page) => {
    await waitReady(page, 'page-studies', 'error');
    const alert = page.locator('[role="alert"][data-code="validation_error"]');
    await alert.waitFor();
    const text = await alert.innerText();
    check(text.includes('date_to') && text.includes('must not be before date_from'), `alert reads ${JSON.stringify(text)}`);
    check((await page.getByTestId('filter-date_to').getAttribute('aria-invalid')) === 'true', 'date_to input not marked invalid');
  },
);

await step('not-found', '#/tasks/00000000-0000-4000-8000-000000000000', expecting(404, 'GET', '/analysis/tasks/'), async (page) => {
  await waitReady(page, 'page-task', 'error');
  const alert = page.locator('[role="alert"][data-code="not_found"]');
  await alert.waitFor();
  check((await alert.innerText()).includes('The analysis task was not found.'), 'no not-found message');
});

await browser.close();
if (problems.length) {
  console.error(`\ne2e states FAILED (${base}):`);
  for (const p of problems) console.error(`  - ${p}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(problems.length ? 1 : 0);
