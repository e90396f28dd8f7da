import { PAGE_SIZE_CHOICES } from '../lib/contract.js';
import { formatCount, pageCount, pageWindow, rangeLabel } from '../lib/query.js';

export function ResultSummary({ page, pageSize, total, shown, testid }) {
  return (
    <p className="result-summary" data-testid={testid} data-total={total}>
      {rangeLabel(page, pageSize, total, shown)}
    </p>
  );
}

/** Page links (first, last, a window around the current page) and a page-size selector. */
export function Pagination({ page, pageSize, total, onPage, onPageSize, label = 'Pagination' }) {
  const pages = pageCount(total, pageSize);
  const items = pageWindow(Math.min(page, pages), pages);
  return (
    <nav className="pagination" aria-label={label} data-testid="pagination">
      <div className="pagination-pages">
        <button type="button" className="page-button" disabled={page <= 1} onClick={() => onPage(page - 1)}>
          ‹ Previous
        </button>
        {items.map((p, i) =>
          p === null ? (
            <span key={`gap-${i}`} className="page-gap">
              …
            </span>
          ) : (
            <button
              type="button"
              key={p}
              className={`page-button${p === page ? ' page-current' : ''}`}
              aria-current={p === page ? 'page' : undefined}
              onClick={() => onPage(p)}
            >
              {formatCount(p)}
            </button>
          ),
        )}
        <button type="button" className="page-button" disabled={page >= pages} onClick={() => onPage(page + 1)}>
          Next ›
        </button>
      </div>
      <label className="page-size">
        Rows per page
        <select value={pageSize} onChange={(e) => onPageSize(Number(e.target.value))} data-testid="page-size">
          {PAGE_SIZE_CHOICES.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
    </nav>
  );
}
