// Building blocks shared by the screens: alerts, badges, tables, fields, pagers, busy buttons.

import { h, replace, uid } from './dom.js';
import { label, when } from './format.js';

// ------------------------------------------------------------------ status messages

/** Say something to screen-reader users (and show it briefly in the polite live region). */
export function announce(message) {
  const region = document.getElementById('status');
  if (!region) return;
  region.textContent = '';
  // A fresh text node after a tick, so repeating the same message is announced again.
  setTimeout(() => { region.textContent = message; }, 30);
}

/** A visible confirmation near the control that caused it (role="status"). */
export function notice(message, { testid = 'notice' } = {}) {
  return h('div', { class: 'notice', role: 'status', 'data-testid': testid }, message);
}

// ------------------------------------------------------------------ errors

/**
 * An API error as the API states it: its message, then each detail (field and message) verbatim,
 * in an element with role="alert".
 */
export function errorAlert(error, { title, reread = false } = {}) {
  const message = (error && error.message) || String(error);
  const details = (error && Array.isArray(error.details)) ? error.details : [];
  const changed = error && error.status === 409 ? details.find((d) => d && d.changed_by) : null;
  if (changed) return conflictAlert(error, changed, title, reread);
  const meta = [];
  if (error && error.status) meta.push(`HTTP ${error.status}`);
  if (error && error.code) meta.push(error.code);
  if (error && error.requestId) meta.push(`request ${error.requestId}`);
  return h('div', { class: 'alert', role: 'alert', 'data-testid': 'error', 'data-code': error && error.code },
    title ? h('p', { class: 'alert-title' }, title) : null,
    h('p', { class: 'alert-message' }, message),
    details.length
      ? h('ul', { class: 'alert-details' }, details.map((d) => h('li', {},
        d.field ? [h('code', {}, d.field), ': '] : null, d.message ?? JSON.stringify(d))))
      : null,
    meta.length ? h('p', { class: 'alert-meta' }, meta.join(' · ')) : null);
}

/**
 * A 409 from a stale write: who changed the item and when, and a Reload button that renders the
 * screen again from fresh data (app.js routes on hashchange). A screen that reads the item again
 * by itself passes `reread`: then the alert says so and offers no button.
 */
function conflictAlert(error, changed, title, reread) {
  const reload = reread ? null : button('Reload', { class: 'primary small', 'data-testid': 'conflict-reload',
    onclick: () => window.dispatchEvent(new HashChangeEvent('hashchange')) });
  return h('div', { class: 'alert', role: 'alert', 'data-testid': 'error', 'data-code': error.code },
    title ? h('p', { class: 'alert-title' }, title) : null,
    h('p', { class: 'alert-message' }, 'Someone else changed this first.'),
    h('p', { 'data-testid': 'changed-by' }, `Changed by ${changed.changed_by} at `,
      changed.changed_at ? when(changed.changed_at) : 'an unknown time',
      reread ? '. It is shown below as it is now.' : '. Reload to see it and try again.'),
    reload ? h('div', { class: 'actions' }, reload) : null,
    h('p', { class: 'alert-meta' }, [`HTTP ${error.status}`, error.code].filter(Boolean).join(' · ')));
}

/** The control a 422 detail's field names ("body.url" -> the control named url) within `scope`. */
function controlFor(scope, fieldPath) {
  const parts = String(fieldPath || '').split('.').filter((p) => p && !['body', 'query', 'path'].includes(p));
  // A control named by the whole path first ("rules[3].channel": one cell of a table of rows).
  const whole = parts.length > 1 ? scope.querySelector(`[name="${CSS.escape(parts.join('.'))}"]`) : null;
  if (whole) return whole;
  for (let i = parts.length - 1; i >= 0; i -= 1) {
    const found = scope.querySelector(`[name="${CSS.escape(parts[i])}"]`);
    if (found) return found;
  }
  return null;
}

/** Mark each control a 422 names: aria-invalid and its message under it; returns the first marked. */
function markFields(scope, details) {
  let first = null;
  for (const d of details) {
    const control = d && d.field ? controlFor(scope, d.field) : null;
    if (!control || control.getAttribute('aria-invalid') === 'true') continue;
    if (!control.id) control.id = uid('in');
    const message = h('p', { class: 'field-error', id: `${control.id}-error`, 'data-testid': 'field-error' }, d.message || 'Not valid.');
    control.setAttribute('aria-invalid', 'true');
    control.dataset.describedBefore = control.getAttribute('aria-describedby') || '';
    control.setAttribute('aria-describedby', [control.dataset.describedBefore, message.id].filter(Boolean).join(' '));
    (control.closest('.field') || control.parentElement).append(message);
    first = first || control;
  }
  return first;
}

