// Exceptions queue: GET /staff/exceptions (one page, ranked by severity then age, with counts per kind and
// severity; `status=resolved` lists resolved ones newest first), filters in the hash (folded away on a
// phone), a client-side "Sort by" on the loaded page, the row actions
// POST /staff/exceptions/{id}/acknowledge | assign | snooze | resolve, and the bulk bar's
// POST /staff/exceptions/bulk. After every action the list and its counts are read again, and keyboard
// focus stays on the row (or on the bulk bar). A team filter (the team owning each kind) narrows the
// queue and its counts. While the tab is visible the page reads itself again every 30 s: nothing is
// redrawn if nothing changed, and when something did, the selection and the focused control stay
// (a row being worked on, with a form open or a field focused, is never redrawn under the user).
// My saved views of the queue (GET /staff/views?screen=exceptions) are read with the first page, at the
// same time, and sit inside the filters' fold; applying one is going to its hash.

import * as api from '../api.js';
import { EXCEPTION_KINDS, QUEUE_STATUSES, SEVERITIES, SEVERITY_RANK, subjectHref } from '../constants.js';
import { h, replace } from '../dom.js';
import { duration, label, number, when } from '../format.js';
import { savedViews } from '../saved-views.js';
import {
  act, announce, badge, button, errorAlert, errorSlot, field, heading, input, muted, notice, pager, select, textarea,
} from '../ui.js';

const PAGE_SIZE = 50;
export const POLL_MS = 30000;
const TEAMS = ['buyer', 'accounting', 'logistics', 'customer_care', 'admin'];
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
    // What the Due column shows (due_at); without one, last.
    due: (a, b) => {
      const da = time(a.due_at);
      const db = time(b.due_at);
      return (Number.isNaN(da) ? Infinity : da) - (Number.isNaN(db) ? Infinity : db) || bySeverity(a, b);
    },
  }[sort] || bySeverity;
  return [...items].sort(compare);
}

/** The exception's reason in plain words: `details.reason` (a code is spelled out), else its title. */
export function reasonOf(item) {
  const raw = item.details && (item.details.reason ?? item.details.error);
  if (raw === null || raw === undefined || raw === '') return item.title;
  const text = String(raw);
  const words = /^[a-z0-9_]+$/.test(text) ? label(text) : text;
  return words.length > 160 ? `${words.slice(0, 157)}…` : words;
}

