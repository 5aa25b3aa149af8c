// The customer's order page: `#/o/<token>` shows the order a link opens (GET /track/{token}, no login),
// `#/` the lookup form (POST /track/lookup: reference + e-mail -> the link). A visitor signed in as the
// order's customer (the admin page's sign-in: the dev issuer locally, Cognito in AWS) may ask to cancel
// or open a complaint through the customer routes. Every visible string comes from i18n/<locale>.json.

import * as api from '../../admin/js/api.js';
import * as auth from '../../admin/js/auth.js';
import { config, configError } from '../../admin/js/config.js';
import { h, replace, uid } from '../../admin/js/dom.js';
import { displayName, navigations, page } from '../../admin/js/shell.js';
import * as i18n from './i18n.js';

const { t } = i18n;
const main = document.getElementById('main');
const languages = document.getElementById('language');
const navigation = navigations();
const shell = page(main, () => t('app.brand'));

api.configure({ token: () => auth.token(), onUnauthorized: () => auth.clearSession() });

// ------------------------------------------------------------------ small parts

function field(labelText, control, hint) {
  if (!control.id) control.id = uid('in');
  const hintEl = hint ? h('p', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), control, hintEl);
}

function options(name, pairs, attrs = {}) {
  return h('select', { name, ...attrs }, pairs.map(([value, text]) => h('option', { value }, text)));
}

function alert(text, testid = 'error') {
  return h('div', { class: 'alert', role: 'alert', 'data-testid': testid }, h('p', { class: 'alert-message' }, text));
}

function notice(text) {
  return h('div', { class: 'notice', role: 'status', 'data-testid': 'notice' }, text);
}

function card(title, ...children) {
  const id = uid('sec');
  return h('section', { class: 'panel card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function ready(name, title) {
  shell.finish(name, title, { focus: false });
}

function renderLanguages(onChange) {
  const select = options('language', i18n.LOCALES.map((l) => [l, l === 'vi' ? 'Tiếng Việt' : 'English']));
  select.value = i18n.locale();
  select.addEventListener('change', () => { i18n.choose(select.value); onChange(); });
  replace(languages, field(t('app.language'), select));
}

// ------------------------------------------------------------------ the lookup form

function lookupScreen(message) {
  const reference = h('input', { name: 'reference', type: 'text', required: true, autocomplete: 'off', autocapitalize: 'characters' });
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('lookup.submit'));
  const slot = h('div', { class: 'error-slot' });
  const form = h('form', { class: 'form', 'aria-label': t('lookup.title'), 'data-testid': 'lookup-form' },
    field(t('lookup.reference'), reference, t('lookup.reference_hint')),
    field(t('lookup.email'), email),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    slot.replaceChildren();
    try {
      const found = await api.post('/track/lookup', { reference: reference.value, email: email.value });
      location.hash = `#/o/${found.token}`;
    } catch (error) {
      replace(slot, alert(error.status === 404 ? t('lookup.not_found')
        : error.status === 429 ? t('lookup.too_many') : t('error.generic')));
    } finally {
      submit.disabled = false;
    }
  });
  return [
    h('h1', { tabindex: '-1' }, t('lookup.title')),
    message ? alert(message, 'link-gone') : null,
    h('p', { class: 'lede' }, t('lookup.intro')),
    form,
  ];
}

// ------------------------------------------------------------------ the order

function parcelCard(parcel) {
  const steps = [...(parcel.timeline || [])].reverse();
  return h('article', { class: 'parcel', 'data-testid': 'parcel', 'data-tracking': parcel.tracking_number },
    facts([
      [t('parcel.carrier'), parcel.carrier_name],
      [t('parcel.tracking_number'), h('span', { class: 'id' }, parcel.tracking_number)],
      [t('parcel.status'), i18n.tCode('parcel', parcel.status)],
    ]),
    parcel.tracking_url
      ? h('p', {}, h('a', { href: parcel.tracking_url, rel: 'noopener noreferrer', target: '_blank' },
        t('parcel.track', { carrier: parcel.carrier_name })))
      : null,
    steps.length
      ? h('ol', { class: 'timeline', 'aria-label': t('parcel.history') }, steps.map((s) => h('li', {},
        h('time', { datetime: s.at }, i18n.date(s.at)), ' ', i18n.tCode('parcel', s.status),
        s.location ? ` · ${s.location}` : null)))
      : null);
}

