// The runtime configuration the host generates as /config.js (window.WAYBILL_CONFIG):
// {"apiBase": "/api", "auth": {"mode": "dev", "users": [...]}} locally,
// {"apiBase": "/api", "auth": {"mode": "cognito", "domain", "clientId", "redirectUri", "scopes"}} in AWS.

const raw = globalThis.WAYBILL_CONFIG;

export const configError = !raw
  ? 'The page has no runtime configuration: /config.js did not load or did not set window.WAYBILL_CONFIG.'
  : (!raw.auth || !['dev', 'cognito'].includes(raw.auth.mode))
    ? `The runtime configuration names an unknown sign-in mode: ${JSON.stringify(raw.auth && raw.auth.mode)}.`
    : null;

export const config = Object.freeze({
  apiBase: ((raw && raw.apiBase) || '/api').replace(/\/+$/, ''),
  auth: (raw && raw.auth) || { mode: 'dev', users: [] },
});