function unmarkFields(scope) {
  scope.querySelectorAll('[aria-invalid="true"]').forEach((control) => {
    control.removeAttribute('aria-invalid');
    if (control.dataset.describedBefore) control.setAttribute('aria-describedby', control.dataset.describedBefore);
    else control.removeAttribute('aria-describedby');
    delete control.dataset.describedBefore;
  });
  scope.querySelectorAll('.field-error').forEach((el) => el.remove());
}

/** A place for a form's errors, right beside it; a 422 also marks the fields it names. */
export function errorSlot() {
  const slot = h('div', { class: 'error-slot' });
  const scope = () => slot.closest('form') || slot.parentElement;
  slot.show = (error, options) => {
    replace(slot, errorAlert(error, options));
    const where = scope();
    if (where && error && error.status === 422 && Array.isArray(error.details)) {
      unmarkFields(where);
      const first = markFields(where, error.details);
      if (first) first.focus();
    }
  };
  slot.clear = () => {
    slot.replaceChildren();
    const where = scope();
    if (where) unmarkFields(where);
  };
  return slot;
}

// ------------------------------------------------------------------ focus after an action

let lastFocus = null; // {element, row id, next row id, hash}

/**
 * Keep keyboard focus on the row an action came from: when the focused control inside a row
 * (`[data-id]`) is removed by a re-render, focus the same row again (its first visible action, else the row),
 * or the row that followed it when it left the list. Installed once on `main`; it also labels
 * the cells of every table rendered under it (labelCells).
 */
export function keepRowFocus(root) {
  root.addEventListener('focusin', (event) => {
    const row = event.target.closest && event.target.closest('[data-id]');
    lastFocus = row ? {
      element: event.target, id: row.dataset.id,
      next: row.nextElementSibling && row.nextElementSibling.dataset ? row.nextElementSibling.dataset.id : null,
      hash: location.hash,
    } : null;
  });
  new MutationObserver(() => {
    labelCells(root); // tables a screen re-renders itself get their phone labels too
    const active = document.activeElement;
    if (!active || active === document.body || !active.isConnected) restoreRowFocus(root);
  }).observe(root, { childList: true, subtree: true });
}

/** Focus the remembered row again if its control is gone (see keepRowFocus); true when it did. */
export function restoreRowFocus(root) {
  const last = lastFocus;
  if (!last || last.element.isConnected || last.hash !== location.hash) return false;
  const find = (id) => (id ? root.querySelector(`[data-id="${CSS.escape(id)}"]`) : null);
  const row = find(last.id) || find(last.next);
  if (!row) return false;
  // Its next action (a button or a "More actions" summary that is shown), else the row itself.
  const target = Array.from(row.querySelectorAll('button:not([disabled]), summary'))
    .find((el) => el.getClientRects().length > 0) || row;
  if (target === row && !row.hasAttribute('tabindex')) row.setAttribute('tabindex', '-1');
  target.focus();
  return document.activeElement === target;
}

/**
 * Run an action from a button or form: disable the controls while it runs, show its error in
 * `slot` (if any), announce success. Resolves to the action's result, or undefined on error.
 */
export async function act(controls, slot, fn, { success } = {}) {
  const list = (Array.isArray(controls) ? controls : [controls]).filter(Boolean);
  list.forEach((c) => { c.disabled = true; c.setAttribute('aria-busy', 'true'); });
  if (slot) slot.clear();
  try {
    const result = await fn();
    if (success) announce(typeof success === 'function' ? success(result) : success);
    return result;
  } catch (error) {
    if (error && error.name === 'AbortError') return undefined;
    if (slot) slot.show(error);
    else announce(error.message);
    return undefined;
  } finally {
    list.forEach((c) => { if (c.isConnected) { c.disabled = false; c.removeAttribute('aria-busy'); } });
  }
}

// ------------------------------------------------------------------ badges and text

const TONES = {
  ok: ['completed', 'delivered', 'settled', 'succeeded', 'done', 'shipped', 'approved', 'live', 'active', 'closed',
    'paid', 'captured', 'refunded', 'plan_approved', 'accepted', 'resolved'],
  warn: ['on_hold', 'pending', 'acknowledged', 'snoozed', 'queued', 'running', 'sending', 'proposed', 'invoiced',
    'partially_dispatched', 'partially_delivered', 'ended', 'draft', 'medium', 'payment_approval',
    'awaiting_supplier', 'supplier_answered', 'plan_proposed', 'needs_approval', 'partially_returned', 'returned'],
  bad: ['rejected', 'cancelled', 'failed', 'abandoned', 'critical', 'high', 'returned_to_sender', 'exception',
    'disabled', 'declined', 'open_exception', 'disputed'],
  info: ['placed', 'ordered', 'dispatched', 'open', 'in_transit', 'out_for_delivery', 'low', 'in_progress'],
};
function tone(value) {
  for (const [name, values] of Object.entries(TONES)) if (values.includes(value)) return name;
  return 'neutral';
}

