import { humanize } from '../lib/contract.js';

export function StatusBadge({ status }) {
  return <span className={`status status-${status}`}>{humanize(status)}</span>;
}
