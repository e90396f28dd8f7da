import { describe, expect, it } from 'vitest';
import { createApi, joinUrl } from './api.js';
import { createBackendTracker } from './backend.js';
import { ApiError } from './errors.js';

/** A fetch stand-in that records calls and answers with real Response objects. */
function recorder(answer) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return answer(url, init);
  };
  return { calls, fetchImpl };
}

const json = (status, body, headers = {}) =>
  new Response(body === null ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('api client', () => {
  it('joins base and path', () => {
    expect(joinUrl('/legacy/api/v1/', '/studies/search')).toBe('/legacy/api/v1/studies/search');
    expect(joinUrl('http://127.0.0.1:8000/api/v1', 'health')).toBe('http://127.0.0.1:8000/api/v1/health');
  });

  it('sends searches with the built query string and reports the backend header', async () => {
    const tracker = createBackendTracker();
    const { calls, fetchImpl } = recorder(() => json(200, { data: [], total: 0 }, { 'X-Backend': 'imaging' }));
    const api = createApi({ base: '/imaging/api/v1', fetchImpl, tracker });
    await api.searchStudies({ q: ' ct ', exam_status: '', page: 2 });
    expect(calls[0].url).toBe('/imaging/api/v1/studies/search?q=ct&page=2');
    expect(calls[0].init.method).toBe('GET');
    expect(tracker.snapshot().header).toBe('imaging');
  });

  it('posts JSON, deletes with 204 and encodes task ids', async () => {
    const { calls, fetchImpl } = recorder((url, init) =>
      init.method === 'DELETE' ? new Response(null, { status: 204 }) : json(201, { task_id: 't1' }),
    );
    const api = createApi({ base: '/api/v1', fetchImpl });
    expect(await api.createTask({ name: 'n', task_type: 'monthly_volume', filters: {} })).toEqual({ task_id: 't1' });
    expect(calls[0].init.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(calls[0].init.body)).toEqual({ name: 'n', task_type: 'monthly_volume', filters: {} });
    expect(await api.deleteTask('a/b')).toBeNull();
    expect(calls[1].url).toBe('/api/v1/analysis/tasks/a%2Fb');
  });

  it('throws ApiError with the contract error of a failed response', async () => {
    const body = { error: { code: 'writes_frozen', message: 'Writes are paused.', details: [] } };
    const { fetchImpl } = recorder(() => json(503, body, { 'Retry-After': '30', 'X-Backend': 'legacy' }));
    const tracker = createBackendTracker();
    const api = createApi({ base: '/api/v1', fetchImpl, tracker });
    const err = await api.deleteTask('x').catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 503, code: 'writes_frozen', retryAfter: 30 });
    expect(tracker.snapshot().header).toBe('legacy');
  });

  it('turns a refused connection into a network_error', async () => {
    const api = createApi({
      base: '/api/v1',
      fetchImpl: async () => {
        throw new TypeError('Failed to fetch');
      },
    });
    const err = await api.health().catch((e) => e);
    expect(err).toMatchObject({ code: 'network_error', status: 0 });
    expect(err.message).toContain('Failed to fetch');
  });

  it('rejects a success body that is not JSON', async () => {
    const api = createApi({ base: '/api/v1', fetchImpl: async () => new Response('<html>', { status: 200 }) });
    await expect(api.statistics({})).rejects.toMatchObject({ code: 'invalid_response' });
  });
});
