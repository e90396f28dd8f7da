import { describe, expect, it } from 'vitest';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, STUDY_FILTER_NAMES } from './contract.js';
import {
  buildQueryString,
  clampPageSize,
  pageCount,
  pageRange,
  pageWindow,
  rangeLabel,
  readListState,
  stateToParams,
  toPositiveInt,
  withFilter,
  withFilters,
  withPage,
  withPageSize,
} from './query.js';

describe('buildQueryString', () => {
  it('drops empty, blank, null and undefined values and trims text', () => {
    const qs = buildQueryString({ q: '  knee  ', exam_status: '', modality: null, exam_item: undefined, date_from: '   ', page: 2 });
    expect(qs).toBe('?q=knee&page=2');
  });

  it('returns an empty string when nothing is left', () => {
    expect(buildQueryString({ q: '', exam_status: ' ' })).toBe('');
    expect(buildQueryString({})).toBe('');
    expect(buildQueryString(null)).toBe('');
  });

  it('encodes reserved characters so they reach the API literally', () => {
    const qs = buildQueryString({ q: '50% & a_b\\c', exam_item: 'CT 頭部' });
    const parsed = new URLSearchParams(qs.slice(1));
    expect(parsed.get('q')).toBe('50% & a_b\\c');
    expect(parsed.get('exam_item')).toBe('CT 頭部');
    expect(qs).not.toContain(' ');
    expect(qs).toContain('%25');
  });

  it('keeps zero as a value', () => {
    expect(buildQueryString({ page: 0 })).toBe('?page=0');
  });
});

describe('page state', () => {
  const base = { q: 'chest', exam_status: '', page: 5, page_size: 50 };

  it('goes back to page 1 when a filter changes', () => {
    expect(withFilter(base, 'exam_status', 'completed')).toEqual({ ...base, exam_status: 'completed', page: 1 });
    expect(withFilters(base, { q: 'head', modality: 'CT' })).toEqual({ ...base, q: 'head', modality: 'CT', page: 1 });
  });

  it('goes back to page 1 when the page size changes, and clamps it', () => {
    expect(withPageSize(base, 100)).toEqual({ ...base, page_size: 100, page: 1 });
    expect(withPageSize(base, MAX_PAGE_SIZE + 500).page_size).toBe(MAX_PAGE_SIZE);
    expect(withPageSize(base, 'x').page_size).toBe(DEFAULT_PAGE_SIZE);
  });

  it('keeps filters when only the page changes', () => {
    expect(withPage(base, 6)).toEqual({ ...base, page: 6 });
    expect(withPage(base, -3).page).toBe(1);
  });

  it('reads every contract filter from URL parameters with defaults', () => {
    const state = readListState(new URLSearchParams('q=x&page=3&page_size=1000&bogus=1'), STUDY_FILTER_NAMES);
    expect(Object.keys(state)).toEqual([...STUDY_FILTER_NAMES, 'page', 'page_size']);
    expect(state.q).toBe('x');
    expect(state.exam_status).toBe('');
    expect(state.page).toBe(3);
    expect(state.page_size).toBe(MAX_PAGE_SIZE);
    expect(state).not.toHaveProperty('bogus');
    expect(readListState({}, ['q'])).toEqual({ q: '', page: 1, page_size: DEFAULT_PAGE_SIZE });
  });

  it('leaves default page and page size out of request parameters', () => {
    expect(stateToParams({ q: 'a', page: 1, page_size: DEFAULT_PAGE_SIZE })).toEqual({ q: 'a' });
    expect(stateToParams({ q: 'a', page: 2, page_size: 50 })).toEqual({ q: 'a', page: 2, page_size: 50 });
  });

  it('accepts only positive integers as page numbers', () => {
    expect(toPositiveInt('12', 1)).toBe(12);
    expect(toPositiveInt(' 7 ', 1)).toBe(7);
    for (const bad of ['0', '-1', '1.5', 'abc', '', null, undefined, 0, -2, 2.5, '1e3']) {
      expect(toPositiveInt(bad, 1)).toBe(1);
    }
    expect(clampPageSize('0')).toBe(DEFAULT_PAGE_SIZE);
  });
});

describe('pagination math', () => {
  it('counts pages, with at least one', () => {
    expect(pageCount(1250, 20)).toBe(63);
    expect(pageCount(1240, 20)).toBe(62);
    expect(pageCount(1, 20)).toBe(1);
    expect(pageCount(0, 20)).toBe(1);
    expect(pageCount(100, 100)).toBe(100 / 100);
    expect(pageCount(101, 100)).toBe(2);
  });

  it('gives the rows shown on a page', () => {
    expect(pageRange(1, 20, 1250, 20)).toEqual({ first: 1, last: 20 });
    expect(pageRange(63, 20, 1250, 10)).toEqual({ first: 1241, last: 1250 });
    expect(pageRange(64, 20, 1250, 0)).toBeNull();
  });

  it('labels the range, an empty result and a page past the end', () => {
    expect(rangeLabel(2, 20, 1250, 20)).toBe('Showing 21–40 of 1,250');
    expect(rangeLabel(1, 20, 0, 0)).toBe('No results');
    expect(rangeLabel(99, 20, 1250, 0)).toBe('Page 99 is past the end (1,250 results)');
  });

  it('windows page links with gaps, never a gap of one page', () => {
    expect(pageWindow(1, 1)).toEqual([1]);
    expect(pageWindow(1, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(pageWindow(7, 20)).toEqual([1, null, 5, 6, 7, 8, 9, null, 20]);
    expect(pageWindow(4, 20)).toEqual([1, 2, 3, 4, 5, 6, null, 20]);
    expect(pageWindow(20, 20)).toEqual([1, null, 18, 19, 20]);
    expect(pageWindow(1, 63)).toEqual([1, 2, 3, null, 63]);
  });
});
