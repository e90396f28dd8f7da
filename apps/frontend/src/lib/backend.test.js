import { describe, expect, it, vi } from 'vitest';
import { backendLabel, createBackendTracker, indicatorView, normalizeBackend } from './backend.js';

describe('backend indicator', () => {
  it('normalizes header values', () => {
    expect(normalizeBackend(' Imaging ')).toBe('imaging');
    expect(normalizeBackend('legacy')).toBe('legacy');
    expect(normalizeBackend('')).toBeNull();
    expect(normalizeBackend(null)).toBeNull();
  });

  it('labels known backends and passes unknown names through', () => {
    expect(backendLabel('legacy')).toContain('FastAPI');
    expect(backendLabel('imaging')).toContain('Django');
    expect(backendLabel('other')).toBe('other');
    expect(backendLabel(null)).toBe('unknown');
  });

  it('follows the latest X-Backend header and notifies on change only', () => {
    const tracker = createBackendTracker();
    const seen = vi.fn();
    tracker.subscribe(seen);
    tracker.observe('legacy');
    tracker.observe('legacy');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(indicatorView(tracker.snapshot())).toMatchObject({ name: 'legacy', mismatch: false });
    tracker.observe('imaging');
    expect(seen).toHaveBeenCalledTimes(2);
    expect(tracker.snapshot().header).toBe('imaging');
    tracker.observe(null); // a response without the header (e.g. from a proxy) keeps the last known value
    expect(tracker.snapshot().header).toBe('imaging');
  });

  it('falls back to the health backend and flags a disagreement', () => {
    const tracker = createBackendTracker();
    tracker.setHealth({ status: 'ok', backend: 'imaging', writes_frozen: true });
    let view = indicatorView(tracker.snapshot());
    expect(view).toMatchObject({ name: 'imaging', mismatch: false, writesFrozen: true });
    tracker.observe('legacy');
    view = indicatorView(tracker.snapshot());
    expect(view.name).toBe('legacy');
    expect(view.mismatch).toBe(true);
    expect(view.text).toContain('health reports imaging');
  });

  it('shows unknown before any answer', () => {
    const view = indicatorView(createBackendTracker().snapshot());
    expect(view).toMatchObject({ name: 'unknown', text: 'Backend: unknown', mismatch: false, writesFrozen: false });
  });
});
