// Sign-in: the local dev issuer (a demo user and one of its roles, POST /dev/sign-in on the host)
// or, in AWS, Cognito's hosted UI with the authorization-code flow and PKCE. The token lives in
// localStorage with its expiry, so one sign-in serves every tab of the origin (Ctrl+click opens a
// page signed in) and signing out in one tab signs out the others (storage events and a
// BroadcastChannel); it goes to the API as `Authorization: Bearer <token>`.

import { ApiError } from './api.js';
import { config } from './config.js';
import { h, replace } from './dom.js';
import { button, errorAlert, errorSlot, field, heading, select } from './ui.js';

const SESSION_KEY = 'waybill.session';
const PKCE_KEY = 'waybill.pkce';
const FLASH_KEY = 'waybill.flash';

// ------------------------------------------------------------------ the session

/** Claims of a JWT, unverified (the API verifies; the page only reads roles and expiry). */
export function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), '=')),
      (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

function readStored(storage) {
  try {
    return JSON.parse(storage.getItem(SESSION_KEY) || 'null');
  } catch {
    return null;
  }
}

/** The current session {token, expiresAt, me?}, or null (none, or expired). A session an older
 *  page (or a test) left in this tab's sessionStorage still counts. */
export function session() {
  const s = readStored(localStorage) || readStored(sessionStorage);
  if (!s || !s.token) return null;
  const exp = claimsOf(s.token).exp;
  const expiresAt = s.expiresAt ? Date.parse(s.expiresAt) : NaN;
  if ((exp && exp * 1000 <= Date.now()) || expiresAt <= Date.now()) {
    clearSession('Your session has expired: sign in again.');
    return null;
  }
  return s;
}

// Other tabs hear of a sign-in or sign-out: `storage` events fire in the other tabs of the origin;
// the channel covers browsers that coalesce them.
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('waybill.session') : null;

let knownToken; // the token this tab last saw or set: a change by another tab differs from it

function tellOtherTabs() {
  knownToken = token();
  if (channel) channel.postMessage('changed');
}

/** Run `fn()` when another tab signs in or out (at most once per change). */
export function onSessionChange(fn) {
  knownToken = token();
  const check = () => {
    const now = token();
    if (now !== knownToken) {
      knownToken = now;
      fn(now);
    }
  };
  window.addEventListener('storage', (event) => { if (event.key === SESSION_KEY || event.key === null) check(); });
  if (channel) channel.addEventListener('message', check);
}

export function token() {
  const s = session();
  return s ? s.token : null;
}

function saveSession(value) {
  const changed = token() !== value.token;
  localStorage.setItem(SESSION_KEY, JSON.stringify(value));
  sessionStorage.removeItem(SESSION_KEY);
  if (changed) tellOtherTabs();
}

/** Remember who the API says we are (GET /me), for the next page load. */
export function rememberMe(me) {
  const s = session();
  if (s) saveSession({ ...s, me, meFor: s.token });
}

export function cachedMe() {
  const s = session();
  return s && s.me && s.meFor === s.token ? s.me : null;
}

export function clearSession(message) {
  const had = Boolean(localStorage.getItem(SESSION_KEY) || sessionStorage.getItem(SESSION_KEY));
  localStorage.removeItem(SESSION_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  if (message) sessionStorage.setItem(FLASH_KEY, message);
  if (had) tellOtherTabs();
}

function takeFlash() {
  const message = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return message;
}

// ------------------------------------------------------------------ dev sign-in (local only)

export async function devSignIn(sub, role) {
  let response;
  try {
    response = await fetch('/dev/sign-in', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ sub, role }),
      cache: 'no-store',
    });
  } catch (err) {
    throw new ApiError({ status: 0, code: 'network_error', message: `The sign-in could not be reached: ${err.message}` });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const e = (body && body.error) || {};
    throw new ApiError({ status: response.status, code: e.code || `http_${response.status}`,
      message: e.message || `HTTP ${response.status}`, details: e.details || [] });
  }
  saveSession({ token: body.token, expiresAt: body.expires_at, mode: 'dev' });
}

// ------------------------------------------------------------------ Cognito: authorization code + PKCE

function base64url(bytes) {
  let text = '';
  bytes.forEach((b) => { text += String.fromCharCode(b); });
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(byteCount = 32) {
  return base64url(crypto.getRandomValues(new Uint8Array(byteCount)));
}

async function challengeFor(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Off to the hosted UI; we come back to redirectUri with ?code=...&state=... */
async function startCognitoSignIn() {
  const a = config.auth;
  const verifier = randomString(48);
  const state = randomString(24);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo: location.hash || '#/dashboard' }));
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: a.clientId,
    redirect_uri: a.redirectUri,
    scope: (a.scopes || ['openid', 'email', 'profile']).join(' '),
    state,
    code_challenge: await challengeFor(verifier),
    code_challenge_method: 'S256',
  });
  location.assign(`${a.domain.replace(/\/+$/, '')}/oauth2/authorize?${params}`);
}

