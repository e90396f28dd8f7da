// Shared state handling of the paginated search pages: URL params -> state -> request params.
import { buildQueryString, readListState, stateToParams, withFilters, withPage, withPageSize } from '../lib/query.js';
import { formatHash } from '../lib/router.js';
import { navigate } from '../hooks.js';

export function listControls(route, filterNames, routeName = route.name, args = route.args) {
  const state = readListState(route.params, filterNames);
  const params = stateToParams(state);
  const go = (next) => navigate(formatHash(routeName, args, stateToParams(next)));
  return {
    state,
    params,
    key: buildQueryString(params),
    submit: (filters) => go(withFilters(state, filters)),
    reset: () => go(readListState({}, filterNames)),
    setPage: (page) => go(withPage(state, page)),
    setPageSize: (size) => go(withPageSize(state, size)),
  };
}
