// Who works on an order, complaint or purchase order (GET/PUT/DELETE /staff/assignments/{subject}/{id}):
// the screens of those subjects show this panel; any staff role assigns to a person, a team or both,
// with a priority that ranks it in "My work". A 409 names who changed it; a 422 marks the field.

import * as api from './api.js';
import { h, replace } from './dom.js';
import { label, when } from './format.js';
import { act, button, errorSlot, field, input, muted, notice, select, textarea } from './ui.js';

const TEAMS = [['', 'No team'], ['customer_care', 'Customer care'], ['logistics', 'Logistics'], ['accounting', 'Accounting'],
  ['buyer', 'Buyers'], ['admin', 'Admins']];
const PRIORITIES = [['critical', 'Critical'], ['high', 'High'], ['medium', 'Medium'], ['low', 'Low']];

/** The panel for `subject` ("order", "complaint", "purchase_order") `id`; `me` is the signed-in person. */
export function assignPanel(subject, id, me) {
  const host = h('div', { class: 'assign-panel', 'data-testid': 'assignment' }, muted('reading who works on it…'));
  const path = `/staff/assignments/${subject}/${encodeURIComponent(id)}`;

  function render(a, message) {
    const who = input('assignee', { type: 'email', value: a.assignee || '', autocomplete: 'off', placeholder: me.email || '' });
    const team = select('team', TEAMS, a.team || '');
    const priority = select('priority', PRIORITIES, a.priority || 'medium');
    const note = textarea('note', { rows: 2 });
    const save = h('button', { type: 'submit', class: 'primary small' }, a.assigned ? 'Reassign' : 'Assign');
    const mine = button('Assign to me', { class: 'small', onclick: () => { who.value = me.email || ''; } });
    const slot = errorSlot();
    const form = h('form', { class: 'form inline-form', 'aria-label': 'Assign', 'data-testid': 'assign-form' },
      field('Person (e-mail)', who), field('Team', team), field('Priority', priority), field('Note (staff only)', note),
      h('div', { class: 'button-row' }, save, me.email ? mine : null), slot);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { assignee: who.value.trim() || null, team: team.value || null, priority: priority.value, expected_version: a.version };
      if (note.value.trim()) body.note = note.value.trim();
      const saved = await act(save, slot, () => api.put(path, body));
      if (saved) render(saved, `Assigned to ${[saved.assignee, saved.team && label(saved.team)].filter(Boolean).join(' and ')}.`);
    });
    let unassign = null;
    if (a.assigned) {
      const undo = button('Unassign', { class: 'small' });
      const undoSlot = errorSlot();
      undo.addEventListener('click', async () => {
        const done = await act(undo, undoSlot, () => api.request('DELETE', path, { query: { expected_version: a.version } }));
        if (done) render(done, 'Unassigned.');
      });
      unassign = h('div', {}, undo, undoSlot);
    }
    replace(host,
      message ? notice(message, { testid: 'assign-notice' }) : null,
      h('p', { 'data-testid': 'assigned-to', 'data-assignee': a.assignee || '', 'data-team': a.team || '' },
        a.assigned
          ? [h('strong', {}, [a.assignee, a.team && label(a.team)].filter(Boolean).join(' · ')), ` · ${label(a.priority)} priority · by ${a.assigned_by} `, when(a.assigned_at)]
          : 'Nobody is assigned.'),
      a.note ? h('p', { class: 'hint' }, a.note) : null,
      unassign,
      h('details', { class: 'panel-details' }, h('summary', {}, a.assigned ? 'Reassign' : 'Assign someone'), form));
  }

  api.get(path).then((a) => render(a)).catch((error) => {
    if (error.name === 'AbortError') return;
    const slot = errorSlot();
    replace(host, slot);
    slot.show(error);
  });
  return host;
}
