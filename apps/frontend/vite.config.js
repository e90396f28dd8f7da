// Build configuration. The API base comes from REACT_APP_API_BASE at build time (environment first, then
// .env files), as the cutover plan switches backends by rebuilding with another value.
import { createHash } from 'node:crypto';
import { defineConfig, loadEnv } from 'vite';
import react from '@vitejs/plugin-react';

const ENV_PREFIXES = ['REACT_APP_', 'VITE_'];

/** The API base must be an absolute path ("/legacy/api/v1") or an http(s) URL; no trailing slash. */
export function normalizeApiBase(raw) {
  const value = String(raw ?? '').trim().replace(/\/+$/, '');
  if (!value) throw new Error('REACT_APP_API_BASE is empty: set it to e.g. /legacy/api/v1 or http://127.0.0.1:8000/api/v1');
  if (!/^\//.test(value) && !/^https?:\/\/[^/\s]+/.test(value)) {
    throw new Error(`REACT_APP_API_BASE=${JSON.stringify(raw)} is neither an absolute path nor an http(s) URL`);
  }
  return value;
}

function buildId(env, apiBase, builtAt) {
  if (env.REACT_APP_BUILD_ID) return env.REACT_APP_BUILD_ID.trim();
  const stamp = builtAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const digest = createHash('sha256').update(apiBase).digest('hex').slice(0, 8);
  return `${stamp}-${digest}`;
}

/** Writes dist/build-info.json: which API base this build talks to and its id. */
function buildInfoPlugin(info) {
  return {
    name: 'radiology-build-info',
    apply: 'build',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'build-info.json', source: `${JSON.stringify(info, null, 2)}\n` });
    },
  };
}

export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), ENV_PREFIXES);
  const apiBase = normalizeApiBase(env.REACT_APP_API_BASE);
  const builtAt = new Date().toISOString();
  const info = { api_base: apiBase, build_id: buildId(env, apiBase, builtAt), built_at: builtAt };
  return {
    base: './',
    envPrefix: ENV_PREFIXES,
    plugins: [react(), buildInfoPlugin(info)],
    define: { __BUILD_INFO__: JSON.stringify(info) },
    build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, reportCompressedSize: false },
    test: {
      environment: 'node',
      include: ['src/**/*.test.{js,jsx}'],
    },
  };
});
