import { describe, expect, it, vi } from 'vitest';
import { createApi } from './api.js';
import { ApiError, describeError, networkError, parseApiError } from './errors.js';
import { createReleaseFollower, suggestsReleaseChange } from './release.js';

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
const frozen = () =>
  parseApiError(503, JSON.stringify({ error: { code: 'writes_frozen', message: 'Writes are paused.', details: [] } }));
const badGateway = () => parseApiError(502, '<html>502 Bad Gateway</html>');

/** A follower on /imaging/api/v1 whose build-info.json names `info.apiBase`; a hand-driven clock. */
function setup(apiBase = '/legacy/api/v1') {
  const info = { apiBase };
  const clock = { t: 0 };
  const reload = vi.fn();
  const fetchImpl = vi.fn(async () => json(200, { api_base: info.apiBase, build_id: 'b' }));
  const follower = createReleaseFollower({ apiBase: '/imaging/api/v1', fetchImpl, reload, now: () => clock.t });
  return { info, clock, reload, fetchImpl, follower };
}

describe('suggestsReleaseChange', () => {
  it('is true for no answer and 502/503/504, but not for the writes_frozen 503', () => {
    expect(suggestsReleaseChange(networkError(new TypeError('Failed to fetch'), '/x'))).toBe(true);
    expect(suggestsReleaseChange(badGateway())).toBe(true);
    expect(suggestsReleaseChange(parseApiError(503, ''))).toBe(true);
    expect(suggestsReleaseChange(parseApiError(504, ''))).toBe(true);
    expect(suggestsReleaseChange(frozen())).toBe(false);
    expect(suggestsReleaseChange(parseApiError(500, ''))).toBe(false);
    expect(suggestsReleaseChange(parseApiError(404, ''))).toBe(false);
    expect(suggestsReleaseChange(new Error('boom'))).toBe(false);
  });
});

describe('release follower', () => {
  it('reloads when build-info.json names another API base, reading it without the cache', async () => {
    const { reload, fetchImpl, follower } = setup('/legacy/api/v1');
    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(true);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(fetchImpl).toHaveBeenCalledWith('build-info.json', expect.objectContaining({ cache: 'no-store' }));
    expect(follower.movedTo()).toBe('/legacy/api/v1');
  });

  it('does not reload when the API base is unchanged (trailing slash aside)', async () => {
    const { reload, fetchImpl, follower } = setup('/imaging/api/v1/');
    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(false);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(reload).not.toHaveBeenCalled();
  });

  it('ignores writes_frozen and other errors without reading build-info.json', async () => {
    const { reload, fetchImpl, follower } = setup();
    expect(await follower.afterFailure(frozen(), 'POST')).toBe(false);
    expect(await follower.afterFailure(parseApiError(422, ''), 'GET')).toBe(false);
    expect(fetchImpl).not.toHaveBeenCalled();
    expect(reload).not.toHaveBeenCalled();
  });

  it('reads build-info.json at most once a second, and concurrent failures share one read', async () => {
    const { info, clock, reload, fetchImpl, follower } = setup('/imaging/api/v1');
    const answers = await Promise.all([1, 2, 3].map(() => follower.afterFailure(badGateway(), 'GET')));
    expect(answers).toEqual([false, false, false]);
    expect(fetchImpl).toHaveBeenCalledTimes(1);

    info.apiBase = '/legacy/api/v1'; // the rollback happens now
    clock.t = 999;
    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(false);
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(reload).not.toHaveBeenCalled();

    clock.t = 1000;
    expect(await follower.afterFailure(networkError(null, '/x'), 'GET')).toBe(true);
    expect(fetchImpl).toHaveBeenCalledTimes(2);
    expect(reload).toHaveBeenCalledTimes(1);
  });

  it('stays on the release when build-info.json cannot be read', async () => {
    const reload = vi.fn();
    const follower = createReleaseFollower({
      apiBase: '/imaging/api/v1',
      fetchImpl: async () => {
        throw new TypeError('Failed to fetch');
      },
      reload,
      now: () => 0,
    });
    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(false);
    expect(reload).not.toHaveBeenCalled();
  });

  it('shows a failed write as its error, marked, and reloads on the next failing call without re-reading', async () => {
    const { reload, fetchImpl, follower } = setup('/legacy/api/v1');
    const error = badGateway();
    expect(await follower.afterFailure(error, 'POST')).toBe(false);
    expect(reload).not.toHaveBeenCalled();
    expect(error.releaseMoved).toBe('/legacy/api/v1');
    expect(describeError(error).message).toContain('moved to another release');

    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(true); // within 2 s: no second read needed
    expect(fetchImpl).toHaveBeenCalledTimes(1);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(await follower.afterFailure(badGateway(), 'GET')).toBe(true);
    expect(reload).toHaveBeenCalledTimes(1); // one reload, however many calls fail
  });
});

describe('api client with a release follower', () => {
  function client(status) {
    const calls = [];
    const reload = vi.fn();
    const fetchImpl = async (url, init) => {
      calls.push({ url, method: init.method });
      if (url === 'build-info.json') return json(200, { api_base: '/legacy/api/v1' });
      return new Response('<html>bad gateway</html>', { status });
    };
    const release = createReleaseFollower({ apiBase: '/imaging/api/v1', fetchImpl, reload, now: () => 0 });
    return { calls, reload, api: createApi({ base: '/imaging/api/v1', fetchImpl, release }) };
  }

  it('leaves a failed GET to the reload (it never settles)', async () => {
    const { calls, reload, api } = client(502);
    const settled = vi.fn();
    api.searchStudies({}).then(settled, settled);
    await vi.waitFor(() => expect(reload).toHaveBeenCalledTimes(1));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).not.toHaveBeenCalled();
    expect(calls.map((c) => c.url)).toEqual(['/imaging/api/v1/studies/search', 'build-info.json']);
  });

  it('throws a failed POST and never re-sends it', async () => {
    const { calls, reload, api } = client(504);
    const err = await api.createTask({ name: 'n' }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 504, releaseMoved: '/legacy/api/v1' });
    expect(reload).not.toHaveBeenCalled();
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });
});
