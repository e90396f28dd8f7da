// Shared by the browser checks: Debian's Chromium launched by playwright-core with a fresh profile, and a
// watcher that records console errors, page errors and failed requests.
//
// Environment (the same names the project's Python tools read):
//   RADIOLOGY_WEB_CA_FILE           PEM file of the CA that signed the site's certificate (the site's or the lab's
//                                   own CA). Chromium then trusts it in addition to its defaults: a private NSS
//                                   database ($HOME/.pki/nssdb in a temporary HOME given to Chromium only, made with
//                                   certutil from Debian's libnss3-tools) holds it. Certificates are always verified.
//   RADIOLOGY_WEB_CREDENTIALS_FILE  file holding `user:password` for HTTP Basic login (mode 0600 or stricter);
//                                   the browser answers the site's login challenge with it, for the checked origin only.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

export const CA_FILE_ENV = 'RADIOLOGY_WEB_CA_FILE';
export const CREDENTIALS_FILE_ENV = 'RADIOLOGY_WEB_CREDENTIALS_FILE';
const NSS_NICKNAME = 'radiology-web-ca';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

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

/**
 * `{ username, password }` from a file holding `user:password` (split at the first colon, one trailing newline
 * dropped). The file must be a regular file that neither group nor others may read or write. Errors name the
 * file, never its content.
 */
export async function readCredentials(file) {
  const what = `${CREDENTIALS_FILE_ENV}=${file}`;
  let handle;
  try {
    // O_NONBLOCK: a FIFO given by mistake is refused below instead of blocking the open.
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw new Error(`${what}: cannot open it (${err.code ?? err.message})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${what} is not a regular file`);
    if (stat.mode & 0o077) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw new Error(`${what} may be read or written by group or others (mode ${mode}): chmod 600 ${file}`);
    }
    const text = (await handle.readFile('utf8')).replace(/\r?\n$/, '');
    const colon = text.indexOf(':');
    if (colon < 1 || /[\r\n]/.test(text)) throw new Error(`${what} must hold one line user:password`);
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  } finally {
    await handle.close();
  }
}

async function certutil(args) {
  try {
    await promisify(execFile)('certutil', args, { timeout: 30_000 });
  } catch (err) {
    if (err.code === 'ENOENT') {
      throw new Error(
        `${CA_FILE_ENV} is set but the certutil command is not on PATH: install Debian's libnss3-tools ` +
          '(apt-get install -y libnss3-tools)',
      );
    }
    throw new Error(`certutil ${args.join(' ')} failed: ${String(err.stderr || err.message).trim()}`);
  }
}

/**
 * A HOME for Chromium under `dir` whose NSS database ($HOME/.pki/nssdb) trusts the CA certificate(s) in `caFile`
 * for TLS servers ("C,,"); Chromium adds it to its default roots. Returns the HOME.
 */
export async function trustingHome(caFile, dir) {
  const what = `${CA_FILE_ENV}=${caFile}`;
  let pem;
  try {
    pem = await readFile(caFile, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read it (${err.code ?? err.message})`);
  }
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new Error(`${what} holds no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new Error(`${what} holds a certificate that does not parse (${err.message})`);
    }
  }
  const home = path.join(dir, 'home');
  const db = path.join(home, '.pki', 'nssdb');
  await mkdir(db, { recursive: true, mode: 0o700 });
  await certutil(['-N', '-d', `sql:${db}`, '--empty-password']);
  // One certutil -A per certificate: it reads only the first one of a file (a bundle may hold root and intermediate).
  for (const [i, block] of blocks.entries()) {
    const file = path.join(dir, `ca-${i + 1}.pem`);
    await writeFile(file, `${block}\n`);
    const nickname = i === 0 ? NSS_NICKNAME : `${NSS_NICKNAME}-${i + 1}`;
    await certutil(['-A', '-d', `sql:${db}`, '-n', nickname, '-t', 'C,,', '-i', file]);
  }
  return home;
}

/**
 * A browser context on a fresh user-data-dir; `close()` ends Chromium and removes the profile (and the private
 * HOME made for RADIOLOGY_WEB_CA_FILE). `origin` (scheme://host:port of the checked site) is the only origin that
 * gets the RADIOLOGY_WEB_CREDENTIALS_FILE login.
 */
export async function launch(executablePath, timeout, { origin } = {}) {
  const caFile = process.env[CA_FILE_ENV];
  const credentialsFile = process.env[CREDENTIALS_FILE_ENV];
  const credentials = credentialsFile ? await readCredentials(credentialsFile) : null;
  const dir = await mkdtemp(path.join(tmpdir(), 'radiology-e2e-chromium-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  const env = { ...process.env };
  let context;
  try {
    if (caFile) env.HOME = await trustingHome(caFile, dir);
    const userDataDir = path.join(dir, 'profile');
    await mkdir(userDataDir);
    try {
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        env,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1366, height: 900 },
        timeout: 60_000,
        ...(credentials && { httpCredentials: { ...credentials, ...(origin && { origin }) } }),
      });
    } catch (err) {
      throw new Error(`could not start Chromium at ${executablePath}: ${err.message.split('\n')[0]}`);
    }
  } catch (err) {
    await remove();
    throw err;
  }
  context.setDefaultTimeout(timeout);
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        await remove();
      }
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

/** Why a login failed: no RADIOLOGY_WEB_CREDENTIALS_FILE, or its user:password was refused. */
const loginHint = () =>
  process.env[CREDENTIALS_FILE_ENV]
    ? `login refused with the user:password in ${CREDENTIALS_FILE_ENV}`
    : `login required: set ${CREDENTIALS_FILE_ENV}`;

/**
 * Load `url` in `page`. An untrusted certificate, a refused login, or an error answer (>= 400) for the page itself
 * fails at once with a hint instead of leaving the step to wait for a page that never renders.
 */
export async function visit(page, url) {
  let response;
  try {
    response = await page.goto(url, { waitUntil: 'load' });
  } catch (err) {
    const first = err.message.split('\n')[0];
    if (first.includes('net::ERR_CERT_AUTHORITY_INVALID')) {
      const ca = process.env[CA_FILE_ENV];
      const why = ca
        ? `the site's certificate is signed neither by ${CA_FILE_ENV}=${ca} nor by a CA Chromium trusts by default`
        : `the site's certificate is not signed by a CA Chromium trusts (set ${CA_FILE_ENV} to the CA that signed it)`;
      throw new CheckFailed(`${first}: ${why}`);
    }
    if (/net::ERR_(CERT_|SSL_)/.test(first)) throw new CheckFailed(first);
    if (first.includes('net::ERR_INVALID_AUTH_CREDENTIALS')) throw new CheckFailed(`${first} (${loginHint()})`);
    throw err;
  }
  const status = response?.status() ?? 0;
  if (status >= 400) throw new CheckFailed(`${url} answered HTTP ${status}${status === 401 ? ` (${loginHint()})` : ''}`);
  return response;
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
