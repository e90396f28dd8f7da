import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { parseApiError } from '../lib/errors.js';
import { BackendIndicator } from './BackendIndicator.jsx';
import { ErrorNotice } from './Notices.jsx';
import { Pagination } from './Pagination.jsx';

const noop = () => {};

describe('components', () => {
  it('shows which backend answered in the footer indicator', () => {
    const html = renderToStaticMarkup(
      <BackendIndicator state={{ header: 'imaging', health: 'imaging', healthError: null, writesFrozen: false }} />,
    );
    expect(html).toContain('data-testid="backend-indicator"');
    expect(html).toContain('data-backend="imaging"');
    expect(html).toContain('Backend: imaging (Django + PostgreSQL)');
    expect(html).not.toContain('Writes paused');
  });

  it('warns about a frozen backend and a health mismatch', () => {
    const html = renderToStaticMarkup(
      <BackendIndicator state={{ header: 'legacy', health: 'imaging', healthError: null, writesFrozen: true }} />,
    );
    expect(html).toContain('backend-mismatch');
    expect(html).toContain('Writes paused');
  });

  it('marks the current page and disables Previous on the first page', () => {
    const html = renderToStaticMarkup(<Pagination page={1} pageSize={20} total={1250} onPage={noop} onPageSize={noop} />);
    expect(html).toMatch(/<button type="button" class="page-button" disabled="">‹ Previous/);
    expect(html).toMatch(/aria-current="page"[^>]*>1</);
    expect(html).toContain('>63<');
    expect(html).not.toContain('>64<');
  });

  it('renders the error message and each field detail', () => {
    const err = parseApiError(
      422,
      JSON.stringify({ error: { code: 'validation_error', message: 'The request is invalid.', details: [{ field: 'date_to', message: 'must be a date YYYY-MM-DD' }] } }),
    );
    const html = renderToStaticMarkup(<ErrorNotice error={err} />);
    expect(html).toContain('role="alert"');
    expect(html).toContain('The request is invalid.');
    expect(html).toContain('<code>date_to</code>: must be a date YYYY-MM-DD');
  });
});
