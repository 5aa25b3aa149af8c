// The parts of a page's shell that the admin page, the supplier front office and the order page share:
// the hash and its routes, one navigation at a time (a newer one aborts the older one's requests and
// its late answers are dropped), the menu and skip link, the ready mark the tests wait for, and a
// screen's render with its loading, error and 401 handling. What differs per page (who may enter,
// the navigation, the sign-in, the refusal) stays in each page's app.js.

import * as api from './api.js';
import * as auth from './auth.js';
import { h, replace } from './dom.js';
import { errorAlert, heading, restoreRowFocus } from './ui.js';

// ------------------------------------------------------------------ the hash and the routes

/** The hash as {path, query}; an empty hash is `home` (a path such as '/dashboard'). */
export function parseHash(home) {
  const raw = location.hash.replace(/^#/, '') || home;
  const [path, search = ''] = raw.split('?');
  return { path: path || home, query: new URLSearchParams(search) };
}

/**
 * The route a path opens: ROUTES is [[regexp, screen, names of its groups?], ...]; the answer is
 * {screen, params} (each group decoded, under its name) or null.
 */
export function match(routes, path) {
  for (const [re, screen, names = []] of routes) {
    const m = re.exec(path);
    if (m) return { screen, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return null;
}

/** The navigation list: items are [href, text, paths it stays highlighted for]. */
export function navList(items, path) {
  return h('ul', {}, items.map(([href, text, current]) => h('li', {},
    h('a', { href, 'aria-current': current.test(path) ? 'page' : null }, text))));
}

/** The name a signed-in person is shown by. */
export function displayName(me) {
  return me.name || me.email || me.sub;
}

// ------------------------------------------------------------------ one navigation at a time

/**
 * A counter of navigations: start() aborts the previous navigation's requests and answers the new
 * one's {signal, isCurrent}; isCurrent() turns false as soon as another navigation starts, so a late
 * answer never replaces a newer screen.
 */
export function navigations() {
  let count = 0;
  let controller = null;
  return {
    start() {
      count += 1;
      const mine = count;
      if (controller) controller.abort();
      controller = new AbortController();
      return { signal: controller.signal, isCurrent: () => mine === count };
    },
  };
}

/**
 * True when a failed load needs no screen of its own: it was aborted or overtaken by a newer
 * navigation, or it was a 401 (the API's 401 handler has already sent the page to sign-in).
 */
export function isSilent(error, isCurrent) {
  return error.name === 'AbortError' || !isCurrent() || error.status === 401;
}

// ------------------------------------------------------------------ the page around the screens

/**
 * The page's title and ready mark: finish(name, title) ends a screen (`<title> · <site>`, not busy,
 * body[data-ready=name], focus on its heading except on the first screen of the page load).
 * `site` is the site's name, or a function answering it (the order page's depends on its language).
 */
export function page(main, site) {
  const siteName = typeof site === 'function' ? site : () => site;
  let firstRender = true;
  const setDocumentTitle = (title) => { document.title = `${title} · ${siteName()}`; };
  return {
    setDocumentTitle,
    isFirstRender: () => firstRender,
    finish(name, title, { focus = true } = {}) {
      main.removeAttribute('aria-busy');
      setDocumentTitle(title);
      document.body.dataset.ready = name;
      // after an action, focus stays on the row acted on (ui.keepRowFocus); else the screen's heading
      if (focus && !firstRender && !restoreRowFocus(main)) (main.querySelector('h1') || main).focus({ preventScroll: false });
      firstRender = false;
    },
  };
}

/** The Menu button (phones) and the skip link; answers closeMenu(). */
export function wireChrome({ main, nav, menuButton }) {
  const closeMenu = () => {
    nav.classList.remove('open');
    menuButton.setAttribute('aria-expanded', 'false');
  };
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
  return closeMenu;
}

/** The screen for a broken runtime configuration. */
export function showConfigError(main, { finish }, site, message) {
  replace(main, heading(site), errorAlert({ message }));
  finish('error', 'Configuration error');
}

/** The screen for a path no route opens, with a link back home. */
export function showNotFound(main, { finish }, home, homeText) {
  replace(main, heading('Not found'), h('p', {}, 'There is no such page. ', h('a', { href: home }, homeText)));
  finish('not-found', 'Not found');
}

/**
 * Render a screen ({name, title, render(ctx)}) into main: "Loading…" until its content is there, then
 * the content, or its title and the error (nothing when the load was aborted, overtaken or a 401).
 * The screen's ctx gets isCurrent() and setTitle(t) beside what the page gives it.
 */
export async function renderScreen(main, screen, ctx, { isCurrent, page: { finish, setDocumentTitle } }) {
  let title = screen.title;
  const full = {
    ...ctx,
    setTitle: (t) => { title = t; if (isCurrent()) setDocumentTitle(t); },
    isCurrent,
  };
  main.setAttribute('aria-busy', 'true');
  if (!main.querySelector('.loading')) main.append(h('p', { class: 'loading', role: 'presentation' }, 'Loading…'));
  let view;
  try {
    view = await screen.render(full);
  } catch (error) {
    if (isSilent(error, isCurrent)) return;
    view = [heading(screen.title), errorAlert(error)];
  }
  if (!isCurrent()) return;
  replace(main, view);
  finish(screen.name, title);
}

// ------------------------------------------------------------------ the menu's counts

export const COUNTS_POLL_MS = 30_000;

/**
 * Counts beside the menu's links ("Exceptions 12"), kept fresh without reading any list again:
 * GET /staff/counts with the last tag as If-None-Match (an unchanged answer is a 304 with no body),
 * every COUNTS_POLL_MS while the page is visible, at once when it becomes visible again, after each
 * screen is shown and after each action a screen announces in the live region (#status). New counts are written into the menu
 * (each time the menu is drawn again too) and sent to the page as a `waybill:counts` event
 * (detail: {menu, sections, etag}), on which a screen may read its lists again.
 */
export function pollMenuCounts(nav, { enabled }) {
  let counts = null;
  let busy = false;
  const decorate = () => {
    if (!counts) return;
    for (const [key, n] of Object.entries(counts.menu || {})) {
      const a = nav.querySelector(`a[href="#/${key}"]`);
      if (!a) continue;
      let badge = a.querySelector('.nav-count');
      if (!n) {
        if (badge) badge.remove();
        continue;
      }
      if (!badge) {
        badge = h('span', { class: 'nav-count', 'data-testid': `nav-count-${key}` });
        a.append(' ', badge);
      }
      badge.textContent = String(n);
    }
  };
  let again = false;
  async function poll() {
    if (!enabled() || document.visibilityState !== 'visible') return;
    if (busy) { // one at a time; a poll asked for meanwhile runs after it (it may follow a change)
      again = true;
      return;
    }
    busy = true;
    again = false;
    try {
      const headers = counts ? { 'If-None-Match': `"${counts.etag}"` } : {};
      counts = await api.get('/staff/counts', undefined, { headers });
      decorate();
      window.dispatchEvent(new CustomEvent('waybill:counts', { detail: counts }));
    } catch {
      // A 304: nothing changed. Anything else: the last counts stay until the next poll.
    } finally {
      busy = false;
      if (again) poll();
    }
  }
  setInterval(poll, COUNTS_POLL_MS);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') poll(); });
  new MutationObserver(decorate).observe(nav, { childList: true }); // the menu is drawn again on each route
  new MutationObserver(() => { if (document.body.dataset.ready) poll(); })
    .observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
  // an action done on a screen says so in the live region (ui.act): its counts may have moved
  const status = document.getElementById('status');
  if (status) {
    new MutationObserver(() => { if (status.textContent) poll(); })
      .observe(status, { childList: true, characterData: true, subtree: true });
  }
  return { poll };
}

// ------------------------------------------------------------------ start

/**
 * Start a signed-in page: API calls carry the session's token and a 401 ends the session (after
 * onUnauthorized, e.g. forgetting who was signed in) and shows the sign-in screen with the API's
 * message; every hash change routes; a return from Cognito's hosted UI goes back to where it started.
 */
export function startRouting({ route, onUnauthorized }) {
  api.configure({
    token: auth.token,
    onUnauthorized: (error) => {
      onUnauthorized();
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
      location.hash = returnTo; // hashchange routes
      return;
    }
    route();
  })();
}