/** A status badge: text plus a tone class; data-status carries the raw value for tests. */
export function badge(value, { testid = 'status-badge', text } = {}) {
  return h('span', { class: ['badge', `tone-${tone(value)}`], 'data-testid': testid, 'data-status': value ?? '' },
    text ?? label(value));
}

export function muted(text) {
  return h('span', { class: 'muted' }, text);
}

export function code(text) {
  return h('code', { class: 'id' }, text);
}

// ------------------------------------------------------------------ layout

/** A section with an h2 it is labelled by. */
export function section(title, ...children) {
  const id = uid('sec');
  return h('section', { class: 'panel', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** The screen's heading (one h1; focus lands here after navigation). */
export function heading(text, ...extra) {
  return h('div', { class: 'screen-head' }, h('h1', { tabindex: '-1' }, text), extra);
}

/** A description list of [term, value] pairs (null values skipped). */
export function facts(pairs, { testid } = {}) {
  return h('dl', { class: 'facts', 'data-testid': testid },
    pairs.filter((p) => p && p[1] !== undefined).map(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

/**
 * A table inside a horizontally scrolling, keyboard-focusable wrapper.
 * columns: [{label, cell(row) -> node|string, class}]; rows: array; rowAttrs(row) -> attrs.
 */
export function table({ caption, columns, rows, testid, rowAttrs, empty = 'Nothing to show.', showCaption = false }) {
  if (!rows.length) return h('p', { class: 'empty', 'data-testid': testid ? `${testid}-empty` : null }, empty);
  const captionId = uid('cap');
  return h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': captionId },
    h('table', { 'data-testid': testid },
      // Captions name the table for assistive tech; on screen the section's heading does.
      h('caption', { id: captionId, class: showCaption && caption ? null : 'visually-hidden' }, caption || 'Table'),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((row) => h('tr', rowAttrs ? rowAttrs(row) : {},
        columns.map((c, i) => (i === 0 && c.header !== false
          ? h('th', { scope: 'row', class: c.class, 'data-label': c.label }, c.cell(row))
          : h('td', { class: c.class, 'data-label': c.label }, c.cell(row)))))))));
}

/** Give every body cell of the tables under `root` its column's heading as data-label (the phone
 *  layout shows it beside the value), for tables built without table(). */
export function labelCells(root) {
  root.querySelectorAll('table').forEach((t) => {
    const heads = Array.from(t.querySelectorAll('thead th')).map((th) => th.textContent.trim());
    t.querySelectorAll('tbody tr').forEach((tr) => {
      Array.from(tr.children).forEach((cell, i) => {
        if (!cell.hasAttribute('data-label') && heads[i]) cell.setAttribute('data-label', heads[i]);
      });
    });
  });
}

// ------------------------------------------------------------------ form fields

/** A labelled control: {label, control, hint}. The control gets an id if it has none. */
export function field(labelText, control, { hint, class: cls } = {}) {
  if (!control.id) control.id = uid('in');
  let hintEl = null;
  if (hint) {
    hintEl = h('p', { class: 'hint', id: `${control.id}-hint` }, hint);
    control.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: ['field', cls] }, h('label', { for: control.id }, labelText), control, hintEl);
}

/** A checkbox with its label after it. */
export function checkbox(labelText, attrs = {}) {
  const input = h('input', { type: 'checkbox', ...attrs });
  if (!input.id) input.id = uid('cb');
  const wrap = h('div', { class: 'field checkbox' }, input, h('label', { for: input.id }, labelText));
  wrap.input = input;
  return wrap;
}

/** A <select> from [value, text] pairs (or plain values). */
export function select(name, options, selected, attrs = {}) {
  return h('select', { name, ...attrs }, options.map((o) => {
    const [value, text] = Array.isArray(o) ? o : [o, label(o)];
    return h('option', { value, selected: String(value) === String(selected ?? '') }, text);
  }));
}

export function input(name, attrs = {}) {
  return h('input', { name, type: 'text', ...attrs });
}

export function textarea(name, attrs = {}) {
  return h('textarea', { name, rows: 3, ...attrs });
}

export function button(text, attrs = {}) {
  return h('button', { type: 'button', ...attrs }, text);
}

// ------------------------------------------------------------------ pagination

/** "Previous page" / "Next page" buttons for cursor pagination. */
export function pager({ hasPrevious, nextCursor, onPrevious, onNext, testid = 'pager' }) {
  if (!hasPrevious && !nextCursor) return null;
  return h('nav', { class: 'pager', 'aria-label': 'Pages', 'data-testid': testid },
    hasPrevious ? button('Previous page', { onclick: onPrevious }) : null,
    nextCursor ? button('Next page', { onclick: onNext, class: 'primary' }) : null);
}

/** A link inside the page. */
export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}
