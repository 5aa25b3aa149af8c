// Purchase-order detail: GET /staff/purchase-orders/{id} — stage (and whether it waits for action
// now), deadline, reminders, amounts, lines, documents (the supplier's invoices, each with a
// presigned download link), payment proposals, parcels and its audit trail; Cancel for
// purchase_orders.cancel (POST .../cancel); for shipments.record_by_hand, a form to record a silent
// parcel's delivery, failed attempt or return (POST .../shipments/{id}/delivered | /events).
// GET .../complaints (the complaints about its deliveries) loads at the same time.

import * as api from '../api.js';
import { assignPanel } from '../assign-panel.js';
import { PO_STAGES } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, money, number, when } from '../format.js';
import {
  act, badge, code, errorAlert, errorSlot, facts, field, heading, link, muted, notice, section, select, table, textarea,
} from '../ui.js';
import { complaintTable } from './complaints.js';
import { auditTrail } from './order.js';

let flash = null;

/** The PO's parcels: the detail carries the first page; "More parcels" reads the next
 * (GET .../shipments?cursor=) and adds it to the table. */
function parcels(path, po) {
  const rows = [...(po.shipments || [])];
  let cursor = po.shipments_cursor || null;
  const host = h('div', { 'data-testid': 'po-parcels' });
  const slot = errorSlot();
  const render = () => {
    const more = cursor ? h('button', { type: 'button', 'data-testid': 'more-parcels' }, 'More parcels') : null;
    if (more) {
      more.addEventListener('click', async () => {
        more.disabled = true;
        try {
          const page = await api.get(`${path}/shipments`, { cursor });
          rows.push(...(page.items || []));
          cursor = page.next_cursor || null;
          render();
        } catch (error) {
          more.disabled = false;
          slot.show(error);
        }
      });
    }
    replace(host, table({
      caption: 'Parcels', testid: 'po-shipments',
      columns: [
        { label: 'Carrier', cell: (x) => x.carrier },
        { label: 'Tracking number', cell: (x) => link(x.tracking_url, x.tracking_number, { rel: 'noopener' }) },
        { label: 'Status', cell: (x) => badge(x.status) },
        { label: 'Orders', cell: (x) => h('span', {}, ...x.order_ids.flatMap((o, n) => [n ? ', ' : '', link(`#/orders/${encodeURIComponent(o)}`, o)])) },
      ],
      rows,
      empty: 'No parcels yet.',
    }), slot, more);
  };
  render();
  return host;
}

/** The stages as an ordered list, the current one marked. */
function stageProgress(po) {
  const current = PO_STAGES.indexOf(po.stage);
  const finished = po.status === 'shipped';
  return h('ol', { class: 'stages', 'aria-label': 'Stages', 'data-testid': 'po-stages' }, PO_STAGES.map((s, i) => {
    const state = finished || (current >= 0 && i < current) ? 'done' : i === current ? 'current' : 'todo';
    return h('li', { class: `stage stage-${state}`, 'aria-current': state === 'current' ? 'step' : null },
      label(s), state === 'done' ? h('span', { class: 'visually-hidden' }, ' (done)') : null);
  }));
}

