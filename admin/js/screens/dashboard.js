// Dashboard: orders per status, open exceptions by kind and severity, time in status per stage and
// supplier on-time rate. GET /staff/dashboard and GET /staff/metrics/stages, at the same time.

import * as api from '../api.js';
import { barChart, stackedBar } from '../charts.js';
import { EXCEPTION_KINDS, ORDER_STATUSES, SEVERITIES } from '../constants.js';
import { h } from '../dom.js';
import { duration, label, number, percent } from '../format.js';
import { badge, errorAlert, heading, link, section, table } from '../ui.js';

const STATUS_TONE = {
  on_hold: 'warn', placed: 'info', ordered: 'info', rejected: 'bad', cancelled: 'bad', completed: 'ok', delivered: 'ok',
};

function ordersSection(byStatus) {
  const statuses = [...ORDER_STATUSES, ...Object.keys(byStatus).filter((s) => !ORDER_STATUSES.includes(s))];
  const rows = statuses.map((status) => ({ status, count: byStatus[status] || 0 }));
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  return section('Orders by status',
    h('p', { class: 'big-number', 'data-testid': 'orders-total' }, number(total), h('span', {}, ' orders')),
    stackedBar({ title: 'Share of orders per status', items: rows.map((r) => ({ label: label(r.status), value: r.count, tone: STATUS_TONE[r.status] })) }),
    table({
      caption: 'Orders per status', testid: 'orders-by-status',
      columns: [
        { label: 'Status', cell: (r) => link(`#/orders?status=${r.status}`, label(r.status)) },
        { label: 'Orders', class: 'num', cell: (r) => number(r.count) },
      ],
      rows,
      rowAttrs: (r) => ({ 'data-status': r.status }),
    }));
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
  async render({ signal }) {
    const r = await api.parallel({
      dashboard: api.get('/staff/dashboard', undefined, { signal }),
      stages: api.get('/staff/metrics/stages', undefined, { signal }),
    });
    const d = r.dashboard.ok ? r.dashboard.value : null;
    return [
      heading('Dashboard'),
      h('div', { class: 'grid' },
        d ? ordersSection(d.orders_by_status || {}) : section('Orders by status', errorAlert(r.dashboard.error)),
        d ? exceptionsSection(d.open_exceptions || {}) : section('Open exceptions', errorAlert(r.dashboard.error))),
      h('div', { class: 'grid' },
        r.stages.ok ? stagesSection(r.stages.value) : section('Time in status per stage', errorAlert(r.stages.error)),
        d ? suppliersSection(d.suppliers || []) : section('Supplier on-time rate', errorAlert(r.dashboard.error))),
    ];
  },
};