function orderScreen(view) {
  const c = view.currency;
  const money = view.money;
  const updates = [...view.timeline].reverse();
  return [
    h('h1', { tabindex: '-1', 'data-testid': 'order-reference' }, t('order.heading', { reference: view.reference })),
    h('p', { class: 'lede' }, t('order.placed', { date: i18n.date(view.created_at, { withTime: false }) })),
    card(t('order.status'),
      h('p', { class: 'status', 'data-testid': 'order-status', 'data-status': view.status }, i18n.tCode('status', view.status)),
      h('h3', {}, t('order.next')),
      h('p', { 'data-testid': 'next-step' }, i18n.tCode('next', view.next_step))),
    card(t('order.deliveries'), view.deliveries.map((d) => h('div', { class: 'delivery', 'data-testid': 'delivery' },
      h('h3', {}, t('order.delivery', { number: d.number }), ' · ', i18n.tCode('delivery', d.status)),
      d.parcels.length ? d.parcels.map(parcelCard) : h('p', { class: 'muted' }, t('order.no_parcels'))))),
    card(t('order.lines'), h('ul', { class: 'lines' }, view.lines.map((l) => h('li', {},
      h('span', {}, t('order.line', { quantity: l.quantity, name: l.name })), h('span', { class: 'num' }, i18n.money(l.total_cents, c)))))),
    card(t('order.money'), facts([
      [t('money.ordered'), i18n.money(money.ordered_cents, c)],
      [t('money.payable'), i18n.money(money.payable_cents, c)],
      [t('money.paid'), i18n.money(money.paid_cents, c)],
      [t('money.refunded'), i18n.money(money.refunded_cents, c)],
      ...(money.refund_pending_cents ? [[t('money.refund_pending'), i18n.money(money.refund_pending_cents, c)]] : []),
      ...(money.balance_cents > 0 ? [[t('money.balance'), i18n.money(money.balance_cents, c)]] : []),
    ]),
    h('h3', {}, t('order.refunds')),
    view.refunds.length
      ? h('ul', { 'data-testid': 'refunds' }, view.refunds.map((r) => h('li', {},
        t('order.refund', { amount: i18n.money(r.amount_cents, c), date: i18n.date(r.at, { withTime: false }) }),
        ' · ', i18n.tCode('refund', r.status))))
      : h('p', { class: 'muted' }, t('order.no_refunds'))),
    card(t('order.timeline'), updates.length
      ? h('ol', { class: 'timeline', 'data-testid': 'order-timeline' }, updates.map((e) => h('li', {},
        h('time', { datetime: e.at }, i18n.date(e.at)), ' ',
        e.status ? i18n.tCode('status', e.status) : t('event.note'),
        e.note ? h('p', { class: 'note' }, e.note) : null)))
      : h('p', { class: 'muted' }, t('order.no_updates'))),
  ];
}

// ------------------------------------------------------------------ the signed-in customer

function signInCard(onDone) {
  if (config.auth.mode !== 'dev') return null; // Cognito: the customer signs in on the shop, the session is shared
  const users = (config.auth.users || []).filter((u) => (u.roles || []).includes('customer'));
  if (!users.length) return null;
  const user = options('sub', users.map((u) => [u.sub, u.name || u.email || u.sub]));
  const submit = h('button', { type: 'submit' }, t('signin.submit'));
  const slot = h('div', { class: 'error-slot' });
  const form = h('form', { class: 'form', 'aria-label': t('signin.title') }, field(t('signin.user'), user), h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await auth.devSignIn(user.value, 'customer');
      onDone();
    } catch {
      replace(slot, alert(t('error.generic')));
      submit.disabled = false;
    }
  });
  return card(t('signin.title'), h('p', {}, t('signin.intro')), form);
}

function cancelForm(mine, onDone) {
  const allowed = mine.allowed_actions || [];
  const afterClose = ['ordered', 'partially_dispatched'].includes(mine.status);
  if (!allowed.includes('cancel') && !afterClose) return null;
  const reason = h('textarea', { name: 'reason', rows: 2, required: true });
  const submit = h('button', { type: 'submit' }, t('cancel.submit'));
  const slot = h('div', { class: 'error-slot' });
  const form = h('form', { class: 'form', 'aria-label': t('cancel.title'), 'data-testid': 'cancel-form' },
    h('h3', {}, t('cancel.title')), field(t('cancel.reason'), reason), h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const id = encodeURIComponent(mine.id);
    try {
      if (allowed.includes('cancel')) await api.post(`/orders/${id}/cancel`, { reason: reason.value });
      else await api.post(`/orders/${id}/cancellation-request`, { reason: reason.value });
      onDone(t('cancel.sent'));
    } catch {
      replace(slot, alert(t('error.generic')));
      submit.disabled = false;
    }
  });
  return form;
}

