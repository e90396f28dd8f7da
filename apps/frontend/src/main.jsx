import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.jsx';
import { API_BASE } from './config.js';
import { createApi } from './lib/api.js';
import { createBackendTracker } from './lib/backend.js';
import './styles.css';

const tracker = createBackendTracker();
const api = createApi({ base: API_BASE, tracker });

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <App api={api} tracker={tracker} />
  </StrictMode>,
);
