import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';
import { API_BASE } from './config.js';
import { createApi } from './lib/api.js';
import { createBackendTracker } from './lib/backend.js';
import { createReleaseFollower } from './lib/release.js';
import './styles.css';

const tracker = createBackendTracker();
// A rollback flips the release while pages are open: a call failing like a dead backend re-reads build-info.json.
const release = createReleaseFollower({ apiBase: API_BASE, reload: () => window.location.reload() });
const api = createApi({ base: API_BASE, tracker, release });

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App api={api} tracker={tracker} />
  </StrictMode>,
);
