// Hash routing: every page and its search state live in the URL after "#", so links can be shared and
// the static build needs no server rewrite. Pure functions, unit tested.

const ROUTES = [
  { name: 'studies', pattern: /^\/(?:studies)?$/ },
  { name: 'study-reports', pattern: /^\/studies\/([^/]+)\/reports$/, keys: ['examId'] },
  { name: 'reports', pattern: /^\/reports$/ },
  { name: 'tasks', pattern: /^\/tasks$/ },
  { name: 'task', pattern: /^\/tasks\/([^/]+)$/, keys: ['taskId'] },
  { name: 'statistics', pattern: /^\/statistics$/ },
];

/** "#/studies/EX1/reports?page=2" -> {name: "study-reports", args: {examId: "EX1"}, params: URLSearchParams}. */
export function parseHash(hash) {
  const text = String(hash ?? '').replace(/^#/, '');
  const [rawPath, rawQuery = ''] = text.split(/\?(.*)/s, 2);
  const path = rawPath === '' ? '/' : rawPath;
  const params = new URLSearchParams(rawQuery);
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    const args = {};
    (route.keys ?? []).forEach((key, i) => {
      try {
        args[key] = decodeURIComponent(match[i + 1]);
      } catch {
        args[key] = match[i + 1];
      }
    });
    return { name: route.name, args, params, path };
  }
  return { name: 'not-found', args: {}, params, path };
}

/** The hash for a page: formatHash("task", {taskId: "a b"}) -> "#/tasks/a%20b"; params as in buildQueryString. */
export function formatHash(name, args = {}, params = {}) {
  const enc = encodeURIComponent;
  const paths = {
    studies: () => '/studies',
    'study-reports': () => `/studies/${enc(args.examId)}/reports`,
    reports: () => '/reports',
    tasks: () => '/tasks',
    task: () => `/tasks/${enc(args.taskId)}`,
    statistics: () => '/statistics',
  };
  if (!paths[name]) throw new Error(`unknown route ${name}`);
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || String(value).trim() === '') continue;
    search.append(key, String(value).trim());
  }
  const query = search.toString();
  return `#${paths[name]()}${query ? `?${query}` : ''}`;
}
