// Query-string building, page state and pagination math. Pure functions, unit tested.
import { DEFAULT_PAGE, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './contract.js';

/** True when a filter value means "not given": the API treats empty and blank values as absent. */
export function isEmptyValue(value) {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * The query string for a request: empty values dropped, text trimmed, keys in the given order.
 * Returns "" when nothing is left, otherwise "?a=1&b=2" (URL-encoded).
 */
export function buildQueryString(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (isEmptyValue(value)) continue;
    search.append(key, typeof value === 'string' ? value.trim() : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Read a positive integer; anything else (absent, text, zero, negative, fraction) gives the fallback. */
export function toPositiveInt(value, fallback) {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : fallback;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value.trim())) return fallback;
  const n = Number.parseInt(value.trim(), 10);
  return n > 0 ? n : fallback;
}

/** Page size within the contract's limits (1..MAX_PAGE_SIZE); invalid input gives the default. */
export function clampPageSize(value) {
  const n = toPositiveInt(value, DEFAULT_PAGE_SIZE);
  return Math.min(n, MAX_PAGE_SIZE);
}

/**
 * The search state of a list page from URL parameters: every filter name (absent -> ""), page and page_size.
 * `params` is a URLSearchParams or a plain object.
 */
export function readListState(params, filterNames) {
  const get = (name) => (params instanceof URLSearchParams ? params.get(name) : params?.[name]) ?? '';
  const state = {};
  for (const name of filterNames) state[name] = String(get(name));
  state.page = toPositiveInt(get('page'), DEFAULT_PAGE);
  state.page_size = clampPageSize(get('page_size'));
  return state;
}

/** A filter changed: the result set changes, so the page goes back to the first one. */
export function withFilter(state, name, value) {
  return { ...state, [name]: value, page: DEFAULT_PAGE };
}

/** Several filters changed at once (a submitted form): back to the first page. */
export function withFilters(state, filters) {
  return { ...state, ...filters, page: DEFAULT_PAGE };
}

/** A new page size: the old page number would point elsewhere, so back to the first page. */
export function withPageSize(state, pageSize) {
  return { ...state, page_size: clampPageSize(pageSize), page: DEFAULT_PAGE };
}

export function withPage(state, page) {
  return { ...state, page: toPositiveInt(page, DEFAULT_PAGE) };
}

/** Parameters for the URL and the request: defaults left out so URLs stay short. */
export function stateToParams(state) {
  const out = {};
  for (const [key, value] of Object.entries(state)) {
    if (key === 'page' && value === DEFAULT_PAGE) continue;
    if (key === 'page_size' && value === DEFAULT_PAGE_SIZE) continue;
    out[key] = value;
  }
  return out;
}

/** Number of pages for a total; at least 1 so "page 1 of 1" is shown for an empty result. */
export function pageCount(total, pageSize) {
  if (!Number.isFinite(total) || total <= 0) return 1;
  return Math.ceil(total / Math.max(1, pageSize));
}

/** First and last row number (1-based) shown on a page, or null when the page holds no rows. */
export function pageRange(page, pageSize, total, shown) {
  if (!shown || total <= 0) return null;
  const first = (page - 1) * pageSize + 1;
  return { first, last: first + shown - 1 };
}

const NUMBER = new Intl.NumberFormat('en-US');
export function formatCount(n) {
  return NUMBER.format(n);
}

/** The summary line above a list: "Showing 21–40 of 1,250", "No results", or a page-past-the-end note. */
export function rangeLabel(page, pageSize, total, shown) {
  if (total <= 0) return 'No results';
  const range = pageRange(page, pageSize, total, shown);
  if (!range) return `Page ${formatCount(page)} is past the end (${formatCount(total)} results)`;
  return `Showing ${formatCount(range.first)}–${formatCount(range.last)} of ${formatCount(total)}`;
}

/**
 * Page numbers for the pagination control: first, last, and `radius` around the current page, with
 * null marking a gap. Example: pageWindow(7, 20) -> [1, null, 5, 6, 7, 8, 9, null, 20].
 */
export function pageWindow(page, pages, radius = 2) {
  const wanted = new Set([1, pages]);
  for (let p = page - radius; p <= page + radius; p += 1) if (p >= 1 && p <= pages) wanted.add(p);
  const sorted = [...wanted].sort((a, b) => a - b);
  const out = [];
  let previous = 0;
  for (const p of sorted) {
    if (p - previous === 2) out.push(p - 1);
    else if (p - previous > 2) out.push(null);
    out.push(p);
    previous = p;
  }
  return out;
}
