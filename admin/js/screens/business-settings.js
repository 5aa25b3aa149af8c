// Business settings staff can change without a deploy (GET /staff/settings, PUT /staff/settings,
// GET /staff/settings/history): deadlines per supplier stage, thresholds, campaign length, grace
// periods and escalation levels, and the notification rules (notification-rules.js; they share the
// settings' version, so a save of either reads both again). Every staff role reads them; settings.manage (admins) changes them,
// sending only what changed and the version read. Durations are edited in hours or days, amounts in
// units (stored in seconds and cents); a 422 marks the field it names, a 409 says who changed them.

import * as api from '../api.js';
import { h, replace, uid } from '../dom.js';
import { number, when } from '../format.js';
import { act, button, code, errorSlot, muted, notice } from '../ui.js';
import { rulesEditor, rulesSaved } from './notification-rules.js';

const UNITS = [['h', 'hours', 3600], ['d', 'days', 86400]];

/** A duration in seconds as [amount, unit] for its input: whole days when it is whole days. */
function splitDuration(seconds) {
  return seconds && seconds % 86400 === 0 ? [seconds / 86400, 'd'] : [seconds / 3600, 'h'];
}

/** How a value reads in the history and beside "default". */
function shown(item, value) {
  if (value === null || value === undefined || value === '') return 'empty';
  if (item.unit === 'duration') {
    const [amount, unit] = splitDuration(value);
    return `${number(amount)} ${UNITS.find((u) => u[0] === unit)[1]}`;
  }
  if (item.unit === 'minor_units') return (value / 100).toFixed(2);
  return String(value);
}

/** One setting's control(s): `read()` answers its value in the stored unit (or NaN when not a number). */
function control(item, editable) {
  const id = uid('set');
  const disabled = editable ? null : true;
  if (item.unit === 'choice') {
    const el = h('select', { id, name: item.name, disabled }, item.choices.map((c) => h('option', { value: c, selected: c === item.value }, c)));
    return { el, id, read: () => el.value };
  }
  if (item.unit === 'policy') {
    const el = h('input', { id, name: item.name, type: 'text', value: item.value, autocomplete: 'off', disabled, spellcheck: 'false' });
    return { el, id, read: () => el.value.trim() };
  }
  if (item.unit === 'duration') {
    const [amount, unit] = splitDuration(item.value);
    const el = h('input', { id, name: item.name, type: 'number', min: '0', step: 'any', value: String(amount), inputmode: 'decimal', disabled });
    const per = h('select', { name: `${item.name}__unit`, 'aria-label': `${item.label}: unit`, disabled },
      UNITS.map(([u, words]) => h('option', { value: u, selected: u === unit }, words)));
    const factor = () => UNITS.find((u) => u[0] === per.value)[2];
    return { el: h('span', { class: 'with-unit' }, el, per), id, read: () => Math.round(Number(el.value) * factor()) };
  }
  const cents = item.unit === 'minor_units';
  const el = h('input', { id, name: item.name, type: 'number', min: '0', step: cents ? '0.01' : '1', inputmode: cents ? 'decimal' : 'numeric',
    value: cents ? (item.value / 100).toFixed(2) : String(item.value), disabled });
  return { el, id, read: () => (cents ? Math.round(Number(el.value) * 100) : Number(el.value)) };
}

function historyList(page) {
  if (!page.items.length) return h('p', { class: 'empty', 'data-testid': 'settings-history-empty' }, 'Never changed: every setting is the deployment\'s.');
  return h('ol', { class: 'history', 'data-testid': 'settings-history' }, page.items.map((c) => h('li', { 'data-testid': 'settings-change' },
    h('p', {}, h('strong', {}, c.by), ' · ', when(c.at)),
    h('ul', { class: 'plain-list' }, Object.entries(c.changes).map(([name, d]) => h('li', {},
      code(name), `: ${String(d.from)} → ${String(d.to)}`, d.default ? muted(' (back to the default)') : null,
      ruleChanges(d)))))));
}

/** The rules a notification-rules change added and removed (other settings have neither). */
function ruleChanges(d) {
  const lines = [...(d.added || []).map((r) => ['Added', r]), ...(d.removed || []).map((r) => ['Removed', r])];
  return lines.length
    ? h('ul', { class: 'plain-list', 'data-testid': 'rule-changes' }, lines.map(([what, r]) => h('li', {}, `${what}: `, code(r))))
    : null;
}

