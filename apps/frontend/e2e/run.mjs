#!/usr/bin/env node
// Browser end-to-end check of a deployed frontend build, in Debian's Chromium driven by playwright-core.
//
//   node e2e/run.mjs --url http://127.0.0.1:8080/ --expect-backend legacy --screenshots DIR --label before
//
// Visits every page (studies, a study's reports, reports, analysis tasks with create/detail/delete,
// statistics), asserts that real data is shown, that the backend indicator names the expected backend,
// that no page logs a console error or has a failed network request (4xx/5xx or no answer), and saves a
// screenshot per page as DIR/<label>-<page>.png plus DIR/<label>-report.json. Exits 1 on any failure,
// 2 on bad usage.
//
// An HTTPS site is verified, always (there is no switch to turn it off). Environment:
//   RADIOLOGY_WEB_CA_FILE           PEM CA that signed the site's certificate, trusted besides Chromium's defaults
//                                   (needs certutil, from Debian's libnss3-tools)
//   RADIOLOGY_WEB_CREDENTIALS_FILE  user:password for the site's HTTP Basic login, a file of mode 0600
//   CHROMIUM_PATH                   Chromium to drive (default /usr/bin/chromium; --chromium overrides)
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CheckFailed, check, intAttr, launch, visit, waitReady, watch } from './browser.mjs';

const BACKENDS = ['legacy', 'imaging'];
const LABEL_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function usage(message) {
  console.error(`e2e: ${message}`);
  console.error(
    'usage: node e2e/run.mjs --url URL --expect-backend legacy|imaging --screenshots DIR --label before|after|rollback' +
      ' [--read-only] [--timeout MS] [--chromium PATH]',
  );
  process.exit(2);
}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        url: { type: 'string' },
        'expect-backend': { type: 'string' },
        screenshots: { type: 'string' },
        label: { type: 'string' },
        'read-only': { type: 'boolean', default: false },
        timeout: { type: 'string', default: '20000' },
        chromium: { type: 'string', default: process.env.CHROMIUM_PATH || '/usr/bin/chromium' },
      },
      strict: true,
    }));
  } catch (err) {
    usage(err.message);
  }
  for (const name of ['url', 'expect-backend', 'screenshots', 'label']) if (!values[name]) usage(`--${name} is required`);
  if (!BACKENDS.includes(values['expect-backend'])) usage(`--expect-backend must be one of ${BACKENDS.join(', ')}`);
  if (!LABEL_RE.test(values.label)) usage(`--label ${JSON.stringify(values.label)} must be a plain word (letters, digits, _ . -)`);
  let url;
  try {
    url = new URL(values.url);
  } catch {
    usage(`--url ${JSON.stringify(values.url)} is not a URL`);
  }
  url.hash = '';
  const timeout = Number.parseInt(values.timeout, 10);
  if (!(timeout > 0)) usage('--timeout must be a positive number of milliseconds');
  return {
    url: url.toString(),
    backend: values['expect-backend'],
    screenshots: path.resolve(values.screenshots),
    label: values.label,
    readOnly: values['read-only'],
    timeout,
    chromium: values.chromium,
  };
}

