// Notification rules (GET/PUT /staff/settings/notification-rules): who is told of which event, by which
// channel, at once or in the daily digest. One table row per rule; admins edit, add and remove rows and
// save the whole set (or go back to the rules in the code); other roles read it. The rules share the
// settings' version, so business-settings.js renders them and reads everything again after a save.
// A 422 names `rules[3].channel`: each control is named that way, so the error marks that very cell.

import { h, uid } from '../dom.js';
import { label, when } from '../format.js';
import { button, code, errorSlot, muted, notice } from '../ui.js';

/** Conditions as one line of text: `data.severity=critical,high; subject_type=exception`. */
export function conditionsText(conditions) {
  return (conditions || []).map((c) => `${c.path}=${c.values.map(String).join(',')}`).join('; ');
}

/** The text form back to conditions (true/false become booleans, as the default rules keep them). */
export function parseConditions(text) {
  return String(text || '').split(';').map((part) => part.trim()).filter(Boolean).map((part) => {
    const at = part.indexOf('=');
    const path = (at < 0 ? part : part.slice(0, at)).trim();
    const values = (at < 0 ? '' : part.slice(at + 1)).split(',').map((v) => v.trim()).filter(Boolean)
      .map((v) => (v === 'true' ? true : v === 'false' ? false : v));
    return { path, values };
  });
}

function options(choices, selected, words = (c) => c) {
  return choices.map((c) => h('option', { value: c, selected: c === selected }, words(c)));
}

const TIMING_WORDS = { immediate: 'At once', digest: 'Daily digest' };

/** One editable row; `read()` answers the rule as the API takes it. */
function editableRow(rule, choices, remove) {
  const n = () => Number(tr.dataset.index);
  const named = (field) => `rules[${tr.dataset.index}].${field}`;
  const event = h('select', { 'data-field': 'event' }, options(choices.events, rule.event));
  const recipient = h('select', { 'data-field': 'recipient' }, options(choices.recipients, rule.recipient, label));
  const channel = h('select', { 'data-field': 'channel' }, options(choices.channels, rule.channel, label));
  const timing = h('select', { 'data-field': 'timing' }, options(choices.timings, rule.timing, (t) => TIMING_WORDS[t] || label(t)));
  const mandatory = h('input', { type: 'checkbox', 'data-field': 'mandatory', checked: rule.mandatory ? true : null });
  const whenText = h('input', { type: 'text', 'data-field': 'when', value: conditionsText(rule.when), autocomplete: 'off', spellcheck: 'false',
    placeholder: 'every event of that type' });
  const drop = button('Remove', { class: 'link-button small', 'data-testid': 'remove-rule' });
  const controls = [event, recipient, channel, timing, mandatory, whenText];
  const cells = controls.map((c) => h('div', { class: 'field' }, c));
  const tr = h('tr', { 'data-testid': 'rule', 'data-id': uid('rule') },
    h('th', { scope: 'row' }, cells[0]), cells.slice(1).map((c) => h('td', {}, c)), h('td', {}, drop));
  tr.label = () => {
    controls.forEach((c) => {
      c.name = named(c.dataset.field);
      c.setAttribute('aria-label', `Rule ${n() + 1}: ${c.dataset.field === 'mandatory' ? 'always sent' : c.dataset.field === 'when' ? 'only when' : c.dataset.field}`);
    });
    drop.setAttribute('aria-label', `Remove rule ${n() + 1}`);
  };
  drop.addEventListener('click', () => remove(tr));
  tr.read = () => {
    const out = {
      event: event.value,
      recipient: recipient.value,
      channel: channel.value,
      timing: timing.value,
      mandatory: mandatory.checked,
      when: parseConditions(whenText.value),
    };
    // The mail it sends stays the same while its event and role do; otherwise the API chooses.
    if (rule.template && event.value === rule.event && recipient.value === rule.recipient) out.template = rule.template;
    return out;
  };
  return tr;
}

