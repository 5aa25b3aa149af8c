// One exception: GET /staff/exceptions/{id} (the record and its history), a link to its subject, and the
// queue's actions POST /staff/exceptions/{id}/acknowledge | assign | snooze | resolve. Staff e-mails
// about an exception link here (#/exceptions/<id>).

import * as api from '../api.js';
import { subjectHref } from '../constants.js';
import { reasonOf } from './exceptions.js';
import { h, replace } from '../dom.js';
import { label, number, when } from '../format.js';
import {
  act, badge, button, code, errorSlot, facts, field, heading, input, muted, notice, section, select, table, textarea,
} from '../ui.js';

/** Each step of an exception's history in plain words, with what it changed (the event's `facts`). */
export function whatHappened(e) {
  const facts = e.facts || {};
  switch (e.type) {
    case 'exception.raised': return 'Raised';
    case 'exception.pending': return 'Noticed (waiting out its grace period)';
    case 'exception.repeated': return facts.count ? `Seen again (${number(facts.count)} times in all)` : 'Seen again';
    case 'exception.escalated': return facts.level ? `Escalated to level ${number(facts.level)}` : 'Escalated';
    case 'exception.snoozed': return facts.until ? ['Snoozed until ', when(facts.until)] : 'Snoozed';
    case 'exception.woke': return 'Back from snooze';
    case 'exception.acknowledged': return 'Acknowledged';
    case 'exception.assigned':
      if (!facts.assignee) return facts.previous_assignee ? `Unassigned (was ${facts.previous_assignee})` : 'Unassigned';
      return facts.previous_assignee ? `Assigned to ${facts.assignee} (was ${facts.previous_assignee})` : `Assigned to ${facts.assignee}`;
    case 'exception.resolved': return facts.automatic ? 'Resolved by itself (the cause cleared)' : 'Resolved';
    case 'exception.cleared': return 'Cleared before it showed';
    default: return label(String(e.type).split('.').pop());
  }
}

function whoDid(e) {
  const actor = e.actor || {};
  if (!actor.sub || actor.sub === 'system') return muted('Waybill (automatic)');
  return actor.name ? `${actor.name} (${label(actor.role)})` : actor.sub;
}

const SNOOZES = [[3600, '1 hour'], [4 * 3600, '4 hours'], [86400, '1 day'], [3 * 86400, '3 days'], [7 * 86400, '1 week']];

function actionsPanel(item, { can, me, done }) {
  if (!can('exceptions.handle')) return null;
  const allowed = item.allowed_actions || [];
  const slot = errorSlot();
  const base = `/staff/exceptions/${encodeURIComponent(item.id)}`;
  const parts = [];
  if (allowed.includes('acknowledge')) {
    const ack = button('Acknowledge', { class: 'primary' });
    ack.addEventListener('click', async () => {
      const updated = await act(ack, slot, () => api.post(`${base}/acknowledge`, { expected_version: item.version }));
      if (updated) done('Acknowledged.');
    });
    parts.push(h('div', { class: 'actions' }, ack));
  }
  if (allowed.includes('assign')) {
    const who = input('assignee', { type: 'email', value: item.assignee || me.email || '', autocomplete: 'off' });
    const go = h('button', { type: 'submit' }, 'Assign');
    const form = h('form', { class: 'form', 'aria-label': 'Assign' },
      field('Assignee e-mail', who, { hint: item.assignee ? 'Leave empty to unassign.' : null }), h('div', { class: 'actions' }, go));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const updated = await act(go, slot, () => api.post(`${base}/assign`, { assignee: who.value.trim() || null, expected_version: item.version }));
      if (updated) done(`Assigned to ${updated.assignee || 'nobody'}.`);
    });
    parts.push(form);
  }
  if (allowed.includes('snooze')) {
    const duration = select('duration', SNOOZES, 86400);
    const go = h('button', { type: 'submit' }, 'Snooze');
    const form = h('form', { class: 'form', 'aria-label': 'Snooze' }, field('Snooze for', duration), h('div', { class: 'actions' }, go));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const until = new Date(Date.now() + Number(duration.value) * 1000).toISOString();
      const updated = await act(go, slot, () => api.post(`${base}/snooze`, { until, expected_version: item.version }));
      if (updated) done('Snoozed.');
    });
    parts.push(form);
  }
  if (allowed.includes('resolve')) {
    const note = textarea('note', { rows: 2, required: true });
    const go = h('button', { type: 'submit' }, 'Resolve');
    const form = h('form', { class: 'form', 'aria-label': 'Resolve' }, field('Resolution note', note), h('div', { class: 'actions' }, go));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const updated = await act(go, slot, () => api.post(`${base}/resolve`, { note: note.value, expected_version: item.version }));
      if (updated) done('Resolved.');
    });
    parts.push(form);
  }
  if (!parts.length) return section('Actions', muted('Nothing to do on it now.'));
  return section('Actions', parts, slot);
}

