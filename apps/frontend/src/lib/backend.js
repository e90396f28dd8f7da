// Which backend answered: the X-Backend response header of every API call and the health endpoint's
// "backend". Operators watch this indicator during a cutover. Pure logic, unit tested.

const LABELS = {
  legacy: 'legacy (FastAPI + DuckDB)',
  imaging: 'imaging (Django + PostgreSQL)',
};

/** The backend name from a header value: trimmed, lower-case; null when absent or blank. */
export function normalizeBackend(value) {
  if (value === null || value === undefined) return null;
  const text = String(value).trim().toLowerCase();
  return text || null;
}

export function backendLabel(name) {
  if (!name) return 'unknown';
  return LABELS[name] ?? name;
}

/**
 * A small store of what the pages learned about the backend. `observe` is fed the X-Backend header of
 * every response; `setHealth` the health body (or an error). Subscribers are told of every change.
 */
export function createBackendTracker() {
  let state = { header: null, health: null, healthError: null, writesFrozen: null, responses: 0 };
  const listeners = new Set();
  const emit = () => {
    for (const fn of listeners) fn(state);
  };
  return {
    observe(headerValue) {
      const header = normalizeBackend(headerValue);
      const changed = header !== null && header !== state.header;
      state = { ...state, header: header ?? state.header, responses: state.responses + 1 };
      if (changed || state.responses === 1) emit();
    },
    setHealth(body) {
      state = {
        ...state,
        health: normalizeBackend(body?.backend),
        writesFrozen: typeof body?.writes_frozen === 'boolean' ? body.writes_frozen : null,
        healthError: null,
      };
      emit();
    },
    setHealthError(message) {
      state = { ...state, healthError: message };
      emit();
    },
    snapshot() {
      return state;
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/**
 * What the footer indicator shows: the backend that answered (header first, health as fallback), and a
 * warning when the two disagree (a half-switched proxy).
 */
export function indicatorView(state) {
  const name = state.header ?? state.health;
  const mismatch = Boolean(state.header && state.health && state.header !== state.health);
  let text = `Backend: ${backendLabel(name)}`;
  if (mismatch) text += ` — health reports ${state.health}`;
  return { name: name ?? 'unknown', text, mismatch, writesFrozen: state.writesFrozen === true };
}
