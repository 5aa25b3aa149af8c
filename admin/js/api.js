// The one way the page calls the API: same origin under config.apiBase, bearer token from the
// session, JSON in and out, errors as the API states them ({"error": {code, message, details}}).

import { config } from './config.js';

let tokenSource = () => null;
let unauthorizedHandler = null;

/** Where the bearer token comes from, and what to do on a 401 (auth.js wires both). */
export function configure({ token, onUnauthorized }) {
  tokenSource = token;
  unauthorizedHandler = onUnauthorized;
}

export class ApiError extends Error {
  constructor({ status, code, message, details = [], requestId = null }) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];
    this.requestId = requestId;
  }
}

/** A query object as a query string: empty values are left out, arrays are comma-separated. */
export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      if (value.length) params.set(key, value.join(','));
    } else {
      params.set(key, String(value));
    }
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

async function errorFrom(response) {
  const requestId = response.headers.get('X-Request-Id');
  const text = await response.text().catch(() => '');
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const error = body && typeof body === 'object' ? body.error || body : null;
  if (error && typeof error === 'object' && (error.message || error.Message)) {
    return new ApiError({
      status: response.status,
      code: error.code || error.Code || `http_${response.status}`,
      message: error.message || error.Message,
      details: error.details || [],
      requestId,
    });
  }
  const excerpt = text.trim().slice(0, 300);
  return new ApiError({
    status: response.status,
    code: `http_${response.status}`,
    message: excerpt ? `HTTP ${response.status}: ${excerpt}` : `HTTP ${response.status} ${response.statusText}`.trim(),
    requestId,
  });
}

/**
 * Call the API. `path` is the API's own path ("/staff/orders"); resolves to the parsed JSON body
 * (null for an empty one); rejects with ApiError. A 401 also signs the user out (see auth.js).
 */
export async function request(method, path, { query, body, signal, headers = {} } = {}) {
  const token = tokenSource();
  const init = {
    method,
    signal,
    headers: { Accept: 'application/json', ...headers },
    cache: 'no-store',
    credentials: 'omit',
  };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined || ['POST', 'PUT', 'PATCH'].includes(method)) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(`${config.apiBase}${path}${queryString(query)}`, init);
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError({ status: 0, code: 'network_error', message: `The API could not be reached: ${err.message}` });
  }
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401 && unauthorizedHandler) unauthorizedHandler(error);
    throw error;
  }
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, query, options = {}) => request('GET', path, { ...options, query });
export const post = (path, body, options = {}) => request('POST', path, { ...options, body });
export const put = (path, body, options = {}) => request('PUT', path, { ...options, body });

/**
 * Several independent GETs at once (never one after another); each settles on its own, so one
 * failing section does not blank the others. Resolves to {name: {ok, value} | {ok: false, error}}.
 */
export async function parallel(calls) {
  const names = Object.keys(calls);
  const settled = await Promise.allSettled(names.map((n) => calls[n]));
  const out = {};
  names.forEach((name, i) => {
    const r = settled[i];
    if (r.status === 'rejected' && r.reason && r.reason.name === 'AbortError') throw r.reason;
    out[name] = r.status === 'fulfilled' ? { ok: true, value: r.value } : { ok: false, error: r.reason };
  });
  return out;
}
