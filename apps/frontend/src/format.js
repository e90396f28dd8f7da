// Display formatting of contract values.

/** "2024-03-05T08:30:00" -> "2024-03-05 08:30"; null -> "—". */
export function formatDateTime(value) {
  if (!value) return '—';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]} ${m[2]}` : String(value);
}

export function orDash(value) {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

export function truncate(text, max = 140) {
  if (!text) return '—';
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