function readOnlyRows(rules) {
  return rules.map((r) => h('tr', { 'data-testid': 'rule' },
    h('th', { scope: 'row' }, code(r.event)),
    h('td', {}, label(r.recipient)),
    h('td', {}, label(r.channel)),
    h('td', {}, TIMING_WORDS[r.timing] || r.timing),
    h('td', {}, r.mandatory ? 'Yes' : 'No'),
    h('td', {}, r.when.length ? code(conditionsText(r.when)) : muted('every event'))));
}

/**
 * The rules block. `save(rules | null)` sends the set (null: the code's rules) and resolves to true
 * when it was saved (the caller renders everything again); errors land in the returned slot.
 */
export function rulesEditor(report, { editable, save }) {
  const slot = errorSlot();
  const done = h('div', { 'aria-live': 'polite' });
  const heads = ['Event', 'Recipients (role)', 'Channel', 'Timing', 'Always sent', 'Only when'];
  const captionId = uid('cap');
  const body = h('tbody', {});
  const relabel = () => Array.from(body.children).forEach((tr, i) => { tr.dataset.index = String(i); if (tr.label) tr.label(); });
  const remove = (tr) => {
    const next = tr.nextElementSibling || tr.previousElementSibling;
    tr.remove();
    relabel();
    const focus = next ? next.querySelector('select') : add;
    if (focus) focus.focus();
  };
  if (editable) report.rules.forEach((r) => body.append(editableRow(r, report.choices, remove)));
  else body.append(...readOnlyRows(report.rules));
  relabel();
  const tableEl = h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-labelledby': captionId },
    h('table', { 'data-testid': 'rules-table' },
      h('caption', { id: captionId, class: 'visually-hidden' }, 'Notification rules'),
      h('thead', {}, h('tr', {}, heads.map((t) => h('th', { scope: 'col' }, t)), editable ? h('th', { scope: 'col' }, 'Remove') : null)),
      body));

  const add = editable ? button('Add a rule', { 'data-testid': 'add-rule' }) : null;
  const submit = editable ? h('button', { type: 'submit', class: 'primary' }, 'Save rules') : null;
  const reset = editable && !report.default
    ? button('Use the default rules', { class: 'link-button', 'data-testid': 'reset-rules' }) : null;
  if (add) {
    add.addEventListener('click', () => {
      const tr = editableRow({ event: report.choices.events[0], recipient: 'admin', channel: report.choices.channels[0],
        timing: 'immediate', mandatory: false, when: [] }, report.choices, remove);
      body.append(tr);
      relabel();
      tr.querySelector('select').focus();
    });
  }
  const form = h('form', { class: 'form', 'aria-label': 'Notification rules', 'data-testid': 'rules-form', novalidate: true },
    tableEl, editable ? h('div', { class: 'actions' }, add, submit, reset) : null, slot, done);
  const run = async (rules, control) => {
    done.replaceChildren();
    control.disabled = true;
    try {
      await save(rules, slot);
    } finally {
      if (control.isConnected) control.disabled = false;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    run(Array.from(body.children).map((tr) => tr.read()), submit);
  });
  if (reset) reset.addEventListener('click', () => run(null, reset));

  return h('div', { 'data-testid': 'notification-rules' },
    h('h3', {}, 'Notification rules'),
    h('p', {}, 'Who is told of what: for each event, the role that hears of it, by which channel, at once or in the daily digest. ',
      '"Always sent" ignores the recipient\'s preferences (their own orders, requests to act). ',
      '"Only when" narrows a rule to events whose fields hold one of the values (',
      code('data.severity=critical,high'), '). E-mail is the only channel.'),
    h('p', { class: 'hint', 'data-testid': 'rules-state' }, report.default
      ? 'These are the rules in the code (the default).'
      : ['Changed by ', report.updated_by || 'someone', ' ', report.updated_at ? when(report.updated_at) : '', '; not the default.']),
    form);
}

/** The saved notice, put where the re-rendered block shows it. */
export function rulesSaved(root, count, cacheSeconds) {
  const live = root.querySelector('[data-testid="notification-rules"] [aria-live]');
  if (live) live.append(notice(`Saved ${count === null ? 'the default rules' : `${count} rule${count === 1 ? '' : 's'}`}. The notifications use them within ${cacheSeconds} seconds.`, { testid: 'rules-saved' }));
}
