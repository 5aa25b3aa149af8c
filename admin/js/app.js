// The shell: sign-in gate, who am I (GET /me), the navigation the capabilities allow, and the
// hash router. Each screen module exports {name, title, render(ctx) -> Node}; the router swaps the
// node in when its data is there and marks the page ready (document.body.dataset.ready = name).
// The parts the supplier front office shares (routes, one navigation at a time, a screen's render,
// the start) are in shell.js; what is the staff console's own (capabilities, vocabularies) is here.

import * as api from './api.js';
import * as auth from './auth.js';
import { configError } from './config.js';
import { loadVocabularies } from './constants.js';
import { h, replace } from './dom.js';
import {
  displayName, isSilent, match, navigations, navList, page, parseHash, pollMenuCounts, renderScreen, showConfigError,
  showNotFound, startRouting, wireChrome,
} from './shell.js';
import { button, errorAlert, heading, keepRowFocus } from './ui.js';
import { mountSearch } from './search.js';

// Each screen is loaded when its route is first opened (its module and what only it imports), so a
// cold load fetches the shell and the one screen it shows, not the whole console.
const screen = (load) => () => load().then((module) => module.default);
const ROUTES = [
  [/^\/dashboard$/, screen(() => import('./screens/dashboard.js'))],
  [/^\/my-work$/, screen(() => import('./screens/my-work.js'))],
  [/^\/exceptions$/, screen(() => import('./screens/exceptions.js'))],
  [/^\/exceptions\/([^/]+)$/, screen(() => import('./screens/exception.js')), ['exceptionId']],
  [/^\/orders$/, screen(() => import('./screens/orders.js'))],
  [/^\/orders\/([^/]+)$/, screen(() => import('./screens/order.js')), ['orderId']],
  [/^\/campaigns$/, screen(() => import('./screens/campaigns.js'))],
  [/^\/campaigns\/([^/]+)$/, screen(() => import('./screens/campaign.js')), ['campaignId']],
  [/^\/purchase-orders$/, screen(() => import('./screens/purchase-orders.js'))],
  [/^\/purchase-orders\/([^/]+)$/, screen(() => import('./screens/purchase-order.js')), ['poId']],
  [/^\/complaints$/, screen(() => import('./screens/complaints.js'))],
  [/^\/complaints\/([^/]+)$/, screen(() => import('./screens/complaint.js')), ['complaintId']],
  [/^\/payments$/, screen(() => import('./screens/payments.js'))],
  [/^\/exports$/, screen(() => import('./screens/exports.js'))],
  [/^\/webhooks$/, screen(() => import('./screens/webhooks.js'))],
  [/^\/webhooks\/deliveries$/, screen(() => import('./screens/webhook-deliveries.js'))],
  [/^\/settings$/, screen(() => import('./screens/settings.js'))],
];

// [hash, text, capability, paths it stays highlighted for]
const NAV = [
  ['#/dashboard', 'Dashboard', 'staff', /^\/dashboard/],
  ['#/my-work', 'My work', 'staff', /^\/my-work/],
  ['#/exceptions', 'Exceptions', 'staff', /^\/exceptions/],
  ['#/orders', 'Orders', 'staff', /^\/orders/],
  ['#/campaigns', 'Campaigns', 'staff', /^\/campaigns/],
  ['#/purchase-orders', 'Purchase orders', 'staff', /^\/purchase-orders/],
  ['#/complaints', 'Complaints', 'complaints.read', /^\/complaints/],
  ['#/payments', 'Payments', 'payments.read', /^\/payments/],
  ['#/exports', 'Exports', 'exports.run', /^\/exports/],
  ['#/webhooks', 'Webhooks', 'staff', /^\/webhooks/],
  ['#/settings', 'Settings', 'staff', /^\/settings/],
];

const main = document.getElementById('main');
const nav = document.getElementById('site-nav');
const menuButton = document.getElementById('menu-button');
const whoami = document.getElementById('whoami');

const HOME = '/dashboard';
const SITE = 'Waybill staff';

let me = null;
const navigation = navigations();
const shell = page(main, SITE);
const closeMenu = wireChrome({ main, nav, menuButton });

// ------------------------------------------------------------------ hash

/** Go to a hash; the same hash again re-renders (e.g. "Search" twice). */
export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

// ------------------------------------------------------------------ who am I

async function fetchMe(signal) {
  return api.get('/me', undefined, { signal });
}

// The OpenAPI document, fetched once per page load: the filters' vocabularies come from it.
let apiDocument = null;

/** Start fetching the document (public, so it can go beside GET /me); once per page load. */
function fetchApiDocument() {
  if (!apiDocument) {
    // Not tied to this navigation's signal: another navigation may be awaiting the same promise.
    apiDocument = api.get('/openapi.json').catch((error) => {
      apiDocument = null;
      throw error;
    });
    apiDocument.catch(() => {}); // awaited by loadWords; a failure there shows it
  }
  return apiDocument;
}

async function loadWords() {
  loadVocabularies(await fetchApiDocument(), me);
}

const can = (capability) => Boolean(me && (me.capabilities || []).includes(capability));

// ------------------------------------------------------------------ shell

function signOut() {
  me = null;
  auth.signOut();
  route();
}

