import { humanize } from '../lib/contract.js';
import { formatCount } from '../lib/query.js';

/** Grouped counts ({key, count} buckets) as a table with proportional CSS bars. */
export function BarTable({ title, buckets, total, testid, keyLabel = 'Value', humanizeKeys = true }) {
  const max = buckets.reduce((m, b) => Math.max(m, b.count), 0);
  return (
    <section className="card bar-card" data-testid={testid} data-rows={buckets.length} data-total={total}>
      <h3>{title}</h3>
      {buckets.length === 0 ? (
        <p className="muted">No examinations.</p>
      ) : (
        <div className="bar-scroll">
          <table className="bar-table">
            <thead>
              <tr>
                <th scope="col">{keyLabel}</th>
                <th scope="col" className="num">
                  Count
                </th>
                <th scope="col" className="num">
                  Share
                </th>
                <th scope="col" className="bar-col">
                  <span className="visually-hidden">Bar</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={String(b.key)}>
                  <td>{b.key === null ? '(none)' : humanizeKeys ? humanize(b.key) : b.key}</td>
                  <td className="num">{formatCount(b.count)}</td>
                  <td className="num">{total > 0 ? `${((100 * b.count) / total).toFixed(1)}%` : '—'}</td>
                  <td className="bar-col">
                    <span className="bar" style={{ width: `${max > 0 ? (100 * b.count) / max : 0}%` }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
