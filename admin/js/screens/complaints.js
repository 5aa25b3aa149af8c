// Complaints queue: GET /staff/complaints?status=&supplier_id= (by default the statuses waiting for
// customer care: open, supplier answered, disputed, needs approval, plan proposed),
// GET /staff/suppliers for the supplier choice and GET /staff/views for my saved views of this list, at
// the same time; cursor pagination.

import * as api from '../api.js';
import { COMPLAINT_CARE_STATUSES, COMPLAINT_STATUSES } from '../constants.js';
import { h } from '../dom.js';
import { label, money, when } from '../format.js';
import { savedViews } from '../saved-views.js';
import { badge, button, errorAlert, errorSlot, field, heading, input, link, pager, select, table } from '../ui.js';

/** The complaints of one order or PO, as a table (`testid`, rows `<testid>-row`... see rowTestid). The
 * first column after the complaint names the other side: the supplier on an order, the order on a PO. */
export function complaintTable(result, { caption, testid, rowTestid, empty, other }) {
  if (!result.ok) return errorAlert(result.error);
  const otherColumn = other === 'order'
    ? { label: 'Order', cell: (x) => link(`#/orders/${encodeURIComponent(x.order_id)}`, x.order_id) }
    : { label: 'Supplier', cell: (x) => x.supplier_id };
  return table({
    caption, testid, empty,
    columns: [
      { label: 'Complaint', cell: (x) => link(`#/complaints/${encodeURIComponent(x.id)}`, x.id, { 'data-testid': 'complaint-link' }) },
      otherColumn,
      { label: 'Reason', cell: (x) => label(x.reason) },
      { label: 'Status', cell: (x) => badge(x.status, { testid: 'complaint-status' }) },
      { label: 'Refund', class: 'num', cell: (x) => (x.refund_cents ? money(x.refund_cents, x.currency) : '—') },
      { label: 'Opened', cell: (x) => when(x.opened_at) },
    ],
    rows: result.value.items || [],
    rowAttrs: (x) => ({ 'data-testid': rowTestid, 'data-id': x.id, 'data-status': x.status }),
  });
}

const PAGE_SIZE = 25;
const CARE = 'care'; // the default filter: every status in COMPLAINT_CARE_STATUSES
const ANY = 'any';
const cursorStacks = new Map();

/** The API's status filter for the select's value (comma-separated, like /staff/exceptions). */
function statusQuery(status) {
  if (status === CARE) return COMPLAINT_CARE_STATUSES;
  if (status === ANY) return undefined;
  return status;
}

export default {
  name: 'complaints',
  title: 'Complaints',
  async render({ query, signal, navigate }) {
    const filters = {
      status: query.get('status') || CARE,
      supplier_id: (query.get('supplier_id') || '').trim(),
    };
    const cursor = query.get('cursor') || '';
    const filterKey = JSON.stringify(filters);
    const stack = cursorStacks.get(filterKey) || [];
    cursorStacks.set(filterKey, stack);

    const r = await api.parallel({
      complaints: api.get('/staff/complaints', {
        status: statusQuery(filters.status), supplier_id: filters.supplier_id, limit: PAGE_SIZE, cursor,
      }, { signal }),
      suppliers: api.get('/staff/suppliers', { limit: 100 }, { signal }),
      views: api.get('/staff/views', { screen: 'complaints' }, { signal }),
    });

    const hashFor = (values, extra = {}) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...values, ...extra })) if (v && !(k === 'status' && v === CARE)) params.set(k, v);
      const text = params.toString();
      return `#/complaints${text ? `?${text}` : ''}`;
    };

    // -------------------------------------------------------------- filters
    const statusSelect = select('status', [
      [CARE, 'Waiting for customer care'],
      [ANY, 'Any status'],
      ...COMPLAINT_STATUSES.map((s) => [s, label(s)]),
    ], filters.status);
    const suppliers = r.suppliers.ok ? r.suppliers.value.items : [];
    const supplierControl = suppliers.length
      ? select('supplier_id', [['', 'Any supplier'], ...suppliers.map((s) => [s.id, `${s.name} (${s.id})`])], filters.supplier_id)
      : input('supplier_id', { value: filters.supplier_id, autocomplete: 'off' });
    const slot = errorSlot();
    const form = h('form', { class: 'form filters', 'aria-label': 'Filter complaints' },
      field('Status', statusSelect, { hint: `Waiting for customer care: ${COMPLAINT_CARE_STATUSES.map((s) => label(s).toLowerCase()).join(', ')}.` }),
      field('Supplier', supplierControl),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Filter'),
        button('Reset', { onclick: () => navigate('#/complaints') })),
      slot);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(hashFor({ status: statusSelect.value, supplier_id: supplierControl.value.trim() }));
    });

    // -------------------------------------------------------------- results
    let results = null;
    let pages = null;
    if (!r.complaints.ok) {
      slot.show(r.complaints.error);
    } else {
      const page = r.complaints.value;
      const n = page.items.length;
      results = [
        h('p', { class: 'summary', 'data-testid': 'complaints-summary', role: 'status' },
          n ? `${n} complaint${n === 1 ? '' : 's'} on this page${page.next_cursor ? '; more on the next page' : ''}.`
            : 'No complaints match.'),
        table({
          caption: 'Complaints', testid: 'complaints-table',
          empty: filters.status === CARE ? 'No complaint is waiting for customer care.' : 'Try another status or supplier.',
          columns: [
            { label: 'Complaint', cell: (c) => link(`#/complaints/${encodeURIComponent(c.id)}`, c.id, { 'data-testid': 'complaint-link' }) },
            { label: 'Order', cell: (c) => link(`#/orders/${encodeURIComponent(c.order_id)}`, c.order_id) },
            { label: 'Reason', cell: (c) => [label(c.reason), h('span', { class: 'sub' }, `wants ${label(c.wanted_resolution).toLowerCase()}`)] },
            { label: 'Status', cell: (c) => [badge(c.status, { testid: 'complaint-status' }),
              c.needs_approval && c.status !== 'needs_approval' ? h('span', { class: 'sub' }, 'above the approval threshold') : null] },
            { label: 'Refund', class: 'num', cell: (c) => (c.refund_cents ? money(c.refund_cents, c.currency) : '—') },
            { label: 'Opened', cell: (c) => when(c.opened_at) },
            { label: 'Supplier', cell: (c) => c.supplier_id },
            { label: 'Customer', cell: (c) => c.customer_email || '—' },
          ],
          rows: page.items,
          rowAttrs: (c) => ({ 'data-testid': 'complaint-row', 'data-id': c.id, 'data-order': c.order_id, 'data-status': c.status }),
        }),
      ];
      pages = pager({
        hasPrevious: Boolean(cursor),
        nextCursor: page.next_cursor,
        onPrevious: () => navigate(hashFor(filters, { cursor: stack.pop() || '' })),
        onNext: () => { stack.push(cursor); navigate(hashFor(filters, { cursor: page.next_cursor })); },
      });
    }
    const views = savedViews({
      screen: 'complaints', views: r.views, filters, hashFor: (values) => hashFor(values), reload: () => navigate(location.hash),
    });
    return [
      heading('Complaints'),
      h('p', { class: 'lede' }, 'Customers\' complaints about their deliveries: ask the supplier, propose a plan, see it through.'),
      form,
      views,
      results,
      pages,
    ];
  },
};
