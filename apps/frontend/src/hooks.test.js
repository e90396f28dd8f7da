import { describe, expect, it } from 'vitest';
import { statusFor } from './hooks.js';

describe('statusFor', () => {
  it('is the loaded status when the data answers the current key', () => {
    expect(statusFor({ status: 'ok', key: 'page=2' }, 'page=2')).toBe('ok');
    expect(statusFor({ status: 'error', key: 'page=2' }, 'page=2')).toBe('error');
  });

  it('is loading while the data on hand answers another key (new filters, before the next load starts)', () => {
    expect(statusFor({ status: 'ok', key: 'page=1' }, 'exam_status=certified&page=1')).toBe('loading');
    expect(statusFor({ status: 'error', key: 'page=1' }, 'page=2')).toBe('loading');
    expect(statusFor({ status: 'loading', key: null }, 'page=1')).toBe('loading');
  });
});
