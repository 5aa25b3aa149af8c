// Purchase orders: GET /staff/purchase-orders?stage=&campaign_id= (the POs waiting in a stage or in a
// status, or a campaign's; by default those waiting for the supplier's acknowledgement) and
// GET /staff/views for my saved views of this list, at the same time; cursor pagination.

import * as api from '../api.js';
import { PO_STAGES, PO_STATUSES } from '../constants.js';
import { h } from '../dom.js';
import { label, money, when } from '../format.js';
import { savedViews } from '../saved-views.js';
import { badge, button, errorSlot, field, heading, input, link, pager, select, table } from '../ui.js';

const PAGE_SIZE = 25;
const DEFAULT_STAGE = 'acknowledge'; // what a buyer chases first
// When the API document has not given the vocabularies yet (the list reads them from it).
const STAGES = ['acknowledge', 'invoice', 'payment_proposal', 'payment_approval', 'bank_payment', 'settlement', 'shipment'];
const STATUSES = ['open', 'rejected', 'cancelled', 'shipped'];
const cursorStacks = new Map();

export default {
  name: 'purchase-orders',
  title: 'Purchase orders',
  async render({ query, signal, navigate }) {
    const campaignId = (query.get('campaign_id') || '').trim();
    const filters = {
      // A campaign's POs in any stage, or everything waiting in one stage (the API needs one of them).
      stage: query.get('stage') || (campaignId ? '' : DEFAULT_STAGE),
      campaign_id: campaignId,
    };
    const cursor = query.get('cursor') || '';
    const filterKey = JSON.stringify(filters);
    const stack = cursorStacks.get(filterKey) || [];
    cursorStacks.set(filterKey, stack);

    const r = await api.parallel({
      pos: api.get('/staff/purchase-orders', { ...filters, limit: PAGE_SIZE, cursor }, { signal }),
      views: api.get('/staff/views', { screen: 'purchase_orders' }, { signal }),
    });

    const hashFor = (values, extra = {}) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) params.set(k, v);
      const text = params.toString();
      return `#/purchase-orders${text ? `?${text}` : ''}`;
    };

    // -------------------------------------------------------------- filters
    const stages = PO_STAGES.length ? PO_STAGES : STAGES;
    const statuses = (PO_STATUSES.length ? PO_STATUSES : STATUSES).filter((s) => !stages.includes(s));
    const stageSelect = select('stage', [
      ['', 'Any stage (needs a campaign)'],
      ...stages.map((s) => [s, `Waiting: ${label(s).toLowerCase()}`]),
      ...statuses.map((s) => [s, label(s)]),
    ], filters.stage);
    const campaignInput = input('campaign_id', { value: filters.campaign_id, autocomplete: 'off' });
    const slot = errorSlot();
    const form = h('form', { class: 'form filters', 'aria-label': 'Filter purchase orders' },
      field('Stage or status', stageSelect),
      field('Campaign id', campaignInput, { hint: 'Leave empty to list every campaign\'s.' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary' }, 'Filter'),
        button('Reset', { onclick: () => navigate('#/purchase-orders') })),
      slot);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(hashFor({ stage: stageSelect.value, campaign_id: campaignInput.value.trim() }));
    });

    // -------------------------------------------------------------- results
    let results = null;
    let pages = null;
    if (!r.pos.ok) {
      slot.show(r.pos.error);
    } else {
      const page = r.pos.value;
      const n = page.items.length;
      results = [
        h('p', { class: 'summary', 'data-testid': 'pos-summary', role: 'status' },
          n ? `${n} purchase order${n === 1 ? '' : 's'} on this page${page.next_cursor ? '; more on the next page' : ''}.`
            : 'No purchase orders match.'),
        table({
          caption: 'Purchase orders', testid: 'pos-table', empty: 'Try another stage or campaign.',
          columns: [
            { label: 'Purchase order', cell: (p) => link(`#/purchase-orders/${encodeURIComponent(p.id)}`, p.id, { 'data-testid': 'po-link' }) },
            { label: 'Campaign', cell: (p) => link(`#/campaigns/${encodeURIComponent(p.campaign_id)}`, p.campaign_id) },
            { label: 'Supplier', cell: (p) => p.supplier_id },
            { label: 'Status', cell: (p) => badge(p.status) },
            { label: 'Stage', cell: (p) => (p.stage ? badge(p.stage, { testid: 'po-stage' }) : '—') },
            { label: 'Deadline', cell: (p) => when(p.stage_deadline) },
            { label: 'Ordered', class: 'num', cell: (p) => money(p.ordered_cents, p.currency) },
          ],
          rows: page.items,
          rowAttrs: (p) => ({ 'data-testid': 'po-row', 'data-id': p.id, 'data-stage': p.stage || '' }),
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
      screen: 'purchase_orders', views: r.views, filters, hashFor: (values) => hashFor(values), reload: () => navigate(location.hash),
    });
    return [
      heading('Purchase orders'),
      h('p', { class: 'lede' }, 'What each supplier has been asked for, and the stage it waits in.'),
      form,
      views,
      results,
      pages,
    ];
  },
};
