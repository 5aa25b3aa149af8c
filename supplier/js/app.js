// The supplier front office's shell: sign-in (the admin page's auth.js), who am I (GET /me, a
// supplier token), the navigation and the hash router. Screens export {name, title, render(ctx)}
// as the admin page's do; the page marks itself ready with document.body.dataset.ready = name.
// The router's parts are the admin page's (shell.js); who may enter, the navigation, the sign-in and
// the refusal are the front office's own, here.

import * as api from '../../admin/js/api.js';
import * as auth from '../../admin/js/auth.js';
import { configError } from '../../admin/js/config.js';
import { h, replace } from '../../admin/js/dom.js';
import {
  displayName, isSilent, match, navigations, navList, page, parseHash, renderScreen, showConfigError,
  showNotFound, startRouting, wireChrome,
} from '../../admin/js/shell.js';
import { button, errorAlert, heading } from '../../admin/js/ui.js';
import campaign from './screens/campaign.js';
import campaigns from './screens/campaigns.js';
import complaint from './screens/complaint.js';
import files from './screens/files.js';
import purchaseOrder from './screens/purchase-order.js';

const HOME = '/campaigns';
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
const navigation = navigations();
const shell = page(main, SITE);
const { finish } = shell;
const closeMenu = wireChrome({ main, nav, menuButton });

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
    const { path } = parseHash(HOME);
    replace(nav, navList(NAV, path));
  } else {
    nav.replaceChildren();
  }
  if (signedIn) {
    replace(whoami,
      h('span', { class: 'who', 'data-testid': 'signed-in-as' }, displayName(me),
        me.supplier_id ? h('span', { class: 'roles' }, ` · supplier ${me.supplier_id}`) : null),
      supplier ? button('Sign out', { class: 'link-button', onclick: signOut }) : null);
  } else {
    whoami.replaceChildren();
  }
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
      if (location.hash === '#/sign-in' || !location.hash) location.hash = `#${HOME}`;
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
        `This front office is for Waybill's suppliers. You are signed in as ${displayName(me)}, `
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

  const cached = me || auth.cachedMe();
  if (cached) {
    me = cached;
  } else {
    main.setAttribute('aria-busy', 'true');
    try {
      me = await api.get('/me', undefined, { signal });
      auth.rememberMe(me);
    } catch (error) {
      if (isSilent(error, isCurrent)) return;
      showFatal('Could not load your account', error);
      return;
    }
    if (!isCurrent()) return;
  }
  if (!isSupplier()) {
    showRefusal();
    return;
  }
  renderShell();

  const found = match(ROUTES, path);
  if (!found) {
    showNotFound(main, shell, `#${HOME}`, 'Go to your campaigns.');
    return;
  }
  const ctx = {
    params: found.params, query, signal, me,
    navigate,
    reload: () => navigate(location.hash),
  };
  await renderScreen(main, found.screen, ctx, { isCurrent, page: shell });
}

startRouting({ route, onUnauthorized: () => { me = null; } });
