// The supplier front office's shell: sign-in (the admin page's auth.js), who am I (GET /me, a
// supplier token), the navigation and the hash router. Screens export {name, title, render(ctx)}
// as the admin page's do; the page marks itself ready with document.body.dataset.ready = name.

import * as api from '../../admin/js/api.js';
import * as auth from '../../admin/js/auth.js';
import { configError } from '../../admin/js/config.js';
import { h, replace } from '../../admin/js/dom.js';
import { button, errorAlert, heading } from '../../admin/js/ui.js';
import campaign from './screens/campaign.js';
import campaigns from './screens/campaigns.js';
import complaint from './screens/complaint.js';
import files from './screens/files.js';
import purchaseOrder from './screens/purchase-order.js';

const HOME = '#/campaigns';
const SITE = 'Waybill for suppliers';

const ROUTES = [
  [/^\/campaigns$/, campaigns],
  [/^\/campaigns\/([^/]+)$/, campaign, ['campaignId']],
  [/^\/purchase-orders\/([^/]+)$/, purchaseOrder, ['poId']],
  [/^\/complaints\/([^/]+)$/, complaint, ['complaintId']],
  [/^\/files$/, files],
];

// [hash, text, paths it stays highlighted for]
const NAV = [
  ['#/campaigns', 'Campaigns', /^\/(campaigns|purchase-orders|complaints)/],
  ['#/files', 'Product files', /^\/files/],
];

const main = document.getElementById('main');
const nav = document.getElementById('site-nav');
const menuButton = document.getElementById('menu-button');
const whoami = document.getElementById('whoami');

let me = null;
let navigation = 0;
let controller = null;
let firstRender = true;

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || HOME.slice(1);
  const [path, search = ''] = raw.split('?');
  return { path: path || HOME.slice(1), query: new URLSearchParams(search) };
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

const isSupplier = () => Boolean(me && (me.roles || []).includes('supplier') && me.supplier_id);

function signOut() {
  me = null;
  auth.signOut();
  route();
}

function renderShell() {
  const signedIn = Boolean(me);
  const supplier = signedIn && isSupplier();
  nav.hidden = !supplier;
  menuButton.hidden = !supplier;
  whoami.hidden = !signedIn;
  if (supplier) {
    const { path } = parseHash();
    replace(nav, h('ul', {}, NAV.map(([href, text, match]) => h('li', {},
      h('a', { href, 'aria-current': match.test(path) ? 'page' : null }, text)))));
  } else {
    nav.replaceChildren();
  }
  if (signedIn) {
    replace(whoami,
      h('span', { class: 'who', 'data-testid': 'signed-in-as' }, me.name || me.email || me.sub,
        me.supplier_id ? h('span', { class: 'roles' }, ` · supplier ${me.supplier_id}`) : null),
      supplier ? button('Sign out', { class: 'link-button', onclick: signOut }) : null);
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
  (main.querySelector('h1') || main).focus();
});

function finish(name, title, { focus = true } = {}) {
  main.removeAttribute('aria-busy');
  document.title = `${title} · ${SITE}`;
  document.body.dataset.ready = name;
  if (focus && !firstRender) (main.querySelector('h1') || main).focus({ preventScroll: false });
  firstRender = false;
}

function showSignIn() {
  me = null;
  renderShell();
  auth.renderSignIn(main, {
    intro: 'The Waybill supplier front office: your campaigns, purchase orders, parcels, invoices and product files.',
    role: 'supplier',
    onSignedIn: async () => {
      me = await api.get('/me');
      auth.rememberMe(me);
      if (location.hash === '#/sign-in' || !location.hash) location.hash = HOME;
      else route();
    },
  });
  finish('sign-in', 'Sign in', { focus: false });
}

function showRefusal() {
  renderShell();
  replace(main,
    heading('Suppliers only'),
    h('div', { role: 'alert', class: 'alert', 'data-testid': 'refusal' },
      h('p', { class: 'alert-message' },
        `This front office is for Waybill's suppliers. You are signed in as ${me.name || me.email || me.sub}, `
        + 'whose account is not a supplier\'s.'),
      h('p', {}, 'Staff use the staff console. ', h('a', { href: '../' }, 'Open the staff console.'))),
    button('Sign out', { class: 'primary', onclick: signOut }));
  finish('refused', 'Suppliers only');
}

function showFatal(title, error) {
  renderShell();
  replace(main, heading(title), errorAlert(error), button('Sign out', { onclick: signOut }));
  finish('error', title);
}

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
    replace(main, heading(SITE), errorAlert({ message: configError }));
    finish('error', 'Configuration error');
    return;
  }
  if (path === '/sign-in' || !auth.token()) {
    if (path === '/sign-in' && auth.token()) {
      location.hash = HOME;
      return;
    }
    showSignIn();
    return;
  }

  const cached = me || auth.cachedMe();
  if (cached) {
    me = cached;
  } else {
    main.setAttribute('aria-busy', 'true');
    try {
      me = await api.get('/me', undefined, { signal });
      auth.rememberMe(me);
    } catch (error) {
      if (error.name === 'AbortError' || current !== navigation) return;
      if (error.status === 401) return;
      showFatal('Could not load your account', error);
      return;
    }
    if (current !== navigation) return;
  }
  if (!isSupplier()) {
    showRefusal();
    return;
  }
  renderShell();

  const match = ROUTES.map(([re, screen, names]) => [re.exec(path), screen, names || []]).find(([m]) => m);
  if (!match) {
    replace(main, heading('Not found'), h('p', {}, 'There is no such page. ', h('a', { href: HOME }, 'Go to your campaigns.')));
    finish('not-found', 'Not found');
    return;
  }
  const [m, screen, names] = match;
  const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
  let title = screen.title;
  const ctx = {
    params, query, signal, me,
    navigate,
    reload: () => navigate(location.hash),
    setTitle: (t) => { title = t; if (current === navigation) document.title = `${t} · ${SITE}`; },
    isCurrent: () => current === navigation,
  };
  main.setAttribute('aria-busy', 'true');
  if (!main.querySelector('.loading')) main.append(h('p', { class: 'loading', role: 'presentation' }, 'Loading…'));

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

window.addEventListener('hashchange', () => {
  if (location.hash.startsWith('#/') || location.hash === '') route();
});

(async () => {
  const returnTo = await auth.completeRedirect();
  if (returnTo && location.hash !== returnTo) {
    location.hash = returnTo;
    return;
  }
  route();
})();
