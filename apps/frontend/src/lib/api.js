// The API client: one function per endpoint of the contract. Every response's X-Backend header is
// reported to the backend tracker; failures become ApiError and are shown to the release follower
// (release.js), which may reload the page into another release: a GET it reloads for never settles.
import { BACKEND_HEADER } from './contract.js';
import { ApiError, networkError, parseApiError } from './errors.js';
import { buildQueryString } from './query.js';

/** Join the configured API base and an endpoint path: "/legacy/api/v1/" + "/studies/search". */
export function joinUrl(base, path) {
  return `${String(base).replace(/\/+$/, '')}/${String(path).replace(/^\/+/, '')}`;
}

export function createApi({ base, fetchImpl = globalThis.fetch.bind(globalThis), tracker = null, release = null }) {
  async function request(method, path, options = {}) {
    try {
      return await send(method, path, options);
    } catch (error) {
      if (release && (await release.afterFailure(error, method))) return new Promise(() => {});
      throw error;
    }
  }

  async function send(method, path, { params = null, body = undefined } = {}) {
    const url = joinUrl(base, path) + (params ? buildQueryString(params) : '');
    const headers = { Accept: 'application/json' };
    const init = { method, headers };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetchImpl(url, init);
    } catch (cause) {
      throw networkError(cause, url);
    }
    tracker?.observe(response.headers.get(BACKEND_HEADER));
    const text = await response.text();
    if (!response.ok) throw parseApiError(response.status, text, response.headers, url);
    if (response.status === 204 || text === '') return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new ApiError({
        status: response.status,
        code: 'invalid_response',
        message: `The service answered ${method} ${path} with a body that is not JSON.`,
        url,
      });
    }
  }

  const taskPath = (id) => `/analysis/tasks/${encodeURIComponent(id)}`;
  return {
    base,
    searchStudies: (params) => request('GET', '/studies/search', { params }),
    searchReports: (params) => request('GET', '/reports/search', { params }),
    statistics: (params) => request('GET', '/statistics', { params }),
    listTasks: (params) => request('GET', '/analysis/tasks', { params }),
    getTask: (id) => request('GET', taskPath(id)),
    createTask: (payload) => request('POST', '/analysis/tasks', { body: payload }),
    deleteTask: (id) => request('DELETE', taskPath(id)),
    health: () => request('GET', '/health'),
  };
}
