import { API_BASE, BUILD_ID } from '../config.js';
import { indicatorView } from '../lib/backend.js';

/** Footer line for operators: which backend answered, what health says, the API base and the build. */
export function BackendIndicator({ state }) {
  const view = indicatorView(state);
  return (
    <div className="backend-indicator">
      <span
        className={`backend-badge backend-${view.name}${view.mismatch ? ' backend-mismatch' : ''}`}
        data-testid="backend-indicator"
        data-backend={view.name}
        title="X-Backend header of the latest API response"
      >
        {view.text}
      </span>
      <span className="footer-item" data-testid="health-backend" data-backend={state.health ?? ''}>
        Health: {state.healthError ? `unavailable (${state.healthError})` : (state.health ?? '…')}
      </span>
      {view.writesFrozen && (
        <span className="footer-item footer-warn" data-testid="writes-frozen">
          Writes paused
        </span>
      )}
      <span className="footer-item" data-testid="api-base">
        API: {API_BASE}
      </span>
      <span className="footer-item" data-testid="build-id">
        Build: {BUILD_ID}
      </span>
    </div>
  );
}
