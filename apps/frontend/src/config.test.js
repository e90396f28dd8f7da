import { describe, expect, it } from 'vitest';
import { normalizeApiBase } from '../vite.config.js';

describe('REACT_APP_API_BASE', () => {
  it('accepts absolute paths and http(s) URLs, without a trailing slash', () => {
    expect(normalizeApiBase('/legacy/api/v1/')).toBe('/legacy/api/v1');
    expect(normalizeApiBase(' http://127.0.0.1:8000/api/v1 ')).toBe('http://127.0.0.1:8000/api/v1');
  });

  it('refuses empty and relative values loudly', () => {
    expect(() => normalizeApiBase('')).toThrow(/REACT_APP_API_BASE is empty/);
    expect(() => normalizeApiBase(undefined)).toThrow(/REACT_APP_API_BASE is empty/);
    expect(() => normalizeApiBase('api/v1')).toThrow(/neither an absolute path nor an http/);
    expect(() => normalizeApiBase('ftp://x/api')).toThrow(/neither/);
  });
});