export default {
  name: 'purchase-order',
  title: 'Purchase order',
  async render({ params, signal, can, reload, setTitle, me }) {
    const path = `/staff/purchase-orders/${encodeURIComponent(params.poId)}`;
    const r = await api.parallel({
      po: api.get(path, undefined, { signal }),
      complaints: api.get(`${path}/complaints`, undefined, { signal }),
    });
    if (!r.po.ok) throw r.po.error;
    const po = r.po.value;
    setTitle(`Purchase order ${po.id}`);
    const shown = flash;
    flash = null;

    let cancel = null;
    if (can('purchase_orders.cancel') && po.status === 'open') {
      const note = textarea('internal_note', { rows: 2 });
      const submit = h('button', { type: 'submit', class: 'danger' }, 'Cancel purchase order');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Cancel purchase order' },
        field('Internal note (optional)', note), h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        // The version shown: a PO changed since (a supplier acknowledged) is a 409 naming who, with Reload.
        const body = { expected_version: po.version, ...(note.value.trim() ? { internal_note: note.value } : {}) };
        if (await act(submit, slot, () => api.post(`${path}/cancel`, body))) { flash = 'The purchase order is cancelled.'; reload(); }
      });
      cancel = h('details', { class: 'panel-details' }, h('summary', {}, 'Cancel this purchase order'), form);
    }

    // A parcel whose carrier sends nothing: staff record what happened (the API's photo upload is
    // left to the supplier's page and API clients).
    let byHand = null;
    const openParcels = (po.shipments || []).filter((x) => !['delivered', 'returned_to_sender', 'superseded'].includes(x.status));
    if (can('shipments.record_by_hand') && openParcels.length) {
      const parcel = select('shipment_id', openParcels.map((x) => [x.id, `${x.carrier} ${x.tracking_number} (${label(x.status)})`]));
      const what = select('what', [['delivered', 'Delivered'], ['delivery_failed', 'Delivery failed'],
        ['returned_to_sender', 'Returned to sender']], 'delivered');
      const note = textarea('note', { rows: 2, required: true, maxlength: 1000 });
      const submit = h('button', { type: 'submit' }, 'Record');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Record a parcel event by hand', 'data-testid': 'parcel-by-hand' },
        field('Parcel', parcel), field('What happened', what),
        field('Internal note (required; never shown to the customer)', note), h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const base = `${path}/shipments/${encodeURIComponent(parcel.value)}`;
        const call = what.value === 'delivered'
          ? () => api.post(`${base}/delivered`, { note: note.value })
          : () => api.post(`${base}/events`, { status: what.value, note: note.value });
        if (await act(submit, slot, call)) { flash = `Recorded: ${label(what.value).toLowerCase()}.`; reload(); }
      });
      byHand = h('details', { class: 'panel-details' }, h('summary', {}, 'The carrier sends nothing: record by hand'), form);
    }

    const complaints = complaintTable(r.complaints, {
      caption: 'Complaints about this purchase order', testid: 'po-complaints', rowTestid: 'po-complaint-row',
      empty: 'No complaints about this purchase order\'s deliveries.', other: 'order',
    });

    return [
      heading(`Purchase order ${po.id}`, badge(po.status, { testid: 'po-status' })),
      shown ? notice(shown) : null,
      facts([
        // No stage: an open PO is between two (the workflow opens the next in a moment); a closed one has none left.
        ['Stage', po.stage ? badge(po.stage, { testid: 'po-stage' })
          : po.status === 'open' ? badge('between_stages', { testid: 'po-stage', text: 'between stages' })
            : badge(po.status, { testid: 'po-stage', text: `none (${label(po.status).toLowerCase()})` })],
        ['Waiting for', po.stage_open ? `the ${label(po.stage).toLowerCase()} step, now` : muted('the workflow (nothing to do now)')],
        ['Deadline', when(po.stage_deadline)],
        ['Reminders sent', Object.entries(po.reminders || {}).map(([s, n]) => `${label(s)}: ${n}`).join('; ') || '—'],
        ['Supplier', po.supplier_id],
        ['Campaign', link(`#/campaigns/${encodeURIComponent(po.campaign_id)}`, po.campaign_id)],
        ['Orders', number(po.order_count)],
        ['Created', when(po.created_at)],
      ], { testid: 'po-facts' }),
      stageProgress(po),
      section('Who works on it', assignPanel('purchase_order', po.id, me)),
      section('Amounts', facts([
        ['Ordered', money(po.ordered_cents, po.currency)],
        ['Accepted', money(po.accepted_cents, po.currency)],
        ['Invoiced', money(po.invoiced_cents, po.currency)],
        ['Proposed for payment', money(po.proposed_cents, po.currency)],
        ['Paid', money(po.paid_cents, po.currency)],
        ['Charged back', h('span', { 'data-testid': 'po-charge-back', 'data-cents': String(po.charge_back_cents || 0) },
          money(po.charge_back_cents || 0, po.currency), po.charge_backs && po.charge_backs.length
            ? ` (${po.charge_backs.length} complaint refund${po.charge_backs.length === 1 ? '' : 's'})` : '')],
      ], { testid: 'po-amounts' })),
      section('Lines', table({
        caption: 'Purchase-order lines', testid: 'po-lines',
        columns: [
          { label: 'SKU', cell: (l) => code(l.sku) },
          { label: 'Product', cell: (l) => l.name },
          { label: 'Ordered', class: 'num', cell: (l) => number(l.ordered_quantity) },
          { label: 'Accepted', class: 'num', cell: (l) => (l.accepted_quantity === null ? muted('not yet') : number(l.accepted_quantity)) },
          { label: 'Not accepted because', cell: (l) => (l.reject_reason ? label(l.reject_reason) : '—') },
          { label: 'Unit cost', class: 'num', cell: (l) => money(l.unit_cost_cents, po.currency) },
        ],
        rows: po.lines || [],
      })),
      section('Documents', table({
        caption: 'Invoices', testid: 'po-documents',
        columns: [
          { label: 'Invoice', cell: (i) => link(i.download_url, i.number, { 'data-testid': 'download-link', rel: 'noopener' }) },
          { label: 'Amount', class: 'num', cell: (i) => money(i.amount_cents, i.currency) },
          { label: 'Submitted', cell: (i) => when(i.created_at) },
        ],
        rows: po.invoices || [],
        empty: 'No invoices yet: they appear here once the supplier submits them.',
      })),
      section('Payment proposals', table({
        caption: 'Payment proposals', testid: 'po-proposals',
        columns: [
          { label: 'Amount', class: 'num', cell: (p) => money(p.amount_cents, p.currency) },
          { label: 'Status', cell: (p) => badge(p.status) },
          { label: 'Note', cell: (p) => p.note || '—' },
          { label: 'Proposed', cell: (p) => when(p.created_at) },
        ],
        rows: po.proposals || [],
        empty: 'No payment proposals yet.',
      })),
      section('Parcels', parcels(path, po), byHand),
      section('Complaints', complaints),
      cancel ? section('Cancel', cancel) : null,
      section('Audit trail', auditTrail(po.events, { testid: 'po-audit-trail' })),
    ];
  },
};
