// React glue: the current route from the URL hash, async loading with stale-result protection, and the
// backend tracker's state.
import { useCallback, useEffect, useState, useSyncExternalStore } from 'react';
import { parseHash } from './lib/router.js';

export function navigate(hash) {
  if (window.location.hash === hash) return;
  window.location.hash = hash;
}

function subscribeHash(fn) {
  window.addEventListener('hashchange', fn);
  return () => window.removeEventListener('hashchange', fn);
}

export function useRoute() {
  const hash = useSyncExternalStore(subscribeHash, () => window.location.hash, () => '');
  return parseHash(hash);
}

/**
 * The status to show for `key`: the loaded state's own status only when it answers this key. In the render
 * where `key` changes (a new page, new filters) the effect that starts the next load has not run yet, and the
 * data on hand still answers the previous key: that is loading, never "ok".
 */
export function statusFor(state, key) {
  return state.key === key ? state.status : 'loading';
}

/**
 * Run `load` whenever `key` changes. Results of superseded loads are ignored (requests are not aborted:
 * an aborted request would show as a failed request to operators watching the browser).
 * The previous data stays visible while the next page loads; `key` of the result says which query the data
 * answers.
 */
export function useResource(load, key) {
  const [state, setState] = useState({ status: 'loading', data: null, error: null, key: null });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ status: 'loading', data: s.data, error: null, key }));
    load().then(
      (data) => current && setState({ status: 'ok', data, error: null, key }),
      (error) => current && setState({ status: 'error', data: null, error, key }),
    );
    return () => {
      current = false;
    };
    // `load` is a fresh closure each render; `key` says when its inputs changed.
  }, [key, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, status: statusFor(state, key), reload };
}

export function useTracker(tracker) {
  return useSyncExternalStore(tracker.subscribe, tracker.snapshot, tracker.snapshot);
}
