// The shell: sign-in gate, who am I (GET /me), the navigation the capabilities allow, and the
// hash router. Each screen module exports {name, title, render(ctx) -> Node}; the router swaps the
// node in when its data is there and marks the page ready (document.body.dataset.ready = name).

import * as api from './api.js';
import * as auth from './auth.js';
import { configError } from './config.js';
import { loadVocabularies } from './constants.js';
import { h, replace } from './dom.js';
import { button, errorAlert, heading, keepRowFocus, restoreRowFocus } from './ui.js';
import campaign from './screens/campaign.js';
import campaigns from './screens/campaigns.js';
import complaint from './screens/complaint.js';
import complaints from './screens/complaints.js';
import dashboard from './screens/dashboard.js';
import exception from './screens/exception.js';
import exceptions from './screens/exceptions.js';
import exportsScreen from './screens/exports.js';
import order from './screens/order.js';
import orders from './screens/orders.js';
import payments from './screens/payments.js';
import purchaseOrder from './screens/purchase-order.js';
import settings from './screens/settings.js';
import deliveries from './screens/webhook-deliveries.js';
import webhooks from './screens/webhooks.js';

const ROUTES = [
  [/^\/dashboard$/, dashboard],
  [/^\/exceptions$/, exceptions],
  [/^\/exceptions\/([^/]+)$/, exception, ['exceptionId']],
  [/^\/orders$/, orders],
  [/^\/orders\/([^/]+)$/, order, ['orderId']],
  [/^\/campaigns$/, campaigns],
  [/^\/campaigns\/([^/]+)$/, campaign, ['campaignId']],
  [/^\/purchase-orders\/([^/]+)$/, purchaseOrder, ['poId']],
  [/^\/complaints$/, complaints],
  [/^\/complaints\/([^/]+)$/, complaint, ['complaintId']],
  [/^\/payments$/, payments],
  [/^\/exports$/, exportsScreen],
  [/^\/webhooks$/, webhooks],
  [/^\/webhooks\/deliveries$/, deliveries],
  [/^\/settings$/, settings],
];

// [hash, text, capability, paths it stays highlighted for]
const NAV = [
  ['#/dashboard', 'Dashboard', 'staff', /^\/dashboard/],
  ['#/exceptions', 'Exceptions', 'staff', /^\/exceptions/],
  ['#/orders', 'Orders', 'staff', /^\/orders/],
  ['#/campaigns', 'Campaigns', 'staff', /^\/(campaigns|purchase-orders)/],
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

let me = null;
let navigation = 0;
let controller = null;
let firstRender = true;

// ------------------------------------------------------------------ hash

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/dashboard';
  const [path, search = ''] = raw.split('?');
  return { path: path || '/dashboard', query: new URLSearchParams(search) };
}

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

async function loadWords(signal) {
  if (!apiDocument) {
    // Not tied to this navigation's signal: another navigation may be awaiting the same promise.
    apiDocument = api.get('/openapi.json').catch((error) => {
      apiDocument = null;
      throw error;
    });
  }
  loadVocabularies(await apiDocument, me);
}

const can = (capability) => Boolean(me && (me.capabilities || []).includes(capability));

// ------------------------------------------------------------------ shell

function renderShell() {
  const signedIn = Boolean(me);
  const staff = signedIn && can('staff');
  nav.hidden = !staff;
  menuButton.hidden = !staff;
  whoami.hidden = !signedIn;
  if (staff) {
    const { path } = parseHash();
    replace(nav, h('ul', {}, NAV.filter(([, , cap]) => can(cap)).map(([href, text, , match]) => h('li', {},
      h('a', { href, 'aria-current': match.test(path) ? 'page' : null }, text)))));
  } else {
    nav.replaceChildren();
  }
  if (signedIn) {
    replace(whoami,
      h('span', { class: 'who', 'data-testid': 'signed-in-as' }, me.name || me.email || me.sub,
        h('span', { class: 'roles' }, ` · ${(me.roles || []).map((r) => r.replace(/_/g, ' ')).join(', ') || 'no role'}`)),
      // Off staff screens (refusal, errors) the screen has its own Sign out button: one is enough.
      staff ? button('Sign out', { class: 'link-button', onclick: () => { me = null; auth.signOut(); route(); } }) : null);
  } else {
    whoami.replaceChildren();
  }
}

function closeMenu() {
  nav.classList.remove('open');
  menuButton.setAttribute('aria-expanded', 'false');
}

menuButton.addEventListener('click', () => {
  const open = !nav.classList.contains('open');
  nav.classList.toggle('open', open);
  menuButton.setAttribute('aria-expanded', String(open));
});
nav.addEventListener('click', (event) => { if (event.target.closest('a')) closeMenu(); });

