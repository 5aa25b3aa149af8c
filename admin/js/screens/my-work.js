// My work: GET /staff/my-work (everything assigned to me: orders, complaints, purchase orders and
// exceptions, most urgent first) or, with ?team=, a team's work nobody in it has taken yet. Each row
// links to its screen, where it is acted on (and reassigned or unassigned).

import * as api from '../api.js';
import { subjectHref } from '../constants.js';
import { h } from '../dom.js';
import { label, when } from '../format.js';
import { badge, field, heading, link, muted, select, table } from '../ui.js';

const TEAMS = [['', 'Assigned to me'], ['customer_care', 'Customer care'], ['logistics', 'Logistics'],
  ['accounting', 'Accounting'], ['buyer', 'Buyers'], ['admin', 'Admins']];

function hrefOf(w) {
  return w.kind === 'exception' ? `#/exceptions/${encodeURIComponent(w.id)}` : subjectHref(w.kind, w.id);
}

export default {
  name: 'my-work',
  title: 'My work',
  async render({ query, signal, me, navigate }) {
    const team = query.get('team') || '';
    const work = await api.get('/staff/my-work', { team: team || undefined }, { signal });
    const choose = select('team', TEAMS, team);
    choose.addEventListener('change', () => navigate(choose.value ? `#/my-work?team=${choose.value}` : '#/my-work'));
    const whose = team ? `${label(team)}'s work nobody has taken yet` : `Assigned to ${me.email || 'me'}`;
    return [
      heading('My work'),
      h('p', { class: 'lede' }, 'Orders, complaints, purchase orders and exceptions, most urgent first, then oldest.'),
      h('div', { class: 'toolbar' }, field('Show', choose, { class: 'inline' })),
      h('p', { class: 'summary', 'data-testid': 'work-summary' }, `${whose}: ${work.total} item${work.total === 1 ? '' : 's'}.`),
      table({
        caption: whose, testid: 'work-table', empty: team ? 'Nothing waiting for this team.' : 'Nothing is assigned to you.',
        columns: [
          { label: 'Priority', cell: (w) => badge(w.priority) },
          { label: 'What', cell: (w) => [link(hrefOf(w), w.title, { 'data-testid': 'work-link' }), h('span', { class: 'sub' }, label(w.kind))] },
          { label: 'Status', cell: (w) => (w.status ? label(w.status) : muted('—')) },
          { label: 'Since', cell: (w) => when(w.since) },
          { label: 'Due', cell: (w) => (w.due_at ? when(w.due_at) : muted('—')) },
          { label: 'Who', cell: (w) => [w.assignee, w.team && label(w.team)].filter(Boolean).join(' · ') || muted('—') },
        ],
        rows: work.items,
        rowAttrs: (w) => ({ 'data-testid': 'work-row', 'data-id': w.id, 'data-kind': w.kind }),
      }),
    ];
  },
};
