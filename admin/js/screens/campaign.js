// Campaign detail: GET /staff/campaigns/{id}, GET /staff/purchase-orders?campaign_id=...,
// GET /staff/metrics/campaigns/{id} and GET /staff/campaigns/{id}/charge-backs (what each supplier
// is charged back for complaints), all at once. For catalogue.manage and per status: add products
// (draft), Go live (draft), Close (live or ended), Cancel campaign (draft or live).

import * as api from '../api.js';
import { h, replace } from '../dom.js';
import { duration, label, localInstant, money, number, percent, when } from '../format.js';
import {
  act, badge, button, code, errorAlert, errorSlot, facts, field, heading, input, link, notice, section, table, textarea,
} from '../ui.js';
import { productRows } from './campaigns.js';

let flash = null; // a confirmation to show after the screen reloads

export default {
  name: 'campaign',
  title: 'Campaign',
  async render({ params, signal, can, reload, setTitle }) {
    const id = params.campaignId;
    const base = `/staff/campaigns/${encodeURIComponent(id)}`;
    const r = await api.parallel({
      campaign: api.get(base, undefined, { signal }),
      pos: api.get('/staff/purchase-orders', { campaign_id: id, limit: 100 }, { signal }),
      metrics: api.get(`/staff/metrics/campaigns/${encodeURIComponent(id)}`, undefined, { signal }),
      chargeBacks: api.get(`${base}/charge-backs`, undefined, { signal }),
      suppliers: can('catalogue.manage') ? api.get('/staff/suppliers', { limit: 100 }, { signal }) : Promise.resolve({ items: [] }),
    });
    if (!r.campaign.ok) throw r.campaign.error;
    const c = r.campaign.value;
    setTitle(`Campaign ${c.name}`);
    const shown = flash;
    flash = null;
    const done = (message) => { flash = message; reload(); };

    // -------------------------------------------------------------- actions
    const manage = can('catalogue.manage');
    const actionParts = [];
    const slot = errorSlot();
    if (manage && c.status === 'draft') {
      const endsAt = input('ends_at', { type: 'datetime-local' });
      const goLive = h('button', { type: 'submit', class: 'primary' }, 'Go live');
      const form = h('form', { class: 'inline-form', 'aria-label': 'Go live' },
        field('Ends at (optional)', endsAt, { hint: 'Default: the campaign length setting from now.' }), goLive);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = { expected_version: c.version };
        const ends = localInstant(endsAt.value);
        if (ends) body.ends_at = ends;
        if (await act(goLive, slot, () => api.post(`${base}/go-live`, body))) done('The campaign is live.');
      });
      actionParts.push(form);
    }
    if (manage && ['live', 'ended'].includes(c.status)) {
      const close = button('Close', { class: 'primary' });
      close.addEventListener('click', async () => {
        if (await act(close, slot, () => api.post(`${base}/close`))) done('Closing started: the purchase orders follow once every order is sent (reload to follow it).');
      });
      actionParts.push(h('div', { class: 'inline-form' }, close,
        h('p', { class: 'hint' }, c.status === 'live' ? 'Ends the campaign now and sends the purchase orders.' : 'Sends the purchase orders.')));
    }
    if (manage && ['draft', 'live'].includes(c.status)) {
      const reason = textarea('reason', { rows: 2, required: true });
      const cancel = h('button', { type: 'submit', class: 'danger' }, 'Cancel campaign');
      const form = h('form', { class: 'inline-form', 'aria-label': 'Cancel campaign' }, field('Reason for cancelling', reason), cancel);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (await act(cancel, slot, () => api.post(`${base}/cancel`, { reason: reason.value, expected_version: c.version }))) done('The campaign is cancelled.');
      });
      actionParts.push(h('details', { class: 'panel-details' }, h('summary', {}, 'Cancel this campaign'), form));
    }

    // -------------------------------------------------------------- products
    let addProducts = null;
    if (manage && c.status === 'draft') {
      const suppliers = r.suppliers.ok ? r.suppliers.value.items : [];
      const rows = productRows(suppliers, () => c.currency);
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Add products');
      const pslot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Add products', novalidate: true }, rows.element, h('div', { class: 'actions' }, submit), pslot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (await act(submit, pslot, () => api.post(`${base}/products`, { products: rows.values() }))) done('Products added.');
      });
      addProducts = h('details', { class: 'panel-details' }, h('summary', {}, 'Add products'), form);
      rows.addRow();
    }

    // -------------------------------------------------------------- purchase orders and metrics
    const pos = r.pos.ok
      ? table({
        caption: 'Purchase orders', testid: 'campaign-pos', empty: c.status === 'closed' ? 'No purchase orders.' : 'Purchase orders are made when the campaign closes.',
        columns: [
          { label: 'Purchase order', cell: (p) => link(`#/purchase-orders/${encodeURIComponent(p.id)}`, p.id) },
          { label: 'Supplier', cell: (p) => p.supplier_id },
          { label: 'Status', cell: (p) => badge(p.status) },
          { label: 'Stage', cell: (p) => (p.stage ? badge(p.stage, { testid: 'po-stage' }) : '—') },
          { label: 'Deadline', cell: (p) => when(p.stage_deadline) },
          { label: 'Ordered', class: 'num', cell: (p) => money(p.ordered_cents, p.currency) },
          { label: 'Accepted', class: 'num', cell: (p) => money(p.accepted_cents, p.currency) },
        ],
        rows: r.pos.value.items,
        rowAttrs: (p) => ({ 'data-testid': 'po-row', 'data-id': p.id }),
      })
      : errorAlert(r.pos.error);

    // -------------------------------------------------------------- charge-backs
    // Owed after charge-backs: the PO's accepted amount (from the PO list above, no call per PO)
    // minus what its supplier is charged back; only when that PO is in the list, in the same currency.
    const posById = new Map(r.pos.ok ? r.pos.value.items.map((p) => [p.id, p]) : []);
    const poOf = (x) => {
      const p = posById.get(x.po_id);
      return p && p.currency === x.currency ? p : null;
    };
    const acceptedCell = (x) => {
      const p = poOf(x);
      return p ? money(p.accepted_cents, p.currency) : '—';
    };
    const owedCell = (x) => {
      const p = poOf(x);
      if (!p) return '—';
      const owed = Number(p.accepted_cents || 0) - Number(x.amount_cents || 0);
      return h('span', { 'data-testid': 'owed-after-charge-backs', 'data-cents': owed }, money(owed, p.currency));
    };
    let chargeBacks;
    if (r.chargeBacks.ok) {
      const rows = r.chargeBacks.value.suppliers || [];
      const currencies = [...new Set(rows.map((x) => x.currency))];
      const total = rows.reduce((sum, x) => sum + Number(x.amount_cents || 0), 0);
      const complaintsCount = rows.reduce((sum, x) => sum + Number(x.count || 0), 0);
      chargeBacks = [
        rows.length && currencies.length === 1
          ? h('p', { class: 'summary', 'data-testid': 'charge-backs-summary' },
            `${money(total, currencies[0])} charged back for ${number(complaintsCount)} complaint${complaintsCount === 1 ? '' : 's'}`
            + ` to ${number(rows.length)} supplier${rows.length === 1 ? '' : 's'}.`)
          : null,
        table({
          caption: 'Charge-backs per supplier', testid: 'charge-backs',
          empty: 'Nothing has been charged back to this campaign\'s suppliers for complaints.',
          columns: [
            { label: 'Supplier', cell: (x) => x.supplier_id },
            { label: 'Purchase order', cell: (x) => (x.po_id ? link(`#/purchase-orders/${encodeURIComponent(x.po_id)}`, x.po_id) : '—') },
            { label: 'Complaints', class: 'num', cell: (x) => number(x.count) },
            { label: 'Charged back', class: 'num', cell: (x) => money(x.amount_cents, x.currency) },
            { label: 'Accepted', class: 'num', cell: acceptedCell },
            { label: 'Owed after charge-backs', class: 'num', cell: owedCell },
          ],
          rows,
          rowAttrs: (x) => ({
            'data-testid': 'charge-back-row', 'data-supplier': x.supplier_id, 'data-po': x.po_id, 'data-cents': x.amount_cents,
          }),
        }),
        rows.length ? h('p', { class: 'hint' }, 'Owed after charge-backs: the purchase order\'s accepted amount less what its supplier is charged back.') : null,
      ];
    } else {
      chargeBacks = errorAlert(r.chargeBacks.error);
    }

    let metrics;
    if (r.metrics.ok) {
      const m = r.metrics.value;
      const s = m.summary;
      // Figures that still move (a PO not yet acknowledged) say so where they are read.
      const provisional = (text) => (s.margin_provisional
        ? h('span', { 'data-provisional': 'true' }, text, ' ', badge('provisional', { testid: 'provisional-badge', text: 'provisional' }))
        : text);
      metrics = [
        facts([
          ['Orders standing', number(s.orders)],
          ['Placed / cancelled', `${number(s.orders_placed)} / ${number(s.orders_cancelled)}`],
          ['Revenue', money(s.revenue_cents, c.currency)],
          ['Refunded', money(s.refunded_cents, c.currency)],
          ['Purchase orders acknowledged', number(s.purchase_orders)],
          ['Cost', provisional(money(s.cost_cents, c.currency))],
          ['Margin', provisional(money(s.margin_cents, c.currency))],
          ['Margin per order', provisional(money(s.margin_per_order_cents, c.currency))],
        ], { testid: 'campaign-summary' }),
        s.margin_provisional
          ? h('p', { class: 'hint', 'data-testid': 'margin-provisional' },
            `Provisional: ${number(s.purchase_orders)} of ${number(s.purchase_orders_created)} purchase orders acknowledged. `
            + 'The cost counts acknowledged orders only, so cost and margin will move until every supplier has acknowledged.')
          : null,
        table({
          caption: 'Time in stage', testid: 'campaign-stages',
          columns: [
            { label: 'Stage', cell: (x) => label(x.stage) },
            { label: 'Completed', class: 'num', cell: (x) => number(x.completed) },
            { label: 'Average time', class: 'num', cell: (x) => duration(x.avg_seconds) },
            { label: 'On time', class: 'num', cell: (x) => percent(x.on_time_rate) },
            { label: 'Late', class: 'num', cell: (x) => number(x.late) },
          ],
          rows: m.stages || [],
        }),
      ];
    } else {
      metrics = errorAlert(r.metrics.error);
    }

    return [
      heading(c.name, badge(c.status, { testid: 'campaign-status' })),
      shown ? notice(shown) : null,
      c.close && c.close.state === 'running'
        ? h('p', { role: 'status', 'data-testid': 'campaign-closing' }, `Closing: ${number(c.close.orders_done)} of ${number(c.close.orders_total)} orders`)
        : null,
      facts([
        ['Campaign id', code(c.id)],
        ['Currency', c.currency],
        ['Starts', when(c.starts_at)],
        ['Ends', when(c.ends_at)],
        ['Buyer', c.buyer_email || c.buyer_id],
        ['Suppliers', c.supplier_ids.join(', ') || '—'],
        ['Created', when(c.created_at)],
      ], { testid: 'campaign-facts' }),
      actionParts.length ? section('Actions', actionParts, slot) : null,
      section('Products',
        table({
          caption: 'Products', testid: 'campaign-products', empty: 'No products yet.',
          columns: [
            { label: 'SKU', cell: (p) => code(p.sku) },
            { label: 'Product', cell: (p) => p.name },
            { label: 'Supplier', cell: (p) => p.supplier_id },
            { label: 'Unit price', class: 'num', cell: (p) => money(p.unit_price_cents, c.currency) },
            { label: 'Unit cost', class: 'num', cell: (p) => money(p.unit_cost_cents, c.currency) },
          ],
          rows: c.products || [],
        }),
        addProducts),
      section('Purchase orders', pos),
      section('Charge-backs', chargeBacks),
      section('Figures', metrics),
    ];
  },
};
