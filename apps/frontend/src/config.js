// Build-time configuration: the API base (REACT_APP_API_BASE) and the build id, fixed by vite.config.js.
/* global __BUILD_INFO__ */
const info = typeof __BUILD_INFO__ === 'undefined' ? { api_base: '/api/v1', build_id: 'dev', built_at: null } : __BUILD_INFO__;

export const API_BASE = info.api_base;
export const BUILD_ID = info.build_id;
export const BUILT_AT = info.built_at;