/** The section; `can('settings.manage')` makes it a form. */
export async function businessSettings({ signal, can }) {
  const slot = errorSlot();
  let report;
  let history;
  let rules;
  try {
    [report, history, rules] = await Promise.all([
      api.get('/staff/settings', undefined, { signal }),
      api.get('/staff/settings/history', { limit: 10 }, { signal }),
      api.get('/staff/settings/notification-rules', undefined, { signal }),
    ]);
  } catch (error) {
    if (error.name === 'AbortError' || error.status === 401) throw error;
    slot.show(error);
    return h('div', { 'data-testid': 'business-settings' }, slot);
  }
  const editable = can('settings.manage');
  const controls = new Map();
  const groups = new Map();
  for (const item of report.items) {
    const c = control(item, editable);
    controls.set(item.name, { item, ...c });
    const reset = editable && item.overridden
      ? button('Use the default', { class: 'link-button small', 'data-testid': 'reset-setting', 'data-name': item.name,
        onclick: () => save({ [item.name]: null }) })
      : null;
    const row = h('div', { class: 'field setting', 'data-testid': 'setting', 'data-name': item.name, 'data-overridden': String(item.overridden) },
      h('label', { for: c.id }, item.label),
      c.el,
      h('p', { class: 'hint' }, item.help, ' ',
        item.overridden ? [h('strong', {}, 'Changed'), ` (default ${shown(item, item.default)}). `] : 'The deployment\'s default. ', reset));
    if (!groups.has(item.group)) groups.set(item.group, []);
    groups.get(item.group).push(row);
  }

  const done = h('div', { 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Save settings');
  const form = h('form', { class: 'form settings-form', 'aria-label': 'Business settings', 'data-testid': 'settings-form', novalidate: true },
    [...groups].map(([group, rows]) => h('fieldset', { class: 'settings-group' }, h('legend', {}, group), rows)),
    editable ? h('div', { class: 'actions' }, submit) : null, slot, done);

  async function save(values) {
    done.replaceChildren();
    const saved = await act(submit, slot, () => api.put('/staff/settings', { expected_version: report.version, values }));
    if (!saved) return;
    const names = Object.keys(values);
    const next = await businessSettings({ signal, can });
    host.replaceWith(next);
    const fresh = next.querySelector('[aria-live]');
    if (fresh) {
      fresh.append(notice(`Saved ${names.length} setting${names.length === 1 ? '' : 's'}. Every part of Waybill uses ${names.length === 1 ? 'it' : 'them'} within ${saved.cache_seconds} seconds.`,
        { testid: 'settings-saved' }));
    }
    const again = next.querySelector(`[data-name="${names[0]}"] input, [data-name="${names[0]}"] select`);
    if (again) again.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = {};
    for (const [name, c] of controls) {
      const value = c.read();
      if (value !== c.item.value) values[name] = value;
    }
    if (!Object.keys(values).length) {
      replace(done, notice('Nothing changed.'));
      return;
    }
    save(values);
  });

  async function saveRules(list, rulesSlot) {
    let saved;
    try {
      saved = await api.put('/staff/settings/notification-rules', { expected_version: report.version, rules: list });
    } catch (error) {
      if (error.name === 'AbortError') return;
      rulesSlot.show(error);
      return;
    }
    const next = await businessSettings({ signal, can });
    host.replaceWith(next);
    rulesSaved(next, list === null ? null : saved.rules.length, saved.cache_seconds);
    const again = next.querySelector('[data-testid="rules-form"] button[type="submit"]');
    if (again) again.focus();
  }

  const host = h('div', { 'data-testid': 'business-settings' },
    h('p', {}, editable
      ? 'Changed here, a setting takes effect everywhere within a minute, without a deploy. Work already under way keeps what it was given (a purchase order keeps the deadline its stage opened with).'
      : 'Admins change these; you see what is in force.'),
    report.updated_at ? h('p', { class: 'hint' }, `Version ${report.version}, last changed by ${report.updated_by} `, when(report.updated_at), '.') : null,
    form,
    rulesEditor(rules, { editable, save: saveRules }),
    h('h3', {}, 'Recent changes'),
    historyList(history));
  return host;
}
