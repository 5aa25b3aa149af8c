// Dashboard: my home first (GET /staff/home: my roles' work, each section the top of its queue with
// its count and links to act), then the trends (GET /staff/trends: orders per day, exceptions opened
// vs resolved, on-time rate per week) and the figures (GET /staff/dashboard, GET /staff/metrics/stages):
// orders per status, open exceptions by kind and severity, time per stage, supplier on-time rate.
// All four at the same time; the screen is shown when all but the trends are there (they follow). The home's lists are read again only when the menu's counts (polled by
// shell.js with an ETag) say something changed: the `waybill:counts` event with a new tag.

import * as api from '../api.js';
import { barChart, columnChart, stackedBar } from '../charts.js';
import { EXCEPTION_KINDS, ORDER_STATUSES, SEVERITIES, subjectHref } from '../constants.js';
import { h, replace } from '../dom.js';
import { duration, label, number, percent, when } from '../format.js';
import { badge, errorAlert, heading, link, section, table } from '../ui.js';
import { dueText } from './exceptions.js';

// ------------------------------------------------------------------ the home

function itemLine(item) {
  const exception = item.kind === 'exception';
  const proposal = item.kind === 'payment_proposal'; // decided on the payments screen; its PO is the subject
  const subjectLink = exception || proposal
    ? (subjectHref(item.subject_type, item.subject_id) ? link(subjectHref(item.subject_type, item.subject_id), item.subject_id) : item.subject_id)
    : link(subjectHref(item.kind, item.id), item.id, { 'data-testid': 'home-subject' });
  const due = item.due_at ? dueText({ due_at: item.due_at, status: 'open' }) : null;
  return h('li', { 'data-testid': 'home-item', 'data-kind': item.kind, 'data-id': item.id },
    badge(item.priority, { testid: 'home-priority' }),
    h('span', { class: 'what' },
      item.reason || item.title,
      item.reason ? h('span', { class: 'muted' }, ` (${item.title})`) : null,
      subjectLink ? [' · ', subjectLink] : null,
      exception ? [' · ', link(`#/exceptions/${encodeURIComponent(item.id)}`, 'Act on it', { 'data-testid': 'home-act' })] : null,
      proposal ? [' · ', link('#/payments', 'Decide', { 'data-testid': 'home-act' })] : null),
    h('span', { class: 'muted' }, 'since ', when(item.since)),
    due ? h('span', { class: due.overdue ? 'overdue' : 'muted', 'data-testid': 'home-due' }, due.text) : null,
    item.assignee ? h('span', { class: 'muted' }, `→ ${item.assignee}`) : null);
}

function queueHref(kinds) {
  return `#/exceptions?kind=${kinds.join(',')}`;
}

function homeSection(s) {
  return h('div', { 'data-testid': 'home-section', 'data-key': s.key },
    section(s.title,
      h('p', { class: 'home-count', 'data-testid': 'home-count' }, number(s.count),
        h('span', {}, s.key === 'assigned' ? ' assigned' : ' waiting')),
      s.items.length
        ? h('ul', { class: 'home-items' }, s.items.map(itemLine))
        : h('p', { class: 'empty' }, 'Nothing waiting.'),
      s.more && s.kinds.length ? h('p', {}, link(queueHref(s.kinds), `See all ${number(s.count)}`, { 'data-testid': 'home-more' })) : null,
      s.more && s.key === 'assigned' ? h('p', {}, link('#/my-work', 'See all assigned', { 'data-testid': 'home-more' })) : null));
}

function homeSections(home) {
  return h('div', { class: 'grid', 'data-testid': 'home', 'data-etag': home.counts.etag }, home.sections.map(homeSection));
}

// ------------------------------------------------------------------ the trends

const SHORT = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

function periodsOf(points, weekly) {
  return points.map((p) => {
    const d = new Date(`${p.period}T00:00:00Z`);
    return { key: p.period, label: weekly ? `Week of ${p.period}` : p.period, short: SHORT.format(d) };
  });
}