/** "due in 3 h" / "overdue by 2 d" from due_at (what time next does to it), or null. */
export function dueText(item, nowMs = Date.now()) {
  const due = time(item.due_at);
  if (Number.isNaN(due)) return null;
  const seconds = (due - nowMs) / 1000;
  if (item.status === 'snoozed') return { text: `back in ${duration(Math.max(seconds, 0))}`, overdue: false };
  return seconds >= 0
    ? { text: `due in ${duration(seconds)}`, overdue: false }
    : { text: `overdue by ${duration(-seconds)}`, overdue: true };
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
      team: query.get('team') || '',
    };
    const resolvedView = filters.status === 'resolved';
    let sort = query.get('sort') || (resolvedView ? 'resolved' : 'severity');
    const cursor = query.get('cursor') || '';
    const filterKey = JSON.stringify(filters);
    const stack = cursorStacks.get(filterKey) || [];
    cursorStacks.set(filterKey, stack);
    const handles = !resolvedView && can('exceptions.handle');

    const hashFor = (extra) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...filters, sort, ...extra })) if (v) params.set(k, v);
      const text = params.toString();
      return `#/exceptions${text ? `?${text}` : ''}`;
    };

    const filterSlot = errorSlot();
    let page = null;
    let counts = { total: 0, by_kind: {}, by_severity: {} };
    let items = [];
    const selected = new Set();

    /** What the page shows of an answer: equal fingerprints, nothing to redraw. */
    const fingerprint = (answer) => JSON.stringify([answer.counts, answer.next_cursor, answer.truncated,
      (answer.items || []).map((i) => [i.id, i.version, i.status, i.severity, i.assignee, i.due_at, i.count, i.last_seen])]);
    let shown = '';

    function take(answer) {
      page = answer;
      shown = fingerprint(answer);
      counts = page.counts || counts;
      items = page.items || [];
      for (const id of [...selected]) if (!items.some((i) => i.id === id)) selected.delete(id);
    }

    async function load() {
      take(await api.get('/staff/exceptions', { ...filters, limit: PAGE_SIZE, cursor }, { signal }));
    }
    // The first page and my saved views at once (a later read of the list is `load` alone).
    const first = await api.parallel({
      page: api.get('/staff/exceptions', { ...filters, limit: PAGE_SIZE, cursor }, { signal }),
      views: api.get('/staff/views', { screen: 'exceptions' }, { signal }),
    });
    if (first.page.ok) {
      take(first.page.value);
    } else {
      if (first.page.error.status === 401) throw first.page.error;
      filterSlot.show(first.page.error);
    }

    // -------------------------------------------------------------- filters (folded away on a phone)
    const kindText = (k, t) => `${t} (${counts.by_kind[k] ?? 0})`;
    const severityText = (s) => `${label(s)} (${counts.by_severity[s] ?? 0})`;
    const kindSelect = select('kind', [['', 'Any kind'], ...Object.entries(EXCEPTION_KINDS).map(([k, t]) => [k, kindText(k, t)])], filters.kind);
    const severitySelect = select('severity', [['', 'Any severity'], ...SEVERITIES.map((s) => [s, severityText(s)])], filters.severity);
    const statusSelect = select('status', [['', 'Open and acknowledged'], ...QUEUE_STATUSES.map((s) => [s, label(s)])],
      filters.status);
    const teamSelect = select('team', [['', 'Any team'], ...TEAMS.map((t) => [t, label(t)])], filters.team);
    const assigneeInput = input('assignee', { value: filters.assignee, placeholder: 'someone@waybill.example or none', autocomplete: 'off' });
    const filterForm = h('form', { class: 'form filters', 'aria-label': 'Filter exceptions' },
      field('Kind', kindSelect),
      field('Severity', severitySelect),
      field('Status', statusSelect),
      field('Team', teamSelect, { hint: 'The team that handles the kind.' }),
      field('Assignee', assigneeInput, { hint: 'An e-mail address, or "none" for the unassigned.' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Filter'),
        me.email ? button('Assigned to me', { onclick: () => navigate(hashFor({ assignee: me.email, cursor: '' })) }) : null,
        button('Reset', { onclick: () => navigate('#/exceptions') })),
      filterSlot);
    filterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      Object.assign(filters, {
        kind: kindSelect.value, severity: severitySelect.value, status: statusSelect.value,
        assignee: assigneeInput.value.trim(), team: teamSelect.value,
      });
      navigate(hashFor({ cursor: '', sort: filters.status === 'resolved' ? '' : sort }));
    });
    const active = [filters.kind, filters.severity, filters.assignee, filters.team].filter(Boolean).length;
    // A saved view holds the filters and the sort (when it is not the default), as the hash does.
    const viewHash = (values) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(values)) if (v) params.set(k, v);
      const text = params.toString();
      return `#/exceptions${text ? `?${text}` : ''}`;
    };
    const saved = savedViews({
      screen: 'exceptions',
      views: first.views,
      filters: () => ({ ...filters, sort: sort === (resolvedView ? 'resolved' : 'severity') ? '' : sort }),
      hashFor: viewHash,
      reload: () => navigate(location.hash),
    });
    const fold = h('details', { class: 'filters-fold', 'data-testid': 'filters-fold' },
      h('summary', {}, `Filters${active ? ` (${active} on)` : ''}`), filterForm, saved);
    // Open on a wide screen; on a phone folded, so the first row shows without scrolling.
    if (window.matchMedia && window.matchMedia('(min-width: 48em)').matches) fold.open = true;

    function refreshFacets() {
      for (const option of kindSelect.options) if (option.value) option.textContent = kindText(option.value, EXCEPTION_KINDS[option.value]);
      for (const option of severitySelect.options) if (option.value) option.textContent = severityText(option.value);
    }

    // -------------------------------------------------------------- open / resolved switch
    const queueLink = (text, status, testid) => h('a', {
      href: status ? `#/exceptions?status=${status}` : '#/exceptions',
      'aria-current': (status === 'resolved') === resolvedView ? 'page' : null,
      'data-testid': testid,
    }, text);
    const views = h('nav', { class: 'queue-views', 'aria-label': 'Which exceptions' },
      queueLink('Open', '', 'view-open'), queueLink('Resolved', 'resolved', 'view-resolved'));

    // -------------------------------------------------------------- sort
    const sortChoices = resolvedView ? [['resolved', 'Resolved (newest first)'], ...SORTS] : SORTS;
    const sortSelect = select('sort', sortChoices, sort);
    sortSelect.addEventListener('change', () => {
      sort = sortSelect.value;
      history.replaceState(null, '', hashFor({ cursor }));
      renderTable();
    });

    // -------------------------------------------------------------- table
    const tableHost = h('div', { class: 'table-host' });
    const feedback = h('div', { class: 'feedback' });
    const summary = h('p', { class: 'summary', 'data-testid': 'exceptions-summary', 'aria-live': 'polite' });

    /** Read the list and its counts again, redraw, and put focus back where the user acted. */
    async function reload(focus) {
      try {
        await load();
      } catch (error) {
        if (error.name === 'AbortError') return;
        replace(feedback, errorAlert(error));
      }
      refreshFacets();
      renderTable();
      renderBulk();
      if (typeof focus === 'function') focus();
    }

    /** Focus the row with this id or, when it left the list, the one that took its place. */
    function focusRow(id, index) {
      const rows = [...tableHost.querySelectorAll('[data-testid="exception-row"]')];
      const row = rows.find((r) => r.dataset.id === id) || rows[Math.min(index, rows.length - 1)];
      (row || tableHost.querySelector('.table-wrap') || summary).focus();
    }

    async function rowAction(control, slot, item, path, body, message) {
      const index = sortExceptions(items, sort).findIndex((i) => i.id === item.id);
      let conflict = null;
      const updated = await act(control, slot, async () => {
        try {
          return await api.post(`/staff/exceptions/${encodeURIComponent(item.id)}/${path}`, { ...body, expected_version: item.version });
        } catch (error) {
          if (error.status === 409 || error.status === 404) conflict = error;
          throw error;
        }
      });
      if (updated) {
        replace(feedback, notice(message(updated)));
        announce(message(updated));
      } else if (conflict) {
        replace(feedback, errorAlert(conflict, { title: 'Someone changed it since the list was read: it is read again.', reread: true }));
      } else {
        return;
      }
      await reload(() => focusRow(item.id, index));
    }

    function actionsCell(item) {
      if (!handles) return muted('—');
      const allowed = item.allowed_actions || [];
      const slot = errorSlot();
      const parts = [];
      if (allowed.includes('acknowledge')) {
        const ack = button('Acknowledge', { class: 'small' });
        ack.addEventListener('click', () => rowAction(ack, slot, item, 'acknowledge', {}, () => `Acknowledged: ${item.title}.`));
        parts.push(ack);
      }
      const more = [];
      if (allowed.includes('assign')) {
        const who = input('assignee', { type: 'email', value: item.assignee || me.email || '', autocomplete: 'off' });
        const go = h('button', { type: 'submit', class: 'small' }, 'Assign');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Assign' },
          field('Assignee e-mail', who, { hint: item.assignee ? 'Leave empty to unassign.' : null }), go);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          rowAction(go, slot, item, 'assign', { assignee: who.value.trim() || null },
            (u) => `Assigned to ${u.assignee || 'nobody'}: ${item.title}.`);
        });
        more.push(form);
      }
      if (allowed.includes('snooze')) {
        const length = select('duration', SNOOZES, 86400);
        const go = h('button', { type: 'submit', class: 'small' }, 'Snooze');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Snooze' }, field('Snooze for', length), go);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          const until = new Date(Date.now() + Number(length.value) * 1000).toISOString();
          rowAction(go, slot, item, 'snooze', { until }, () => `Snoozed: ${item.title}.`);
        });
        more.push(form);
      }
      if (allowed.includes('resolve')) {
        const note = textarea('note', { rows: 2, required: true });
        const go = h('button', { type: 'submit', class: 'small' }, 'Resolve');
        const form = h('form', { class: 'inline-form', 'aria-label': 'Resolve' }, field('Resolution note', note), go);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          rowAction(go, slot, item, 'resolve', { note: note.value }, () => `Resolved: ${item.title}.`);
        });
        more.push(form);
      }
      if (more.length) parts.push(h('details', { class: 'row-actions' }, h('summary', {}, 'More actions'), more));
      parts.push(slot);
      return h('div', { class: 'cell-actions' }, parts);
    }

    const nowMs = () => Date.now();
    const headAll = h('input', { type: 'checkbox', 'aria-label': 'Select every exception on this page', 'data-testid': 'select-all' });
    headAll.addEventListener('change', () => {
      for (const item of items) if (headAll.checked) selected.add(item.id); else selected.delete(item.id);
      for (const box of tableHost.querySelectorAll('input[data-testid="select-row"]')) box.checked = headAll.checked;
      renderBulk();
    });

    function rowCells(item) {
      const href = subjectHref(item.subject_type, item.subject_id);
      const subject = h('span', { 'data-testid': 'exception-subject' }, `${label(item.subject_type)} `,
        href ? h('a', { href }, item.subject_id) : item.subject_id);
      const age = duration((nowMs() - time(item.opened_at)) / 1000);
      const due = dueText(item, nowMs());
      const team = h('span', { class: 'sub', 'data-testid': 'exception-team' }, `team: ${label(item.owner)}`);
      const box = handles ? h('input', {
        type: 'checkbox', 'data-testid': 'select-row', 'aria-label': `Select: ${item.title}, ${item.subject_id}`,
        checked: selected.has(item.id),
      }) : null;
      if (box) {
        box.addEventListener('change', () => {
          if (box.checked) selected.add(item.id); else selected.delete(item.id);
          renderBulk();
        });
      }
      const cells = [
        handles ? h('td', { class: 'select' }, box) : null,
        h('td', {}, badge(item.severity, { testid: 'severity-badge' })),
        h('th', { scope: 'row' },
          h('a', { class: 'title', href: `#/exceptions/${encodeURIComponent(item.id)}`, 'data-testid': 'exception-link' }, reasonOf(item)),
          h('span', { class: 'sub', 'data-testid': 'exception-reason' }, item.title),
          h('span', { class: 'sub' }, subject, item.supplier_id ? ` · supplier ${item.supplier_id}` : '')),
      ];
      if (resolvedView) {
        return [...cells,
          h('td', {}, when(item.resolved_at)),
          h('td', {}, item.resolution || muted('—')),
          h('td', {}, item.assignee || muted('unassigned'), team)];
      }
      return [...cells,
        h('td', {}, badge(item.status), item.count > 1 ? h('span', { class: 'sub' }, `seen ${number(item.count)} times`) : null),
        h('td', { 'data-testid': 'exception-age' }, h('span', { title: item.opened_at }, age)),
        h('td', { 'data-testid': 'exception-due', class: due && due.overdue ? 'overdue' : null },
          due ? h('span', { title: item.due_at }, due.text) : muted('—')),
        h('td', {}, item.assignee || muted('unassigned'), team),
        h('td', {}, actionsCell(item))];
    }

    function renderTable() {
      if (!page) {
        summary.replaceChildren();
        tableHost.replaceChildren();
        return;
      }
      const sorted = sort === 'resolved' ? items : sortExceptions(items, sort);
      replace(summary, resolvedView
        ? `${items.length} resolved exception${items.length === 1 ? '' : 's'} on this page, newest first.`
        : page && page.truncated
          // The read stopped at its cap: counts of what was read (a filter the counters do not keep).
          ? `At least ${number(counts.total)} exception${counts.total === 1 ? '' : 's'} match (counted over the first ones read); ${items.length} on this page. Use Next to read on.`
          : `${number(counts.total)} exception${counts.total === 1 ? '' : 's'} match; ${items.length} on this page.`);
      if (!sorted.length) {
        replace(tableHost, h('p', { class: 'empty', 'data-testid': 'exceptions-table-empty' },
          resolvedView ? 'No resolved exceptions match.'
            : page && page.truncated ? 'None in the part of the queue read so far. Use Next to read on.'
              : 'No exceptions match. Nothing needs you here right now.'));
        return;
      }
      headAll.checked = items.length > 0 && items.every((i) => selected.has(i.id));
      const caption = `${resolvedView ? 'Resolved exceptions' : 'Exceptions'}, sorted by ${(sortChoices.find(([v]) => v === sort) || sortChoices[0])[1].toLowerCase()}`;
      const heads = resolvedView
        ? ['Severity', 'Reason and subject', 'Resolved', 'Resolution', 'Assignee and team']
        : ['Severity', 'Reason and subject', 'Status', 'Age', 'Due', 'Assignee and team', 'Actions'];
      replace(tableHost, h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': caption },
        h('table', { 'data-testid': 'exceptions-table', class: 'exceptions-queue' },
          h('caption', { class: 'visually-hidden' }, caption),
          h('thead', {}, h('tr', {},
            handles ? h('th', { scope: 'col', class: 'select' }, headAll) : null,
            heads.map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, sorted.map((item) => h('tr', {
            'data-testid': 'exception-row', 'data-id': item.id, 'data-severity': item.severity, 'data-kind': item.kind,
            'data-status': item.status, tabindex: '-1',
          }, rowCells(item)))))));
    }

    // -------------------------------------------------------------- bulk bar
    const bulkCount = h('p', { class: 'bulk-count', 'data-testid': 'bulk-count', tabindex: '-1' });
    const bulkSlot = errorSlot();
    const bulkAck = button('Acknowledge selected', { 'data-testid': 'bulk-acknowledge' });
    const bulkWho = input('bulk-assignee', { type: 'email', value: me.email || '', autocomplete: 'off' });
    const bulkAssign = button('Assign selected', { 'data-testid': 'bulk-assign' });
    const bulkLength = select('bulk-duration', SNOOZES, 86400);
    const bulkSnooze = button('Snooze selected', { 'data-testid': 'bulk-snooze' });
    const bulkBar = h('section', { class: 'bulk-bar', 'aria-label': 'Act on the selected exceptions', 'data-testid': 'bulk-bar' },
      bulkCount,
      h('div', { class: 'bulk-controls' },
        bulkAck,
        h('div', { class: 'bulk-group' }, field('Assign to', bulkWho, { class: 'inline' }), bulkAssign),
        h('div', { class: 'bulk-group' }, field('Snooze for', bulkLength, { class: 'inline' }), bulkSnooze)),
      bulkSlot);
    const controls = [bulkAck, bulkAssign, bulkSnooze];

    function renderBulk() {
      const n = selected.size;
      bulkBar.hidden = !handles;
      replace(bulkCount, n ? `${n} selected` : 'Select rows to act on several at once.');
      for (const c of controls) c.setAttribute('aria-disabled', n ? 'false' : 'true');
    }

    const OUTCOME_WORDS = {
      conflict: 'changed by someone else since the list was read',
      not_found: 'no longer there',
      refused: 'not allowed in its status',
    };

    async function bulk(control, action, extra, verb) {
      const ids = items.filter((i) => selected.has(i.id)).map((i) => i.id);
      if (!ids.length) {
        bulkSlot.show({ message: 'Select at least one row first.' });
        control.focus();
        return;
      }
      const expected_versions = Object.fromEntries(items.filter((i) => selected.has(i.id)).map((i) => [i.id, i.version]));
      const answer = await act(controls, bulkSlot, () => api.post('/staff/exceptions/bulk', { action, ids, expected_versions, ...extra }));
      if (!answer) {
        control.focus();
        return;
      }
      const misses = answer.results.filter((r) => r.outcome !== 'ok');
      const parts = [`${verb} ${answer.ok} of ${answer.results.length}.`];
      for (const [outcome, words] of Object.entries(OUTCOME_WORDS)) {
        const n = misses.filter((r) => r.outcome === outcome).length;
        if (n) parts.push(`${n} ${words}.`);
      }
      const message = parts.join(' ');
      // The ones that did not change stay selected, so they can be tried again once re-read.
      selected.clear();
      for (const r of misses) selected.add(r.id);
      replace(feedback, h('div', { class: misses.length ? 'notice warn' : 'notice', role: 'status', 'data-testid': 'bulk-result' }, message));
      announce(message);
      await reload(() => control.focus());
    }
    bulkAck.addEventListener('click', () => bulk(bulkAck, 'acknowledge', {}, 'Acknowledged'));
    bulkAssign.addEventListener('click', () => bulk(bulkAssign, 'assign', { assignee: bulkWho.value.trim() || null }, 'Assigned'));
    bulkSnooze.addEventListener('click', () => bulk(bulkSnooze, 'snooze',
      { until: new Date(Date.now() + Number(bulkLength.value) * 1000).toISOString() }, 'Snoozed'));

    renderTable();
    renderBulk();

    // -------------------------------------------------------------- reading itself again
    /** True while someone works on a row: a form or "More actions" open, a field of it focused, a request running. */
    function busy() {
      const active = document.activeElement;
      if (active && tableHost.contains(active) && active.matches('input:not([type="checkbox"]), textarea, select')) return true;
      return Boolean(tableHost.querySelector('details[open], [aria-busy="true"]')) || controls.some((c) => c.getAttribute('aria-busy') === 'true');
    }

    let polls = 0;
    async function poll() {
      if (document.hidden || signal.aborted || busy()) return;
      let answer;
      try {
        answer = await api.get('/staff/exceptions', { ...filters, limit: PAGE_SIZE, cursor }, { signal });
      } catch (error) {
        return; // the next tick tries again; an action's own errors are shown where it was taken
      } finally {
        polls += 1;
        tableHost.dataset.polls = String(polls); // how many reads the page made by itself (tests wait on it)
      }
      if (signal.aborted || busy() || fingerprint(answer) === shown) return;
      // The focused control, by its row and its role in it, to focus its counterpart after the redraw.
      const active = document.activeElement;
      const row = active && tableHost.contains(active) ? active.closest('[data-id]') : null;
      const which = row && active.dataset.testid ? `[data-testid="${active.dataset.testid}"]` : null;
      take(answer);
      refreshFacets();
      renderTable();
      renderBulk();
      if (row) {
        const again = tableHost.querySelector(`[data-id="${CSS.escape(row.dataset.id)}"]`);
        const target = again && ((which && again.querySelector(which)) || again);
        if (target) target.focus();
      }
    }
    const timer = setInterval(poll, POLL_MS);
    let hiddenAt = 0;
    const onVisibility = () => {
      if (document.hidden) hiddenAt = Date.now();
      else if (hiddenAt && Date.now() - hiddenAt >= POLL_MS) poll(); // back after a while: read at once
    };
    document.addEventListener('visibilitychange', onVisibility);
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    }, { once: true });

    const pages = pager({
      hasPrevious: Boolean(cursor),
      nextCursor: page && page.next_cursor,
      onPrevious: () => navigate(hashFor({ cursor: stack.pop() || '' })),
      onNext: () => { stack.push(cursor); navigate(hashFor({ cursor: page.next_cursor })); },
    });

    return [
      heading(resolvedView ? 'Resolved exceptions' : 'Exceptions'),
      h('p', { class: 'lede' }, resolvedView
        ? 'Problems already dealt with, the most recently resolved first.'
        : 'Problems brought to you, most severe first. Select several to act on them at once.'),
      views,
      fold,
      h('div', { class: 'toolbar' }, field('Sort by', sortSelect, {
        class: 'inline', hint: 'Severity: most severe first, then oldest. Opened, last seen: newest first. Due: soonest first.',
      }), summary),
      feedback,
      bulkBar,
      tableHost,
      pages,
    ];
  },
};
