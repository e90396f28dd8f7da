// Following the release: nginx serves one release (`current/`) and each release talks to one API base. When a
// rollback flips `current` while a page is open, the page's API base is dead (502) until it reloads. So an API
// call that fails like a dead backend (no answer, 502/503/504 other than the contract's writes_frozen) makes
// the page re-read build-info.json; if it names another API base, the page reloads into the new release (whose
// own assets must be served). Pure logic, unit tested; fetch, reload and the clock are injected.
import { ApiError, isWritesFrozen } from './errors.js';

export const BUILD_INFO_URL = 'build-info.json'; // relative: the release's own, next to index.html
export const RELEASE_CHECK_INTERVAL_MS = 1000; // a failing page learns of a switch within a second
const GONE_STATUSES = new Set([502, 503, 504]);

/** Does this failure look like the page's backend is gone (so the release may have changed)? */
export function suggestsReleaseChange(error) {
  if (!(error instanceof ApiError) || isWritesFrozen(error)) return false;
  return error.code === 'network_error' || GONE_STATUSES.has(error.status);
}

const sameBase = (a, b) => String(a).replace(/\/+$/, '') === String(b).replace(/\/+$/, '');

/**
 * `afterFailure(error, method)` is called by the API client with every failed call. It resolves to true when
 * the page is reloading into another release: the client then leaves a failed GET to the reload (the reloaded
 * page asks again). A failed write is never left or retried: it is shown as the error it is, marked
 * `releaseMoved`, and the next failing call reloads without re-reading build-info.json.
 * build-info.json is read at most once per `minIntervalMs`; concurrent callers share one read.
 */
export function createReleaseFollower({
  apiBase,
  fetchImpl = globalThis.fetch?.bind(globalThis),
  reload = () => globalThis.location.reload(),
  now = () => Date.now(),
  minIntervalMs = RELEASE_CHECK_INTERVAL_MS,
  url = BUILD_INFO_URL,
}) {
  let movedTo = null; // the API base build-info.json names, once it differs from ours
  let lastCheck = -Infinity;
  let inFlight = null;
  let reloading = false;

  async function readApiBase() {
    const response = await fetchImpl(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    const info = await response.json();
    return typeof info?.api_base === 'string' && info.api_base ? info.api_base : null;
  }

  function check() {
    if (movedTo !== null) return Promise.resolve(movedTo);
    if (inFlight) return inFlight;
    if (now() - lastCheck < minIntervalMs) return Promise.resolve(null);
    lastCheck = now();
    inFlight = readApiBase()
      .then(
        (base) => {
          if (base !== null && !sameBase(base, apiBase)) movedTo = base;
          return movedTo;
        },
        () => null, // build-info.json unreachable too: stay on this release
      )
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  return {
    async afterFailure(error, method = 'GET') {
      if (!suggestsReleaseChange(error)) return false;
      const moved = await check();
      if (moved === null) return false;
      if (method !== 'GET') {
        error.releaseMoved = moved;
        return false;
      }
      if (!reloading) {
        reloading = true;
        reload();
      }
      return true;
    },
    movedTo: () => movedTo,
  };
}
