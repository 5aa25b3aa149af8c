// Order search: GET /staff/orders with q (an order id, a customer e-mail or a tracking number: the
// API decides) and the filters, cursor pagination; GET /staff/suppliers for the supplier choice and
// GET /staff/views for my saved views of this list, at the same time. Several statuses may be chosen at
// once (`status=a,b`: the API merges them newest first).

import * as api from '../api.js';
import { ORDER_STATUSES } from '../constants.js';
import { h } from '../dom.js';
import { dayBound, money, when } from '../format.js';
import { savedViews } from '../saved-views.js';
import { badge, button, checkbox, errorSlot, field, heading, input, link, pager, select, table } from '../ui.js';

const FILTERS = ['q', 'status', 'campaign_id', 'supplier_id', 'customer_id', 'customer_email', 'created_from', 'created_to'];
const PAGE_SIZE = 25;
const cursorStacks = new Map();

export default {
  name: 'orders',
  title: 'Orders',
  async render({ query, signal, navigate }) {
    const filters = Object.fromEntries(FILTERS.map((k) => [k, (query.get(k) || '').trim()]));
    const cursor = query.get('cursor') || '';
    const filterKey = JSON.stringify(filters);
    const stack = cursorStacks.get(filterKey) || [];
    cursorStacks.set(filterKey, stack);

    const apiQuery = {
      ...filters,
      created_from: dayBound(filters.created_from),
      created_to: dayBound(filters.created_to, true),
      limit: PAGE_SIZE,
      cursor,
    };
    const r = await api.parallel({
      orders: api.get('/staff/orders', apiQuery, { signal }),
      suppliers: api.get('/staff/suppliers', { limit: 100 }, { signal }),
      views: api.get('/staff/views', { screen: 'orders' }, { signal }),
    });

    const hashFor = (values, extra = {}) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) params.set(k, v);
      const text = params.toString();
      return `#/orders${text ? `?${text}` : ''}`;
    };

    // -------------------------------------------------------------- the form
    const qInput = input('q', { type: 'search', value: filters.q, autocomplete: 'off', spellcheck: 'false' });
    const chosen = new Set(filters.status.split(',').filter(Boolean));
    const statusBoxes = ORDER_STATUSES.map((s) => checkbox(s.replace(/_/g, ' '), {
      name: 'status', value: s, checked: chosen.has(s), 'data-testid': 'status-choice' }));
    const statusSummary = h('summary', { 'data-testid': 'status-summary' });
    const describeStatuses = () => {
      const picked = statusBoxes.filter((b) => b.input.checked).map((b) => b.input.value.replace(/_/g, ' '));
      statusSummary.textContent = picked.length ? `Status: ${picked.join(', ')}` : 'Status: any';
    };
    describeStatuses();
    const statusPicker = h('details', { class: 'status-picker', 'data-testid': 'status-picker', onchange: describeStatuses },
      statusSummary,
      h('fieldset', {}, h('legend', { class: 'visually-hidden' }, 'Statuses to list (none: any)'), statusBoxes));
    const suppliers = r.suppliers.ok ? r.suppliers.value.items : [];
    const supplierControl = suppliers.length
      ? select('supplier_id', [['', 'Any supplier'], ...suppliers.map((s) => [s.id, `${s.name} (${s.id})`])], filters.supplier_id)
      : input('supplier_id', { value: filters.supplier_id, autocomplete: 'off' });
    const campaignInput = input('campaign_id', { value: filters.campaign_id, autocomplete: 'off' });
    const customerInput = input('customer_id', { value: filters.customer_id, autocomplete: 'off' });
    const emailInput = input('customer_email', { type: 'email', value: filters.customer_email, autocomplete: 'off' });
    const fromInput = input('created_from', { type: 'date', value: filters.created_from });
    const toInput = input('created_to', { type: 'date', value: filters.created_to });
    const more = [filters.campaign_id, filters.customer_id, filters.customer_email, filters.created_from, filters.created_to].some(Boolean);
    const slot = errorSlot();

    const form = h('form', { class: 'form filters', role: 'search', 'aria-label': 'Search orders' },
      field('Order id, customer e-mail or tracking number', qInput, { class: 'wide' }),
      h('div', { class: 'field' }, statusPicker),
      field('Supplier', supplierControl),
      h('details', { class: 'more-filters', open: more },
        h('summary', {}, 'More filters'),
        h('div', { class: 'form-row' },
          field('Campaign id', campaignInput),
          field('Customer id', customerInput),
          field('Customer e-mail', emailInput),
          field('Created from', fromInput),
          field('Created to', toInput))),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Search'),
        button('Clear', { onclick: () => navigate('#/orders') })),
      slot);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(hashFor({
        q: qInput.value.trim(),
        status: statusBoxes.filter((b) => b.input.checked).map((b) => b.input.value).join(','),
        supplier_id: supplierControl.value.trim(),
        campaign_id: campaignInput.value.trim(), customer_id: customerInput.value.trim(),
        customer_email: emailInput.value.trim(), created_from: fromInput.value, created_to: toInput.value,
      }));
    });

    // -------------------------------------------------------------- results
    let results = null;
    let pages = null;
    if (!r.orders.ok) {
      slot.show(r.orders.error);
    } else {
      const page = r.orders.value;
      const searched = filters.q ? ` for “${filters.q}”` : '';
      // The box matches whole ids, e-mails and tracking numbers; when that finds nothing, what merely
      // starts so (the header's search) is offered instead: one more request, only then.
      const starting = !page.items.length && !cursor && filters.q.length >= 2
        ? await api.get('/staff/search', { q: filters.q }, { signal }).catch(() => null)
        : null;
      results = [
        h('p', { class: 'summary', 'data-testid': 'orders-summary', role: 'status' },
          page.items.length
            ? `${page.items.length} order${page.items.length === 1 ? '' : 's'}${searched} on this page${page.next_cursor ? '; more on the next page' : ''}.`
            : `No orders found${searched}.`),
        starting && starting.items.length
          ? h('section', { class: 'panel', 'aria-labelledby': 'starting-with', 'data-testid': 'starting-with' },
            h('h2', { id: 'starting-with' }, `Starting with “${filters.q}”`),
            h('ul', {}, starting.items.map((x) => h('li', {}, link(x.link, x.label, { 'data-kind': x.kind })))))
          : null,
        table({
          caption: 'Orders', testid: 'orders-table', empty: 'Try another search or fewer filters.',
          columns: [
            { label: 'Order', cell: (o) => link(`#/orders/${encodeURIComponent(o.id)}`, o.id, { 'data-testid': 'order-link' }) },
            { label: 'Status', cell: (o) => badge(o.status, { testid: 'order-status' }) },
            { label: 'Customer', cell: (o) => [o.customer_email || o.customer_id, h('span', { class: 'sub' }, o.customer_id)] },
            { label: 'Total', class: 'num', cell: (o) => money(o.total_cents, o.currency) },
            { label: 'Suppliers', cell: (o) => (o.supplier_ids || []).join(', ') },
            { label: 'Campaign', cell: (o) => link(`#/campaigns/${encodeURIComponent(o.campaign_id)}`, o.campaign_id) },
            { label: 'Created', cell: (o) => when(o.created_at) },
          ],
          rows: page.items,
          rowAttrs: (o) => ({ 'data-testid': 'order-row', 'data-id': o.id, 'data-status': o.status }),
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
      screen: 'orders', views: r.views, filters, hashFor: (values) => hashFor(values), reload: () => navigate(location.hash),
    });
    return [heading('Orders'), form, views, results, pages];
  },
};
