// Exports: run one (POST /staff/exports), list recent runs (GET /staff/exports), and for a finished
// run fetch its presigned download link (GET /staff/exports/{id}). Runs still queued or running
// are read again every few seconds while the screen is open.

import * as api from '../api.js';
import { EXPORTERS, EXPORT_KINDS, EXPORT_STATES } from '../constants.js';
import { h, replace } from '../dom.js';
import { dayBound, label, number, when } from '../format.js';
import { act, badge, button, code, errorSlot, field, heading, input, muted, notice, pager, section, select, table } from '../ui.js';

const cursorStacks = [];
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function bytes(n) {
  if (n === null || n === undefined) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export default {
  name: 'exports',
  title: 'Exports',
  async render({ query, signal, can, navigate, isCurrent }) {
    const cursor = query.get('cursor') || '';
    const listSlot = errorSlot();
    let page = null;
    try {
      page = await api.get('/staff/exports', { limit: 25, cursor }, { signal });
    } catch (error) {
      if (error.name === 'AbortError' || error.status === 401) throw error;
      listSlot.show(error);
    }
    let runs = page ? [...page.items] : [];
    const listHost = h('div');

    function downloadCell(run) {
      if (run.status !== 'done') return run.error ? h('span', { class: 'error-text' }, run.error) : muted('—');
      const holder = h('div', { class: 'cell-actions' });
      const slot = errorSlot();
      const get = button('Download', { class: 'small' });
      get.addEventListener('click', async () => {
        const detail = await act(get, slot, () => api.get(`/staff/exports/${encodeURIComponent(run.id)}`));
        if (!detail) return;
        if (!detail.download_url) {
          slot.show({ message: 'The API gave no download link for this run.' });
          return;
        }
        const a = h('a', { href: detail.download_url, download: `${run.kind}-${run.id}.${run.format}`, 'data-testid': 'download-link', class: 'button-link' },
          `Download ${run.kind}.${run.format}`);
        replace(holder, a, detail.download_expires_at ? h('span', { class: 'sub' }, 'link valid until ', when(detail.download_expires_at)) : null);
        a.focus();
      });
      return replace(holder, get, slot);
    }

    function renderList() {
      replace(listHost, table({
        caption: 'Recent export runs', testid: 'exports-table', empty: 'No exports yet.',
        columns: [
          { label: 'Run', cell: (x) => code(x.id) },
          { label: 'What', cell: (x) => [`${label(x.kind)} (${x.format.toUpperCase()})`, x.exporter ? h('span', { class: 'sub' }, x.exporter) : null, x.state ? h('span', { class: 'sub' }, `state ${x.state}`) : null] },
          { label: 'Status', cell: (x) => badge(x.status, { testid: 'export-status' }) },
          { label: 'Rows', class: 'num', cell: (x) => number(x.rows) },
          { label: 'Size', class: 'num', cell: (x) => bytes(x.size_bytes) },
          { label: 'Requested', cell: (x) => [when(x.requested_at), h('span', { class: 'sub' }, x.requested_by)] },
          { label: 'Finished', cell: (x) => when(x.finished_at) },
          { label: 'File', cell: downloadCell },
        ],
        rows: runs,
        rowAttrs: (x) => ({ 'data-testid': 'export-row', 'data-id': x.id, 'data-status': x.status }),
      }));
    }
    renderList();

    /** Read the list again while some run is queued or running (at most a minute). */
    let polling = false;
    async function poll() {
      if (polling || !page || cursor) return;
      polling = true;
      for (let i = 0; i < 30 && isCurrent() && runs.some((x) => ['queued', 'running'].includes(x.status)); i += 1) {
        await sleep(2000);
        if (!isCurrent()) break;
        try {
          const fresh = await api.get('/staff/exports', { limit: 25 });
          const before = JSON.stringify(runs.map((x) => [x.id, x.status, x.rows]));
          runs = fresh.items;
          if (JSON.stringify(runs.map((x) => [x.id, x.status, x.rows])) !== before) renderList();
        } catch {
          break;
        }
      }
      polling = false;
    }

    // -------------------------------------------------------------- run one
    let form = null;
    if (can('exports.run')) {
      const kind = select('kind', EXPORT_KINDS.map((k) => [k, label(k)]), 'orders');
      const format = select('format', [['csv', 'CSV'], ['xlsx', 'Excel (XLSX)']], 'csv');
      const exporter = select('exporter', []);
      const state = select('state', []);
      const from = input('created_from', { type: 'date' });
      const to = input('created_to', { type: 'date' });
      const fill = () => {
        replace(exporter, h('option', { value: '' }, 'None: a plain export of the window'),
          (EXPORTERS[kind.value] || []).map(([v, t]) => h('option', { value: v }, `${t} (${v})`)));
        replace(state, h('option', { value: '' }, 'Any state'), (EXPORT_STATES[kind.value] || []).map((s) => h('option', { value: s }, label(s))));
      };
      kind.addEventListener('change', fill);
      fill();
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Run export');
      const slot = errorSlot();
      const done = h('div');
      form = h('form', { class: 'form', 'aria-label': 'Run an export' },
        h('div', { class: 'form-row' },
          field('Records', kind),
          field('Format', format),
          field('Exporter', exporter, { hint: 'An audited exporter takes each record once; later runs continue where it stopped.' }),
          field('State', state),
          field('Created from', from),
          field('Created to', to, { hint: 'Default: now.' })),
        h('div', { class: 'actions' }, submit), slot, done);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        done.replaceChildren();
        const body = { kind: kind.value, format: format.value };
        if (exporter.value) body.exporter = exporter.value;
        if (state.value) body.state = state.value;
        if (from.value) body.created_from = dayBound(from.value);
        if (to.value) body.created_to = dayBound(to.value, true);
        const run = await act(submit, slot, () => api.post('/staff/exports', body), { success: 'Export requested.' });
        if (!run) return;
        replace(done, notice(`Export ${run.id} is ${run.status}.`));
        if (!cursor) {
          runs = [run, ...runs.filter((x) => x.id !== run.id)];
          renderList();
          poll();
        }
      });
    }
    poll();

    return [
      heading('Exports'),
      form ? section('Run an export', form) : null,
      section('Recent runs', listSlot, listHost,
        h('div', { class: 'actions' }, button('Refresh', { onclick: () => navigate(location.hash) })),
        page ? pager({
          hasPrevious: Boolean(cursor),
          nextCursor: page.next_cursor,
          onPrevious: () => {
            const previous = cursorStacks.pop() || '';
            navigate(previous ? `#/exports?cursor=${encodeURIComponent(previous)}` : '#/exports');
          },
          onNext: () => { cursorStacks.push(cursor); navigate(`#/exports?cursor=${encodeURIComponent(page.next_cursor)}`); },
        }) : null),
    ];
  },
};
