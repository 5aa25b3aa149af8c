// Exceptions queue: GET /staff/exceptions (ranked by severity then age, with counts per kind and
// severity), filters in the hash, a client-side "Sort by" on the loaded page, and the row actions
// POST /staff/exceptions/{id}/acknowledge | assign | snooze | resolve.

import * as api from '../api.js';
import { EXCEPTION_KINDS, QUEUE_STATUSES, SEVERITIES, SEVERITY_RANK, subjectHref } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, number, when } from '../format.js';
import {
  act, badge, button, errorSlot, field, heading, input, muted, notice, pager, select, textarea,
} from '../ui.js';

const PAGE_SIZE = 50;
const SORTS = [
  ['severity', 'Severity'],
  ['opened', 'Opened'],
  ['last_seen', 'Last seen'],
  ['due', 'Due'],
];
const SNOOZES = [[3600, '1 hour'], [4 * 3600, '4 hours'], [86400, '1 day'], [3 * 86400, '3 days'], [7 * 86400, '1 week']];
const time = (iso) => (iso ? new Date(iso).getTime() : NaN);

// Previous pages' cursors, per filter set (kept while the tab lives).
const cursorStacks = new Map();

/** Sort a copy of the loaded page. Severity: critical, high, medium, low; then the oldest first. */
export function sortExceptions(items, sort) {
  const bySeverity = (a, b) => (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9)
    || time(a.opened_at) - time(b.opened_at);
  const compare = {
    severity: bySeverity,
    opened: (a, b) => time(b.opened_at) - time(a.opened_at),
    last_seen: (a, b) => time(b.last_seen) - time(a.last_seen),
    // The next due time when the API gives one (due_at), else the snooze end; without either, last.
    due: (a, b) => {
      const da = time(a.due_at || a.snoozed_until);
      const db = time(b.due_at || b.snoozed_until);
      return (Number.isNaN(da) ? Infinity : da) - (Number.isNaN(db) ? Infinity : db) || bySeverity(a, b);
    },
  }[sort] || bySeverity;
  return [...items].sort(compare);
}