export default {
  name: 'exception',
  title: 'Exception',
  async render({ params, signal, me, can, navigate }) {
    const id = params.exceptionId;
    const item = await api.get(`/staff/exceptions/${encodeURIComponent(id)}`, undefined, { signal });
    const feedback = h('div', { class: 'feedback' });
    const href = subjectHref(item.subject_type, item.subject_id);
    const subject = [`${label(item.subject_type)} `, href ? h('a', { href, 'data-testid': 'exception-subject' }, item.subject_id) : code(item.subject_id)];
    const done = (message) => {
      sessionStorage.setItem('waybill.exception.notice', message);
      navigate(`#/exceptions/${encodeURIComponent(id)}`);
    };
    const flash = sessionStorage.getItem('waybill.exception.notice');
    sessionStorage.removeItem('waybill.exception.notice');
    if (flash) replace(feedback, notice(flash));
    const history = table({
      caption: 'History, oldest first',
      testid: 'exception-history',
      rows: item.events || [],
      empty: 'No history yet.',
      rowAttrs: (e) => ({ 'data-testid': 'history-row', 'data-type': e.type }),
      columns: [
        { label: 'When', cell: (e) => when(e.at) },
        { label: 'What', cell: (e) => whatHappened(e) },
        { label: 'Who', cell: (e) => whoDid(e) },
        { label: 'Status', cell: (e) => (e.to_status ? label(e.to_status) : '—') },
        { label: 'Note', cell: (e) => e.internal_note || e.customer_note || '' },
      ],
    });
    return [
      heading(`Exception ${item.id}`, badge(item.severity, { testid: 'severity-badge' }), ' ', badge(item.status, { testid: 'exception-status' })),
      h('p', { class: 'lede' }, h('a', { href: '#/exceptions' }, 'All exceptions')),
      feedback,
      section('What happened', facts([
        ['Reason', h('span', { 'data-testid': 'exception-reason' }, reasonOf(item))],
        ['What', h('span', { 'data-testid': 'exception-title' }, item.title)],
        ['Kind', label(item.kind)],
        ['Subject', h('span', {}, subject)],
        ['Supplier', item.supplier_id || undefined],
        ['Campaign', item.campaign_id ? h('a', { href: `#/campaigns/${encodeURIComponent(item.campaign_id)}` }, item.campaign_id) : undefined],
        ['Team', label(item.owner)],
        ['Assignee', item.assignee || muted('unassigned')],
        ['Opened', when(item.opened_at)],
        ['Last seen', `${when(item.last_seen)} (${number(item.count)} time${item.count === 1 ? '' : 's'})`],
        ['Due', item.due_at ? when(item.due_at) : (item.snoozed_until ? `snoozed until ${when(item.snoozed_until)}` : '—')],
        ['Escalation level', number(item.level)],
        ['Resolution', item.resolution || undefined],
      ], { testid: 'exception-facts' })),
      actionsPanel(item, { can, me, done }),
      section('History', history),
    ];
  },
};
