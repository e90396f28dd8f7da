import { describe, expect, it } from 'vitest';
import { RETRY_AFTER_SECONDS } from './contract.js';
import { ApiError, describeError, fieldErrors, isWritesFrozen, networkError, parseApiError, parseRetryAfter } from './errors.js';

const validationBody = JSON.stringify({
  error: {
    code: 'validation_error',
    message: 'The request is invalid.',
    details: [
      { field: 'page_size', message: 'must be between 1 and 100' },
      { field: 'filters.date_to', message: 'must not be before date_from' },
    ],
  },
});

describe('parseApiError', () => {
  it('reads the contract error shape with its field details', () => {
    const err = parseApiError(422, validationBody, new Headers({ 'X-Request-ID': 'req-1' }), '/api/v1/studies/search');
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('validation_error');
    expect(err.message).toBe('The request is invalid.');
    expect(err.details).toEqual([
      { field: 'page_size', message: 'must be between 1 and 100' },
      { field: 'filters.date_to', message: 'must not be before date_from' },
    ]);
    expect(err.requestId).toBe('req-1');
    expect(err.url).toBe('/api/v1/studies/search');
  });

  it('reads Retry-After of a write freeze', () => {
    const body = JSON.stringify({ error: { code: 'writes_frozen', message: 'Writes are paused.', details: [] } });
    const err = parseApiError(503, body, { 'retry-after': '30' });
    expect(isWritesFrozen(err)).toBe(true);
    expect(err.retryAfter).toBe(30);
  });

  it('falls back to the HTTP status for a body that is not the contract shape', () => {
    const html = parseApiError(502, '<html><body>Bad Gateway</body></html>');
    expect(html.code).toBe('http_502');
    expect(html.message).toBe('The server answered HTTP 502 Bad Gateway.');
    expect(html.details).toEqual([]);
    expect(parseApiError(500, '').code).toBe('http_500');
    expect(parseApiError(418, '{"detail":"x"}').message).toBe('The server answered HTTP 418.');
    expect(parseApiError(404, JSON.stringify({ error: 'nope' })).code).toBe('http_404');
  });

  it('tolerates malformed details', () => {
    const body = JSON.stringify({ error: { code: 'validation_error', message: '', details: [null, 3, { field: 'q' }] } });
    const err = parseApiError(422, body);
    expect(err.details).toEqual([{ field: 'q', message: '' }]);
    expect(err.message).toBe('HTTP 422');
  });
});

describe('describeError', () => {
  it('turns a write freeze into a friendly notice', () => {
    const err = new ApiError({ status: 503, code: 'writes_frozen', message: 'Writes are paused for a planned maintenance switch. Retry shortly.', retryAfter: 45 });
    const view = describeError(err);
    expect(view.tone).toBe('notice');
    expect(view.title).toBe('Writes paused, retry shortly');
    expect(view.message).toContain('about 45 seconds');
    const noHeader = describeError(new ApiError({ status: 503, code: 'writes_frozen', message: 'Paused.' }));
    expect(noHeader.message).toContain(`about ${RETRY_AFTER_SECONDS} seconds`);
  });

  it('shows the message and field details of other errors', () => {
    const view = describeError(parseApiError(422, validationBody));
    expect(view.tone).toBe('error');
    expect(view.message).toBe('The request is invalid.');
    expect(view.details).toHaveLength(2);
    expect(describeError(networkError(new TypeError('Failed to fetch'), '/x')).title).toBe('Service unreachable');
    expect(describeError(new Error('boom')).message).toBe('boom');
  });

  it('maps field details to form inputs, filters.* included', () => {
    expect(fieldErrors(parseApiError(422, validationBody))).toEqual({
      page_size: 'must be between 1 and 100',
      date_to: 'must not be before date_from',
    });
    expect(fieldErrors(new Error('x'))).toEqual({});
  });

  it('parses only delta-seconds Retry-After values', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(' 5 ')).toBe(5);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
});