function trendsSection(trends) {
  const by = Object.fromEntries((trends.series || []).map((s) => [s.name, s]));
  const orders = by.orders ? by.orders.points : [];
  const exceptions = by.exceptions ? by.exceptions.points : [];
  const stages = by.stages ? by.stages.points : [];
  const sum = (points, key) => points.reduce((n, p) => n + (p.counts[key] || 0), 0);
  const rates = stages.map((p) => (p.counts.completed ? (p.counts.completed - p.counts.late) / p.counts.completed : null));
  const known = rates.filter((r) => r !== null);
  return section('Trends',
    h('div', { class: 'trend-grid' },
      columnChart({
        title: `Orders placed per day (last ${orders.length} days)`, testid: 'trend-orders',
        periods: periodsOf(orders, false),
        series: [{ key: 'placed', label: 'Orders placed', values: orders.map((p) => p.counts.placed) }],
        summary: `${number(sum(orders, 'placed'))} orders in all, ${number(orders.length ? orders[orders.length - 1].counts.placed : 0)} today.`,
      }),
      columnChart({
        title: `Exceptions opened and resolved per day (last ${exceptions.length} days)`, testid: 'trend-exceptions',
        periods: periodsOf(exceptions, false),
        series: [
          { key: 'opened', label: 'Opened', values: exceptions.map((p) => p.counts.opened) },
          { key: 'resolved', label: 'Resolved', values: exceptions.map((p) => p.counts.resolved) },
        ],
        summary: `${number(sum(exceptions, 'opened'))} opened and ${number(sum(exceptions, 'resolved'))} resolved in all.`,
      }),
      columnChart({
        title: `Purchase-order stages on time per week (last ${stages.length} weeks)`, testid: 'trend-on-time',
        periods: periodsOf(stages, true), max: 1, format: (v) => percent(v),
        series: [{ key: 'on_time', label: 'On time', values: rates }],
        extraColumns: [
          { label: 'Completed', values: stages.map((p) => number(p.counts.completed)) },
          { label: 'Late', values: stages.map((p) => number(p.counts.late)) },
        ],
        summary: known.length ? `Latest week with stages: ${percent(known[known.length - 1])} on time.` : 'No stage completed yet.',
      })));
}

/** The trends' place on the screen: "Loading…" until they arrive, then the charts (or the error). */
function trendsSlot(pending, isCurrent) {
  const slot = h('div', { 'data-testid': 'trends-slot', 'aria-busy': 'true' }, section('Trends', h('p', { class: 'muted' }, 'Loading trends…')));
  pending.then(
    (value) => { if (isCurrent()) replace(slot, trendsSection(value)); },
    (error) => { if (isCurrent() && error.name !== 'AbortError') replace(slot, section('Trends', errorAlert(error))); },
  ).finally(() => slot.removeAttribute('aria-busy'));
  return slot;
}

// ------------------------------------------------------------------ the figures

function ordersSection(byStatus) {
  const statuses = [...ORDER_STATUSES, ...Object.keys(byStatus).filter((s) => !ORDER_STATUSES.includes(s))];
  const rows = statuses.map((status) => ({ status, count: byStatus[status] || 0 }));
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  const some = rows.filter((r) => r.count > 0);
  return section('Orders by status',
    h('p', { class: 'big-number', 'data-testid': 'orders-total' }, number(total), h('span', {}, ' orders')),
    stackedBar({
      title: 'Share of orders per status', testid: 'orders-share',
      items: rows.map((r) => ({ key: r.status, label: label(r.status), value: r.count, href: `#/orders?status=${r.status}` })),
    }),
    h('details', { class: 'chart-table' }, h('summary', {}, `Every status (${some.length} with orders)`),
      table({
        caption: 'Orders per status', testid: 'orders-by-status',
        columns: [
          { label: 'Status', cell: (r) => link(`#/orders?status=${r.status}`, label(r.status)) },
          { label: 'Orders', class: 'num', cell: (r) => number(r.count) },
        ],
        rows,
        rowAttrs: (r) => ({ 'data-status': r.status }),
      })));
}

function exceptionsSection(open) {
  const bySeverity = open.by_severity || {};
  const byKind = Object.entries(open.by_kind || {}).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  return section('Open exceptions',
    h('p', { class: 'big-number', 'data-testid': 'open-exceptions-total' },
      link('#/exceptions', number(open.total || 0)), h('span', {}, ' open')),
    h('ul', { class: 'chips', 'aria-label': 'Open exceptions by severity', 'data-testid': 'exceptions-by-severity' },
      SEVERITIES.map((s) => h('li', {}, link(`#/exceptions?severity=${s}`, [badge(s, { testid: 'severity-badge' }), ` ${number(bySeverity[s] || 0)}`])))),
    table({
      caption: 'Open exceptions by kind', testid: 'exceptions-by-kind', empty: 'No open exceptions.',
      columns: [
        { label: 'Kind', cell: ([k]) => link(`#/exceptions?kind=${k}`, EXCEPTION_KINDS[k] || label(k)) },
        { label: 'Open', class: 'num', cell: ([, n]) => number(n) },
      ],
      rows: byKind,
    }));
}