function renderShell() {
  const signedIn = Boolean(me);
  const staff = signedIn && can('staff');
  nav.hidden = !staff;
  menuButton.hidden = !staff;
  mountSearch(document.querySelector('.topbar'), { enabled: staff, navigate }); // the header's search box
  whoami.hidden = !signedIn;
  if (staff) {
    const { path } = parseHash(HOME);
    replace(nav, navList(NAV.filter(([, , cap]) => can(cap)).map(([href, text, , current]) => [href, text, current]), path));
  } else {
    nav.replaceChildren();
  }
  if (signedIn) {
    replace(whoami,
      h('span', { class: 'who', 'data-testid': 'signed-in-as' }, displayName(me),
        h('span', { class: 'roles' }, ` · ${(me.roles || []).map((r) => r.replace(/_/g, ' ')).join(', ') || 'no role'}`)),
      // Off staff screens (refusal, errors) the screen has its own Sign out button: one is enough.
      staff ? button('Sign out', { class: 'link-button', onclick: signOut }) : null);
  } else {
    whoami.replaceChildren();
  }
}

// ------------------------------------------------------------------ screens outside the router

const { finish } = shell;

function showSignIn() {
  me = null;
  renderShell();
  auth.renderSignIn(main, {
    onSignedIn: async () => {
      me = await fetchMe();
      auth.rememberMe(me);
      if (location.hash === '#/sign-in' || !location.hash) location.hash = `#${HOME}`;
      else route();
    },
  });
  finish('sign-in', 'Sign in', { focus: false });
}

function showRefusal() {
  renderShell();
  const roles = (me.roles || []).join(', ') || 'none';
  replace(main,
    heading('Staff only'),
    h('div', { role: 'alert', class: 'alert', 'data-testid': 'refusal' },
      h('p', { class: 'alert-message' },
        `This console is for Waybill staff. You are signed in as ${displayName(me)}, whose token has the role(s): ${roles}.`),
      h('p', {}, 'Staff roles are buyer, customer care, accounting, logistics and admin. Sign out and sign in with a staff account.')),
    button('Sign out', { class: 'primary', onclick: signOut }));
  finish('refused', 'Staff only');
}

function showFatal(title, error) {
  renderShell();
  replace(main, heading(title), errorAlert(error),
    button('Sign out', { onclick: signOut }));
  finish('error', title);
}

// ------------------------------------------------------------------ the router

async function route() {
  const { signal, isCurrent } = navigation.start();
  delete document.body.dataset.ready;
  closeMenu();
  const { path, query } = parseHash(HOME);

  if (configError) {
    showConfigError(main, shell, SITE, configError);
    return;
  }
  if (path === '/sign-in' || !auth.token()) {
    if (path === '/sign-in' && auth.token()) {
      location.hash = `#${HOME}`;
      return;
    }
    showSignIn();
    return;
  }

  // What this screen needs besides who I am starts now, beside GET /me: its module and the API's
  // vocabularies (a cold load then waits for the slowest of the three, not their sum).
  const found = match(ROUTES, path);
  const loading = found ? found.screen() : null;
  if (loading) loading.catch(() => {}); // awaited below; a failure there shows it
  fetchApiDocument();

  const cached = me || auth.cachedMe();
  let refresh = null;
  if (cached && cached.vocabularies) { // one remembered before /me carried vocabularies is fetched again
    me = cached;
    if (shell.isFirstRender()) refresh = fetchMe(signal); // check in the background, while the screen loads
  } else {
    main.setAttribute('aria-busy', 'true');
    try {
      me = await fetchMe(signal);
      auth.rememberMe(me);
    } catch (error) {
      if (isSilent(error, isCurrent)) return; // a 401: the 401 handler has sent us to sign-in
      showFatal('Could not load your account', error);
      return;
    }
    if (!isCurrent()) return;
  }
  if (!can('staff')) {
    showRefusal();
    return;
  }
  renderShell();
  try {
    await loadWords();
  } catch (error) {
    if (isSilent(error, isCurrent)) return;
    showFatal('Could not load the API description', error);
    return;
  }
  if (!isCurrent()) return;

  if (!found) {
    showNotFound(main, shell, `#${HOME}`, 'Go to the dashboard.');
    return;
  }
  let screenModule;
  try {
    screenModule = await loading;
  } catch (error) {
    if (!isCurrent()) return;
    showFatal('Could not load this screen', error); // e.g. the network dropped: reloading loads it again
    return;
  }
  if (!isCurrent()) return;

  if (refresh) {
    refresh.then((fresh) => {
      const changed = JSON.stringify(fresh) !== JSON.stringify(me);
      me = fresh;
      auth.rememberMe(fresh);
      if (apiDocument) apiDocument.then((spec) => loadVocabularies(spec, fresh)).catch(() => {});
      if (changed) {
        if (!can('staff')) route();
        else renderShell();
      }
    }).catch(() => {}); // a 401 signs out by itself; other errors leave the cached identity
  }

  const ctx = {
    params: found.params, query, signal, me, can,
    navigate,
    reload: () => navigate(location.hash),
  };
  await renderScreen(main, screenModule, ctx, { isCurrent, page: shell });
}

startRouting({ route, onUnauthorized: () => { me = null; } });
keepRowFocus(main);
pollMenuCounts(nav, { enabled: () => can('staff') && Boolean(auth.token()) }); // "Exceptions 12", kept fresh
auth.onSessionChange(() => { me = null; route(); }); // another tab signed in or out