async function main() {
  const opt = options();
  await mkdir(opt.screenshots, { recursive: true });
  const results = [];
  const problems = [];
  const started = Date.now();
  let browser;
  try {
    browser = await launch(opt.chromium, opt.timeout, { origin: new URL(opt.url).origin });
  } catch (err) {
    console.error(`e2e FAILED (${opt.label}): ${err.message}`);
    process.exit(1);
  }
  const { context } = browser;

  const shared = {};

  /** One page step: a fresh tab loaded at `hash`, the step's checks, a screenshot, the backend check. */
  async function step(name, hash, body) {
    const t0 = Date.now();
    const before = problems.length;
    const page = await context.newPage();
    watch(page, problems, name);
    const result = { page: name, ok: false, facts: {} };
    results.push(result);
    try {
      await visit(page, opt.url + hash);
      await body(page, result.facts);
      await checkBackend(page, result.facts);
      // Let late requests (health, a second fetch) finish before judging the step.
      await page.waitForLoadState('networkidle');
      const file = path.join(opt.screenshots, `${opt.label}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      result.screenshot = file;
      result.ok = problems.length === before;
    } catch (err) {
      const message = err instanceof CheckFailed ? err.message : `${err.name}: ${err.message.split('\n')[0]}`;
      problems.push(`${name}: ${message}`);
      const file = path.join(opt.screenshots, `${opt.label}-${name}-FAILED.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      result.screenshot = file;
    } finally {
      result.ms = Date.now() - t0;
      result.problems = problems.slice(before);
      await page.close();
      const facts = Object.entries(result.facts)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(`${result.ok ? 'ok  ' : 'FAIL'} ${opt.label}-${name} (${result.ms} ms) ${facts}`);
    }
  }

  async function checkBackend(page, facts) {
    const indicator = page.getByTestId('backend-indicator');
    const health = page.getByTestId('health-backend');
    try {
      await page.locator(`[data-testid="backend-indicator"][data-backend="${opt.backend}"]`).waitFor({ timeout: 5000 });
      await page.locator(`[data-testid="health-backend"][data-backend="${opt.backend}"]`).waitFor({ timeout: 5000 });
    } catch {
      const shown = await indicator.getAttribute('data-backend');
      const healthShown = await health.innerText();
      throw new CheckFailed(
        `backend indicator shows ${JSON.stringify(shown)} (${healthShown}), expected ${JSON.stringify(opt.backend)}`,
      );
    }
    facts.backend = opt.backend;
  }

  async function tableRows(page, testid) {
    return page.locator(`[data-testid="${testid}"] tbody tr`).count();
  }

  await step('studies', '#/studies', async (page, facts) => {
    await waitReady(page, 'page-studies');
    const total = await intAttr(page.getByTestId('studies-total'), 'data-total');
    const rows = await tableRows(page, 'studies-table');
    check(total > 0, `studies total is ${total}, expected > 0`);
    check(rows > 0, 'the studies table has no rows');
    check(rows === Math.min(total, 20), `studies table shows ${rows} rows for total ${total} (page size 20)`);
    facts.total = total;
    facts.rows = rows;
    shared.studiesTotal = total;
    shared.firstStatus = await page.locator('[data-testid="studies-table"] tbody tr .status').first().innerText();
  });

  await step('studies-filtered', '#/studies', async (page, facts) => {
    await waitReady(page, 'page-studies');
    // Filter by the status of the first row: fewer (or equal) rows, every one with that status.
    const status = await page.locator('[data-testid="filter-exam_status"] option', { hasText: shared.firstStatus ?? '' }).first().getAttribute('value');
    check(status, `no status option labelled ${JSON.stringify(shared.firstStatus)}`);
    await page.getByTestId('filter-exam_status').selectOption(status);
    await page.getByTestId('studies-filters').getByRole('button', { name: 'Search' }).click();
    await page.waitForURL((u) => u.hash.includes(`exam_status=${status}`));
    // The page says which query the rows on screen answer (data-query): wait for the filtered answer, not for the
    // unfiltered rows that stay on screen until the browser has handled the new URL.
    await page
      .locator(`[data-testid="page-studies"][data-state="ok"][data-query*="exam_status=${status}"] [data-testid="studies-total"]`)
      .waitFor();
    const total = await intAttr(page.getByTestId('studies-total'), 'data-total');
    check(total > 0 && total <= shared.studiesTotal, `filtered total ${total} not within 1..${shared.studiesTotal}`);
    const statuses = await page.locator('[data-testid="studies-table"] tbody tr .status').allInnerTexts();
    check(statuses.length > 0 && statuses.every((s) => s === shared.firstStatus), `rows not all ${shared.firstStatus}: ${statuses.join(', ')}`);
    facts.filter = `exam_status=${status}`;
    facts.total = total;
    if (total > 20) {
      await page.getByRole('button', { name: 'Next ›' }).click();
      await page.waitForURL((u) => u.hash.includes('page=2'));
      // The URL changes before page 2 has loaded, while page 1 is still shown as "ok": wait for page 2's summary.
      const totalLine = page.getByTestId('studies-total');
      await totalLine.filter({ hasText: /^Showing 21–/ }).waitFor().catch(() => {});
      const summary = await totalLine.innerText();
      check(summary.startsWith('Showing 21–'), `page 2 summary is ${JSON.stringify(summary)}`);
      facts.page2 = 'ok';
    }
  });

  await step('reports', '#/reports', async (page, facts) => {
    await waitReady(page, 'page-reports');
    const total = await intAttr(page.getByTestId('reports-total'), 'data-total');
    const rows = await tableRows(page, 'reports-table');
    check(total > 0, `reports total is ${total}, expected > 0`);
    check(rows > 0, 'the reports table has no rows');
    facts.total = total;
    facts.rows = rows;
    shared.examWithReport = await page.locator('[data-testid="reports-table"] tbody tr td:nth-child(3) a').first().innerText();
  });

  await step('study-reports', '#/reports', async (page, facts) => {
    await waitReady(page, 'page-reports');
    // Follow the exam link of the first report, as a user would.
    const examId = shared.examWithReport;
    check(examId, 'no exam id with a report was found on the reports page');
    await page.locator('[data-testid="reports-table"] tbody tr td:nth-child(3) a', { hasText: examId }).first().click();
    await page.waitForURL((u) => u.hash.startsWith(`#/studies/${encodeURIComponent(examId)}/reports`));
    await waitReady(page, 'page-study-reports');
    check(await page.getByTestId('study-details').isVisible(), `no details shown for examination ${examId}`);
    const reports = await page.locator('[data-testid="study-reports-list"] [data-report-id]').count();
    check(reports > 0, `examination ${examId} shows no reports`);
    facts.exam_id = examId;
    facts.reports = reports;
  });

  await step('statistics', '#/statistics', async (page, facts) => {
    await waitReady(page, 'page-statistics');
    const total = await intAttr(page.getByTestId('statistics-total'), 'data-total');
    check(total > 0, `statistics total is ${total}, expected > 0`);
    check(total === shared.studiesTotal, `statistics total ${total} differs from the studies total ${shared.studiesTotal}`);
    for (const key of ['by_status', 'by_source', 'by_item', 'by_month']) {
      const rows = await intAttr(page.getByTestId(`statistics-${key}`), 'data-rows');
      check(rows > 0, `statistics ${key} has no buckets`);
      facts[key] = rows;
    }
    facts.total = total;
  });

  await step('tasks', '#/tasks', async (page, facts) => {
    await waitReady(page, 'page-tasks');
    const total = await intAttr(page.getByTestId('tasks-total'), 'data-total');
    check(Number.isInteger(total) && total >= 0, 'the tasks list shows no total');
    facts.total = total;
    shared.tasksTotal = total;
    if (total > 0) shared.existingTask = await page.locator('[data-testid="tasks-table"] tbody tr').first().getAttribute('data-task-id');
  });

  if (!opt.readOnly) {
    await step('task', '#/tasks', async (page, facts) => {
      await waitReady(page, 'page-tasks');
      const name = `e2e ${opt.label} ${new Date().toISOString()}`;
      const form = page.getByTestId('task-create-form');
      await form.getByTestId('filter-name').fill(name);
      await form.getByTestId('filter-task_type').selectOption('status_distribution');
      await page.getByTestId('task-create-submit').click();
      await page.waitForURL((u) => u.hash.startsWith('#/tasks/'));
      await waitReady(page, 'page-task');
      const shownName = await page.getByTestId('task-name').innerText();
      check(shownName === name, `task detail shows name ${JSON.stringify(shownName)}, expected ${JSON.stringify(name)}`);
      const resultTotal = await intAttr(page.getByTestId('task-result'), 'data-total');
      const buckets = await intAttr(page.getByTestId('task-result'), 'data-rows');
      check(resultTotal === shared.studiesTotal, `task result counts ${resultTotal} examinations, expected ${shared.studiesTotal}`);
      check(buckets > 0, 'task result has no buckets');
      shared.createdTask = decodeURIComponent(new URL(page.url()).hash.slice('#/tasks/'.length));
      facts.task_id = shared.createdTask;
      facts.buckets = buckets;
    });

    await step('task-deleted', shared.createdTask ? `#/tasks/${encodeURIComponent(shared.createdTask)}` : '#/tasks', async (page, facts) => {
      check(shared.createdTask, 'no task was created, nothing to delete');
      await waitReady(page, 'page-task');
      await page.getByTestId('task-delete').click();
      await page.getByTestId('task-delete-yes').click();
      await page.waitForURL((u) => u.hash.startsWith('#/tasks') && !u.hash.startsWith('#/tasks/'));
      await waitReady(page, 'page-tasks');
      const flash = await page.getByTestId('flash').innerText();
      check(flash.includes('deleted'), `no deletion notice, got ${JSON.stringify(flash)}`);
      const still = await page.locator(`[data-testid="tasks-table"] tbody tr[data-task-id="${shared.createdTask}"]`).count();
      check(still === 0, `deleted task ${shared.createdTask} is still listed`);
      // (The total is not compared: other clients, e.g. a load test, may create tasks meanwhile.)
      facts.deleted = shared.createdTask;
    });
  } else if (shared.existingTask) {
    await step('task', `#/tasks/${encodeURIComponent(shared.existingTask)}`, async (page, facts) => {
      await waitReady(page, 'page-task');
      const buckets = await intAttr(page.getByTestId('task-result'), 'data-rows');
      check(buckets >= 0, 'task result is missing');
      facts.task_id = shared.existingTask;
    });
  } else {
    console.log(`skip ${opt.label}-task: --read-only and no task exists to open`);
  }

  await browser.close();

  const report = {
    label: opt.label,
    url: opt.url,
    expected_backend: opt.backend,
    read_only: opt.readOnly,
    seconds: (Date.now() - started) / 1000,
    passed: problems.length === 0,
    pages: results,
    problems,
  };
  await writeFile(path.join(opt.screenshots, `${opt.label}-report.json`), `${JSON.stringify(report, null, 2)}\n`);
  const passed = results.filter((r) => r.ok).length;
  if (problems.length) {
    console.error(`\ne2e FAILED (${opt.label}, expected backend ${opt.backend}, ${opt.url}):`);
    for (const p of problems) console.error(`  - ${p}`);
    console.log(`${passed} passed, ${results.length - passed} failed`);
    process.exit(1);
  }
  console.log(`e2e ok (${opt.label}): ${results.length} pages on backend ${opt.backend}; screenshots in ${opt.screenshots}`);
  console.log(`${passed} passed, 0 failed`);
}

main().catch((err) => {
  console.error(`e2e FAILED: ${err.stack ?? err}`);
  process.exit(1);
});