function stagesSection(report) {
  const stages = report.stages || [];
  return section('Time in status per stage',
    barChart({
      title: 'Average time in each purchase-order stage', testid: 'stage-time-chart',
      items: stages.map((s) => ({ label: label(s.stage), value: s.avg_seconds, text: duration(s.avg_seconds), tone: s.on_time_rate !== null && s.on_time_rate < 0.8 ? 'bad' : '' })),
    }),
    table({
      caption: 'Purchase-order stages', testid: 'stage-metrics',
      columns: [
        { label: 'Stage', cell: (s) => label(s.stage) },
        { label: 'Completed', class: 'num', cell: (s) => number(s.completed) },
        { label: 'Average time', class: 'num', cell: (s) => duration(s.avg_seconds) },
        { label: 'On time', class: 'num', cell: (s) => percent(s.on_time_rate) },
        { label: 'Late', class: 'num', cell: (s) => number(s.late) },
        { label: 'Average lateness', class: 'num', cell: (s) => duration(s.avg_lateness_seconds) },
      ],
      rows: stages,
    }),
    (report.delays || []).length
      ? h('div', {}, h('h3', {}, 'Where delays happen'),
        h('ol', { class: 'plain-list', 'data-testid': 'delays' }, report.delays.map((d) => h('li', {},
          `${label(d.stage)}: ${number(d.late)} late, ${duration(d.late_seconds)} past deadlines in total`))))
      : null);
}

function suppliersSection(suppliers) {
  return section('Supplier on-time rate',
    barChart({
      title: 'Stages completed on time, per supplier', testid: 'supplier-ontime-chart', max: 1,
      items: suppliers.map((s) => ({ label: s.name || s.id, value: s.on_time_rate, text: percent(s.on_time_rate), tone: s.on_time_rate !== null && s.on_time_rate < 0.8 ? 'bad' : 'ok' })),
    }),
    table({
      caption: 'Suppliers', testid: 'supplier-metrics', empty: 'No suppliers yet.',
      columns: [
        { label: 'Supplier', cell: (s) => s.name || s.id },
        { label: 'Stages completed', class: 'num', cell: (s) => number(s.completed) },
        { label: 'Late', class: 'num', cell: (s) => (s.late === undefined ? '—' : number(s.late)) },
        { label: 'On time', class: 'num', cell: (s) => percent(s.on_time_rate) },
      ],
      rows: suppliers,
    }));
}

export default {
  name: 'dashboard',
  title: 'Dashboard',
  async render({ signal, me, isCurrent }) {
    // The trends come after the screen is shown (its first render waits for the lists, not the charts).
    const trends = api.get('/staff/trends', undefined, { signal });
    trends.catch(() => {}); // handled where it is shown; an abort needs no word
    const r = await api.parallel({
      home: api.get('/staff/home', undefined, { signal }),
      dashboard: api.get('/staff/dashboard', undefined, { signal }),
      stages: api.get('/staff/metrics/stages', undefined, { signal }),
    });
    const d = r.dashboard.ok ? r.dashboard.value : null;
    const roles = (me.roles || []).map((x) => label(x)).join(', ');
    const slot = h('div', { 'data-testid': 'home-slot' },
      r.home.ok ? homeSections(r.home.value) : section('My work', errorAlert(r.home.error)));
    if (r.home.ok) followCounts(slot, r.home.value.counts.etag, isCurrent);
    return [
      heading('Dashboard'),
      h('p', { class: 'lede', 'data-testid': 'home-roles' }, `What is waiting for you as ${roles || 'staff'}, most urgent first.`),
      slot,
      trendsSlot(trends, isCurrent),
      h('div', { class: 'grid' },
        d ? ordersSection(d.orders_by_status || {}) : section('Orders by status', errorAlert(r.dashboard.error)),
        d ? exceptionsSection(d.open_exceptions || {}) : section('Open exceptions', errorAlert(r.dashboard.error))),
      // the stages table has six columns: a row of its own, never a half-width column that clips it
      r.stages.ok ? stagesSection(r.stages.value) : section('Time in status per stage', errorAlert(r.stages.error)),
      d ? suppliersSection(d.suppliers || []) : section('Supplier on-time rate', errorAlert(r.dashboard.error)),
    ];
  },
};

/**
 * While this screen is the one shown, read the home again when the menu's counts change (their tag is
 * not the one the home was read with); the lists are replaced in place, focus stays where it was.
 */
function followCounts(slot, etag, isCurrent) {
  let shown = etag;
  let reading = false;
  const onCounts = async (event) => {
    if (!isCurrent() || !slot.isConnected) {
      window.removeEventListener('waybill:counts', onCounts);
      return;
    }
    const tag = event.detail && event.detail.etag;
    if (!tag || tag === shown || reading) return;
    reading = true;
    try {
      const fresh = await api.get('/staff/home');
      if (!isCurrent() || !slot.isConnected) return;
      shown = fresh.counts.etag;
      replace(slot, homeSections(fresh));
    } catch {
      // the last lists stay; the next change of the counts tries again
    } finally {
      reading = false;
    }
  };
  window.addEventListener('waybill:counts', onCounts);
}