function complaintForm(mine, onDone) {
  const arrived = mine.deliveries.map((d, i) => [d, i + 1]).filter(([d]) => ['dispatched', 'delivered', 'partially_returned'].includes(d.status));
  if (!arrived.length) return null;
  const delivery = options('delivery', arrived.map(([d, n]) => [d.supplier_id, t('order.delivery', { number: n })]));
  const reason = options('reason', ['damaged', 'wrong_item', 'missing_item', 'not_as_described', 'lost_in_transit'].map((r) => [r, t(`reason.${r}`)]));
  const resolution = options('resolution', ['refund', 'replacement', 'return_for_refund'].map((r) => [r, t(`resolution.${r}`)]));
  const item = options('sku', []);
  const fillItems = () => replace(item, mine.lines.filter((l) => l.supplier_id === delivery.value).map((l) => h('option', { value: l.sku }, l.name)));
  delivery.addEventListener('change', fillItems);
  fillItems();
  const quantity = h('input', { name: 'quantity', type: 'number', min: 1, value: 1, required: true, inputmode: 'numeric' });
  const description = h('textarea', { name: 'description', rows: 3 });
  const submit = h('button', { type: 'submit' }, t('complaint.submit'));
  const slot = h('div', { class: 'error-slot' });
  const form = h('form', { class: 'form', 'aria-label': t('complaint.title'), 'data-testid': 'complaint-form' },
    h('h3', {}, t('complaint.title')),
    field(t('complaint.delivery'), delivery), field(t('complaint.reason'), reason), field(t('complaint.resolution'), resolution),
    field(t('complaint.item'), item), field(t('complaint.quantity'), quantity), field(t('complaint.description'), description),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      await api.post(`/orders/${encodeURIComponent(mine.id)}/complaints`, {
        supplier_id: delivery.value, reason: reason.value, wanted_resolution: resolution.value,
        lines: [{ sku: item.value, quantity: Number(quantity.value) }], description: description.value,
      });
      onDone(t('complaint.sent'));
    } catch {
      replace(slot, alert(t('error.generic')));
      submit.disabled = false;
    }
  });
  return form;
}

async function customerPart(view, rerender) {
  if (!auth.token()) return signInCard(rerender);
  const me = auth.claimsOf(auth.token());
  const signOut = h('button', { type: 'button', class: 'link-button', onclick: () => { auth.clearSession(); rerender(); } }, t('signin.sign_out'));
  const who = h('p', { 'data-testid': 'signed-in-as' }, t('signin.signed_in', { name: displayName(me) }), ' ', signOut);
  let mine = null;
  try {
    mine = await api.get(`/orders/${encodeURIComponent(view.order_id)}`);
  } catch {
    return card(t('actions.title'), who, h('p', {}, t('signin.not_yours')));
  }
  const feedback = h('div', { class: 'feedback' });
  const done = (message) => replace(feedback, notice(message));
  const forms = [cancelForm(mine, done), complaintForm(mine, done)].filter(Boolean);
  return card(t('actions.title'), who, feedback, forms.length ? forms : h('p', {}, t('actions.none')));
}

// ------------------------------------------------------------------ the router

async function route() {
  const { isCurrent } = navigation.start();
  delete document.body.dataset.ready;
  main.setAttribute('aria-busy', 'true');
  const path = location.hash.replace(/^#/, '') || '/';
  const match = path.match(/^\/o\/([^/?]+)$/);
  if (configError) {
    await i18n.use(i18n.pickLocale());
    replace(main, alert(t('error.generic')));
    ready('error', t('app.title'));
    return;
  }
  if (!match) {
    await i18n.use(i18n.pickLocale());
    if (!isCurrent()) return;
    renderLanguages(route);
    replace(main, lookupScreen());
    ready('lookup', t('lookup.title'));
    return;
  }
  let view = null;
  let failure = null;
  try {
    view = await api.get(`/track/${encodeURIComponent(match[1])}`);
  } catch (error) {
    failure = error;
  }
  await i18n.use(i18n.pickLocale(view && view.locale));
  if (!isCurrent()) return;
  renderLanguages(route);
  if (!view) {
    replace(main, lookupScreen(failure && failure.status === 404 ? t('error.gone') : t('error.generic')));
    ready('lookup', t('lookup.title'));
    return;
  }
  const extra = await customerPart(view, route);
  if (!isCurrent()) return;
  replace(main, orderScreen(view), extra, h('p', {}, h('a', { href: '#/' }, t('app.lookup_link'))));
  ready('order', t('order.heading', { reference: view.reference }));
}

window.addEventListener('hashchange', route);
route();