/**
 * On return from the hosted UI: check the state, exchange the code (with the PKCE verifier) for
 * tokens, keep the ID token (its audience is the app client, which the API checks). Returns the
 * hash to go to, or null when this page load is not a return from sign-in.
 */
export async function completeRedirect() {
  if (config.auth.mode !== 'cognito') return null;
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const clean = () => history.replaceState(null, '', `${location.pathname}${location.hash}`);
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) || 'null');
  } catch {
    saved = null;
  }
  sessionStorage.removeItem(PKCE_KEY);
  if (params.has('error')) {
    clean();
    clearSession(`Sign-in failed: ${params.get('error_description') || params.get('error')}`);
    return '#/sign-in';
  }
  if (!saved || saved.state !== params.get('state')) {
    clean();
    clearSession('Sign-in failed: the answer from the sign-in page does not match this browser tab (state). Try again.');
    return '#/sign-in';
  }
  const a = config.auth;
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: a.clientId,
    code: params.get('code'),
    redirect_uri: a.redirectUri,
    code_verifier: saved.verifier,
  });
  clean();
  try {
    const response = await fetch(`${a.domain.replace(/\/+$/, '')}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    const tokens = await response.json().catch(() => ({}));
    if (!response.ok || !tokens.id_token) {
      throw new Error(tokens.error_description || tokens.error || `HTTP ${response.status}`);
    }
    saveSession({
      token: tokens.id_token,
      accessToken: tokens.access_token,
      expiresAt: new Date(Date.now() + (tokens.expires_in || 3600) * 1000).toISOString(),
      mode: 'cognito',
    });
    return saved.returnTo || '#/dashboard';
  } catch (err) {
    clearSession(`Sign-in failed: ${err.message}`);
    return '#/sign-in';
  }
}

/** Forget the token; with Cognito, end the hosted UI's session too. */
export function signOut(message) {
  clearSession(message);
  if (config.auth.mode === 'cognito' && !message) {
    const a = config.auth;
    const params = new URLSearchParams({ client_id: a.clientId, logout_uri: a.redirectUri });
    location.assign(`${a.domain.replace(/\/+$/, '')}/logout?${params}`);
    return;
  }
  location.hash = '#/sign-in';
}

// ------------------------------------------------------------------ the sign-in screen

/**
 * Render the sign-in screen into `main`; `onSignedIn()` runs once a token is stored. Another page
 * (the supplier front office) passes its own `intro` and the `role` its demo users sign in with.
 */
export function renderSignIn(main, {
  onSignedIn, intro: introText = 'The Waybill staff console: exceptions, orders, campaigns, payments and more.', role = null,
}) {
  const flash = takeFlash();
  const slot = errorSlot();
  const intro = h('p', {}, introText);
  const parts = [heading('Sign in'), intro];
  if (flash) parts.push(errorAlert({ message: flash }));

  if (config.auth.mode === 'cognito') {
    const go = button('Sign in', { class: 'primary' });
    go.addEventListener('click', () => { go.disabled = true; startCognitoSignIn().catch((e) => { go.disabled = false; slot.show(e); }); });
    parts.push(h('p', {}, 'You sign in with your company account on the next page.'), go, slot);
    replace(main, h('div', { class: 'signin' }, parts));
    return;
  }

  const users = (config.auth.users || []).filter((u) => !role || u.roles.includes(role))
    .map((u) => (role ? { ...u, roles: [role] } : u));
  const userSelect = select('sub', users.map((u) => [u.sub, `${u.name || u.sub} (${u.roles.join(', ')})`]),
    users[0] && users[0].sub, { required: true });
  const roleSelect = select('role', [], null, { required: true });
  const fillRoles = () => {
    const user = users.find((u) => u.sub === userSelect.value);
    replace(roleSelect, (user ? user.roles : []).map((r) => h('option', { value: r }, r)));
  };
  userSelect.addEventListener('change', fillRoles);
  fillRoles();
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'form signin-form', 'aria-label': 'Sign in', novalidate: true },
    field('User', userSelect, { hint: 'Demo users of the local dev issuer (stands in for Cognito).' }),
    field('Role', roleSelect),
    h('div', { class: 'actions' }, submit),
    slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    slot.clear();
    try {
      await devSignIn(userSelect.value, roleSelect.value);
      await onSignedIn();
    } catch (err) {
      slot.show(err);
    } finally {
      if (submit.isConnected) submit.disabled = false;
    }
  });
  parts.push(form);
  replace(main, h('div', { class: 'signin' }, parts));
  userSelect.focus();
}