document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  const target = main.querySelector('h1') || main;
  target.focus();
});

// ------------------------------------------------------------------ screens outside the router

function finish(name, title, { focus = true } = {}) {
  main.removeAttribute('aria-busy');
  document.title = `${title} · Waybill staff`;
  document.body.dataset.ready = name;
  if (focus && !firstRender && !restoreRowFocus(main)) (main.querySelector('h1') || main).focus({ preventScroll: false });
  firstRender = false;
}

function showSignIn() {
  me = null;
  renderShell();
  auth.renderSignIn(main, {
    onSignedIn: async () => {
      me = await fetchMe();
      auth.rememberMe(me);
      if (location.hash === '#/sign-in' || !location.hash) location.hash = '#/dashboard';
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
        `This console is for Waybill staff. You are signed in as ${me.name || me.email || me.sub}, whose token has the role(s): ${roles}.`),
      h('p', {}, 'Staff roles are buyer, customer care, accounting, logistics and admin. Sign out and sign in with a staff account.')),
    button('Sign out', { class: 'primary', onclick: () => { me = null; auth.signOut(); route(); } }));
  finish('refused', 'Staff only');
}

function showFatal(title, error) {
  renderShell();
  replace(main, heading(title), errorAlert(error),
    button('Sign out', { onclick: () => { me = null; auth.signOut(); route(); } }));
  finish('error', title);
}

// ------------------------------------------------------------------ the router

async function route() {
  navigation += 1;
  const current = navigation;
  if (controller) controller.abort();
  controller = new AbortController();
  const { signal } = controller;
  delete document.body.dataset.ready;
  closeMenu();
  const { path, query } = parseHash();

  if (configError) {
    replace(main, heading('Waybill staff'), errorAlert({ message: configError }));
    finish('error', 'Configuration error');
    return;
  }
  if (path === '/sign-in' || !auth.token()) {
    if (path === '/sign-in' && auth.token()) {
      location.hash = '#/dashboard';
      return;
    }
    showSignIn();
    return;
  }

  const cached = me || auth.cachedMe();
  let refresh = null;
  if (cached && cached.vocabularies) { // one remembered before /me carried vocabularies is fetched again
    me = cached;
    if (firstRender) refresh = fetchMe(signal); // check in the background, while the screen loads
  } else {
    main.setAttribute('aria-busy', 'true');
    try {
      me = await fetchMe(signal);
      auth.rememberMe(me);
    } catch (error) {
      if (error.name === 'AbortError' || current !== navigation) return;
      if (error.status === 401) return; // the 401 handler has sent us to sign-in
      showFatal('Could not load your account', error);
      return;
    }
    if (current !== navigation) return;
  }
  if (!can('staff')) {
    showRefusal();
    return;
  }
  renderShell();
  try {
    await loadWords(signal);
  } catch (error) {
    if (error.name === 'AbortError' || current !== navigation) return;
    if (error.status === 401) return;
    showFatal('Could not load the API description', error);
    return;
  }
  if (current !== navigation) return;

  const match = ROUTES.map(([re, screen, names]) => [re.exec(path), screen, names || []]).find(([m]) => m);
  if (!match) {
    replace(main, heading('Not found'), h('p', {}, 'There is no such page. ', h('a', { href: '#/dashboard' }, 'Go to the dashboard.')));
    finish('not-found', 'Not found');
    return;
  }
  const [m, screen, names] = match;
  const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
  let title = screen.title;
  const ctx = {
    params, query, signal, me, can,
    navigate,
    reload: () => navigate(location.hash),
    setTitle: (t) => { title = t; if (current === navigation) document.title = `${t} · Waybill staff`; },
    isCurrent: () => current === navigation,
  };
  main.setAttribute('aria-busy', 'true');
  if (!main.querySelector('.loading')) main.append(h('p', { class: 'loading', role: 'presentation' }, 'Loading…'));

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

  let view;
  try {
    view = await screen.render(ctx);
  } catch (error) {
    if (error.name === 'AbortError' || current !== navigation) return;
    if (error.status === 401) return;
    view = [heading(screen.title), errorAlert(error)];
  }
  if (current !== navigation) return;
  replace(main, view);
  finish(screen.name, title);
}

api.configure({
  token: auth.token,
  onUnauthorized: (error) => {
    me = null;
    auth.clearSession(error.message);
    if (location.hash === '#/sign-in') route();
    else location.hash = '#/sign-in';
  },
});

keepRowFocus(main);
auth.onSessionChange(() => { me = null; route(); }); // another tab signed in or out

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/') || location.hash === '') route();
});

(async () => {
  const returnTo = await auth.completeRedirect();
  if (returnTo && location.hash !== returnTo) {
    location.hash = returnTo; // hashchange routes
    return;
  }
  route();
})();

