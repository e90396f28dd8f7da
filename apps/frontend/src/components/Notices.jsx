import { describeError } from '../lib/errors.js';

export function Loading({ label = 'Loading…' }) {
  return (
    <div className="loading" role="status" aria-live="polite" data-testid="loading">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

/** The API's error: its message, each field detail, and the request id for support. */
export function ErrorNotice({ error, onRetry = null, testid = 'error-notice' }) {
  if (!error) return null;
  const view = describeError(error);
  return (
    <div className={`notice notice-${view.tone}`} role="alert" data-testid={testid} data-code={error.code ?? ''}>
      <strong className="notice-title">{view.title}</strong>
      <p className="notice-message">{view.message}</p>
      {view.details.length > 0 && (
        <ul className="notice-details">
          {view.details.map((d, i) => (
            <li key={`${d.field}-${i}`}>
              <code>{d.field}</code>: {d.message}
            </li>
          ))}
        </ul>
      )}
      {view.requestId && <p className="notice-meta">Request ID: {view.requestId}</p>}
      {onRetry && (
        <button type="button" className="button button-secondary" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Flash({ flash }) {
  if (!flash) return null;
  return (
    <div className={`notice notice-${flash.tone ?? 'success'}`} role="status" data-testid="flash">
      {flash.text}
    </div>
  );
}