export default {
  name: 'exceptions',
  title: 'Exceptions',
  async render({ query, signal, me, can, navigate }) {
    const filters = {
      kind: query.get('kind') || '',
      severity: query.get('severity') || '',
      status: query.get('status') || '',
      assignee: query.get('assignee') || '',
    };
    let sort = query.get('sort') || 'severity';
    const cursor = query.get('cursor') || '';
    const filterKey = JSON.stringify(filters);
    const stack = cursorStacks.get(filterKey) || [];
    cursorStacks.set(filterKey, stack);

    const hashFor = (extra) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...filters, sort, ...extra })) if (v) params.set(k, v);
      const text = params.toString();
      return `#/exceptions${text ? `?${text}` : ''}`;
    };

    const filterSlot = errorSlot();
    let page = null;
    try {
      page = await api.get('/staff/exceptions', { ...filters, limit: PAGE_SIZE, cursor }, { signal });
    } catch (error) {
      if (error.name === 'AbortError' || error.status === 401) throw error;
      filterSlot.show(error);
    }
    const counts = (page && page.counts) || { total: 0, by_kind: {}, by_severity: {} };
    let items = page ? page.items : [];

    // -------------------------------------------------------------- filters
    const kindSelect = select('kind', [['', 'Any kind'], ...Object.entries(EXCEPTION_KINDS).map(([k, t]) => [k,
      `${t} (${counts.by_kind[k] ?? 0})`])], filters.kind);
    const severitySelect = select('severity', [['', 'Any severity'], ...SEVERITIES.map((s) => [s,
      `${label(s)} (${counts.by_severity[s] ?? 0})`])], filters.severity);
    const statusSelect = select('status', [['', 'Open and acknowledged'], ...QUEUE_STATUSES.map((s) => [s, label(s)])],
      filters.status);
    const assigneeInput = input('assignee', { value: filters.assignee, placeholder: 'someone@waybill.example or none', autocomplete: 'off' });
    const filterForm = h('form', { class: 'form filters', 'aria-label': 'Filter exceptions' },
      field('Kind', kindSelect),
      field('Severity', severitySelect),
      field('Status', statusSelect),
      field('Assignee', assigneeInput, { hint: 'An e-mail address, or "none" for the unassigned.' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Filter'),
        me.email ? button('Assigned to me', { onclick: () => navigate(hashFor({ assignee: me.email, cursor: '' })) }) : null,
        button('Reset', { onclick: () => navigate(`#/exceptions${sort !== 'severity' ? `?sort=${sort}` : ''}`) })),
      filterSlot);
    filterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      Object.assign(filters, {
        kind: kindSelect.value, severity: severitySelect.value, status: statusSelect.value,
        assignee: assigneeInput.value.trim(),
      });
      navigate(hashFor({ cursor: '' }));
    });

    // -------------------------------------------------------------- sort
    const sortSelect = select('sort', SORTS, sort);
    sortSelect.addEventListener('change', () => {
      sort = sortSelect.value;
      history.replaceState(null, '', hashFor({ cursor }));
      renderTable();
    });

    // -------------------------------------------------------------- table
    const tableHost = h('div', { class: 'table-host' });
    const feedback = h('div', { class: 'feedback' });
    const summary = h('p', { class: 'summary', 'data-testid': 'exceptions-summary' });

    function afterAction(updated, message) {
      const stillListed = updated.status !== 'resolved'
        && (filters.status ? updated.status === filters.status : ['open', 'acknowledged'].includes(updated.status));
      items = stillListed ? items.map((i) => (i.id === updated.id ? updated : i)) : items.filter((i) => i.id !== updated.id);
      replace(feedback, notice(message));
      renderTable();
    }

    function actionsCell(item) {
      if (!can('exceptions.handle')) return muted('—');
      const allowed = item.allowed_actions || [];
      const slot = errorSlot();
      const base = `/staff/exceptions/${encodeURIComponent(item.id)}`;
      const parts = [];
      if (allowed.includes('acknowledge')) {
        const ack = button('Acknowledge', { class: 'small' });
        ack.addEventListener('click', async () => {
          const updated = await act(ack, slot, () => api.post(`${base}/acknowledge`, { expected_version: item.version }));
          if (updated) afterAction(updated, `Acknowledged: ${item.title}.`);
        });
        parts.push(ack);
      }
      const more = [];
      if (allowed.includes('assign')) {
        const who = input('assignee', { type: 'email', value: item.assignee || me.email || '', autocomplete: 'off' });
        const go = h('button', { type: 'submit', class: 'small' }, 'Assign');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Assign' },
          field('Assignee e-mail', who, { hint: item.assignee ? 'Leave empty to unassign.' : null }), go);
        form.addEventListener('submit', async (event) => {
          event.preventDefault();
          const updated = await act(go, slot, () => api.post(`${base}/assign`, { assignee: who.value.trim() || null, expected_version: item.version }));
          if (updated) afterAction(updated, `Assigned to ${updated.assignee || 'nobody'}: ${item.title}.`);
        });
        more.push(form);
      }
      if (allowed.includes('snooze')) {
        const duration = select('duration', SNOOZES, 86400);
        const go = h('button', { type: 'submit', class: 'small' }, 'Snooze');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Snooze' }, field('Snooze for', duration), go);
        form.addEventListener('submit', async (event) => {
          event.preventDefault();
          const until = new Date(Date.now() + Number(duration.value) * 1000).toISOString();
          const updated = await act(go, slot, () => api.post(`${base}/snooze`, { until, expected_version: item.version }));
          if (updated) afterAction(updated, `Snoozed: ${item.title}.`);
        });
        more.push(form);
      }
      if (allowed.includes('resolve')) {
        const note = textarea('note', { rows: 2, required: true });
        const go = h('button', { type: 'submit', class: 'small' }, 'Resolve');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Resolve' }, field('Resolution note', note), go);
        form.addEventListener('submit', async (event) => {
          event.preventDefault();
          const updated = await act(go, slot, () => api.post(`${base}/resolve`, { note: note.value, expected_version: item.version }));
          if (updated) afterAction(updated, `Resolved: ${item.title}.`);
        });
        more.push(form);
      }
      if (more.length) {
        parts.push(h('details', { class: 'row-actions' }, h('summary', {}, 'More actions'), more));
      }
      parts.push(slot);
      return h('div', { class: 'cell-actions' }, parts);
    }

    function renderTable() {
      if (!page) {
        summary.replaceChildren();
        tableHost.replaceChildren();
        return;
      }
      const sorted = sortExceptions(items, sort);
      replace(summary, `${number(counts.total)} exception${counts.total === 1 ? '' : 's'} match; ${items.length} on this page.`);
      if (!sorted.length) {
        replace(tableHost, h('p', { class: 'empty', 'data-testid': 'exceptions-table-empty' }, 'No exceptions match. Nothing needs you here right now.'));
        return;
      }
      const caption = `Exceptions, sorted by ${(SORTS.find(([v]) => v === sort) || SORTS[0])[1].toLowerCase()}`;
      replace(tableHost, h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': caption },
        h('table', { 'data-testid': 'exceptions-table' },
          h('caption', { class: 'visually-hidden' }, caption),
          h('thead', {}, h('tr', {}, ['Severity', 'Exception', 'Status', 'Assignee', 'Opened', 'Last seen', 'Seen', 'Level', 'Actions']
            .map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, sorted.map((item) => {
            const href = subjectHref(item.subject_type, item.subject_id);
            return h('tr', { 'data-testid': 'exception-row', 'data-id': item.id, 'data-severity': item.severity, 'data-kind': item.kind },
              h('td', {}, badge(item.severity, { testid: 'severity-badge' })),
              h('th', { scope: 'row' }, h('a', { class: 'title', href: `#/exceptions/${encodeURIComponent(item.id)}`, 'data-testid': 'exception-link' }, item.title),
                h('span', { class: 'sub' }, `${label(item.subject_type)} `, href ? h('a', { href }, item.subject_id) : item.subject_id,
                  item.supplier_id ? ` · supplier ${item.supplier_id}` : '')),
              h('td', {}, badge(item.status), item.snoozed_until ? h('span', { class: 'sub' }, 'until ', when(item.snoozed_until)) : null),
              h('td', {}, item.assignee || muted('unassigned'), h('span', { class: 'sub' }, `team: ${label(item.owner)}`)),
              h('td', {}, when(item.opened_at)),
              h('td', {}, when(item.last_seen)),
              h('td', { class: 'num' }, number(item.count)),
              h('td', { class: 'num' }, number(item.level)),
              h('td', {}, actionsCell(item)));
          })))));
    }
    renderTable();

    const pages = pager({
      hasPrevious: Boolean(cursor),
      nextCursor: page && page.next_cursor,
      onPrevious: () => navigate(hashFor({ cursor: stack.pop() || '' })),
      onNext: () => { stack.push(cursor); navigate(hashFor({ cursor: page.next_cursor })); },
    });

    return [
      heading('Exceptions'),
      h('p', { class: 'lede' }, 'Problems brought to you, most severe first. Filter, sort, and act on each one.'),
      filterForm,
      h('div', { class: 'toolbar' }, field('Sort by', sortSelect, {
        class: 'inline', hint: 'Severity: most severe first, then oldest. Opened, last seen: newest first. Due: soonest first.',
      }), summary),
      feedback,
      tableHost,
      pages,
    ];
  },
};
