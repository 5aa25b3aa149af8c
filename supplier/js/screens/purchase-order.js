// A purchase order (GET /supplier/purchase-orders/{po}) and everything the supplier does with it, in
// the order the steps come: acknowledge the lines (POST .../acknowledge), invoice (presigned upload,
// then POST .../invoices), propose payment (POST .../payment-proposals), pack from the packing list
// (GET .../orders, cursor-paged; its CSV from POST .../packing-list) and record parcels one by one
// (POST .../shipments) or from a CSV (POST .../shipments/import), correct a tracking number
// (PUT .../shipments/{id}; the parcels beyond the first page from GET .../shipments?cursor=); charge-backs and the complaints about its deliveries (GET .../complaints).
// While the workflow, not the supplier, has the next move, the screen polls the PO and re-renders
// when the step changes.

import * as api from '../../../admin/js/api.js';
import { h, replace, uid } from '../../../admin/js/dom.js';
import { label, money, number, toMinor, when } from '../../../admin/js/format.js';
import {
  act, announce, badge, button, checkbox, code, errorAlert, errorSlot, facts, field, heading, input, link, muted,
  notice, section, select, textarea,
} from '../../../admin/js/ui.js';
import { address, apiSpec, cards, enumOf, noSuchRoute, uploadTo } from '../common.js';

// The steps the supplier acts on; at the others (payment approval, bank payment, settlement, or
// between two steps) the screen waits for the workflow.
const SUPPLIER_STAGES = ['acknowledge', 'invoice', 'payment_proposal', 'shipment'];
const POLL_MS = 2000;
const POLL_LIMIT_MS = 5 * 60 * 1000;
const PACKING_PAGE = 50;

let flash = null;

const STEP_HELP = {
  acknowledge: 'Say how much of each line you can deliver.',
  invoice: 'Upload your invoice for what you accepted.',
  payment_proposal: 'Propose the payment, up to what you invoiced.',
  payment_approval: 'Waybill\'s accounting is approving your payment proposal.',
  bank_payment: 'The payment is on its way through the bank.',
  settlement: 'Waiting for the bank to confirm the payment.',
  shipment: 'Pack the orders below and record each parcel with its tracking number.',
};

function stepText(po) {
  if (po.stage) return STEP_HELP[po.stage] || label(po.stage);
  if (po.status === 'open') return 'Moving to the next step…';
  return `Nothing left to do: the purchase order is ${label(po.status).toLowerCase()}.`;
}

// ------------------------------------------------------------------ acknowledge

function acknowledgeForm(po, path, reasons, reload) {
  const rows = po.lines.map((l) => {
    const qty = input(`accepted_${l.sku}`, { type: 'number', min: 0, max: l.ordered_quantity, step: 1, value: l.ordered_quantity, required: true, inputmode: 'numeric' });
    const reason = select(`reason_${l.sku}`, [['', 'None: all accepted'], ...reasons.map((r) => [r, label(r)])], '');
    const set = h('fieldset', { class: 'line-ack', 'data-testid': 'ack-line', 'data-sku': l.sku },
      h('legend', {}, `${l.name} (${l.sku}): ${number(l.ordered_quantity)} ordered`),
      field('Accepted quantity', qty), field('Reason for the rest', reason, { hint: 'Required when you accept less than ordered.' }));
    return { l, qty, reason, set };
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Acknowledge');
  const slot = errorSlot();
  const form = h('form', { class: 'form', 'aria-label': 'Acknowledge the lines', 'data-testid': 'acknowledge-form', novalidate: true },
    rows.map((r) => r.set), h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const lines = rows.map(({ l, qty, reason }) => {
      const line = { sku: l.sku, accepted_quantity: Number(qty.value) };
      if (reason.value) line.reason = reason.value;
      return line;
    });
    if (await act(submit, slot, () => api.post(`${path}/acknowledge`, { lines }))) {
      flash = 'Acknowledged. The next step opens in a moment.';
      reload();
    }
  });
  return form;
}

// ------------------------------------------------------------------ invoices and payment

function invoiceForm(po, path, types, reload) {
  const file = h('input', { type: 'file', name: 'invoice', required: true, accept: types.join(',') });
  const numberInput = input('number', { required: true, maxlength: 64, autocomplete: 'off' });
  const amount = input('amount', { required: true, inputmode: 'decimal', value: (po.accepted_cents / 100).toFixed(2) });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit invoice');
  const slot = errorSlot();
  const form = h('form', { class: 'form', 'aria-label': 'Submit an invoice', 'data-testid': 'invoice-form', novalidate: true },
    field('Invoice file', file, { hint: `PDF or an image (${types.join(', ')}).` }),
    h('div', { class: 'form-row' }, field('Invoice number', numberInput), field(`Amount (${po.currency})`, amount)),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files && file.files[0];
    const cents = toMinor(amount.value, po.currency);
    if (!chosen) { slot.show({ message: 'Choose the invoice file.' }); return; }
    if (Number.isNaN(cents)) { slot.show({ message: 'Write the amount as a number, e.g. 1250.00.' }); return; }
    const done = await act(submit, slot, async () => {
      const presigned = await api.post(`${path}/invoices/upload`, { content_type: chosen.type });
      await uploadTo(presigned, chosen);
      return api.post(`${path}/invoices`, { number: numberInput.value, amount_cents: cents, currency: po.currency, file_key: presigned.key });
    });
    if (done) { flash = `Invoice ${done.number} submitted.`; reload(); }
  });
  return form;
}

function proposalForm(po, path, reload) {
  const open = Math.max(0, po.invoiced_cents - po.proposed_cents);
  const amount = input('amount', { required: true, inputmode: 'decimal', value: (open / 100).toFixed(2) });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Propose payment');
  const slot = errorSlot();
  const form = h('form', { class: 'form', 'aria-label': 'Propose a payment', 'data-testid': 'proposal-form', novalidate: true },
    field(`Amount (${po.currency})`, amount, { hint: `Up to what you invoiced and have not proposed yet: ${money(open, po.currency)}.` }),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const cents = toMinor(amount.value, po.currency);
    if (Number.isNaN(cents)) { slot.show({ message: 'Write the amount as a number, e.g. 1250.00.' }); return; }
    if (await act(submit, slot, () => api.post(`${path}/payment-proposals`, { amount_cents: cents }))) {
      flash = 'Payment proposed: Waybill\'s accounting approves it next.';
      reload();
    }
  });
  return form;
}

// ------------------------------------------------------------------ packing list and parcels

/** The PO's parcels: the detail carries the first page; "More parcels" reads the next
 * (GET .../shipments?cursor=) and adds it to the list. */
function parcels(po, path, carriers, reload) {
  const shown = [...(po.shipments || [])];
  let cursor = po.shipments_cursor || null;
  const host = h('div', { 'data-testid': 'po-parcels' });
  const slot = errorSlot();
  const render = () => {
    const more = cursor ? button('More parcels', { 'data-testid': 'more-parcels' }) : null;
    if (more) {
      more.addEventListener('click', async () => {
        more.disabled = true;
        try {
          const page = await api.get(`${path}/shipments`, { cursor });
          shown.push(...(page.items || []));
          cursor = page.next_cursor || null;
          render();
        } catch (error) {
          more.disabled = false;
          slot.show(error);
        }
      });
    }
    replace(host, cards(shown, (x) => shipmentCard(x, path, carriers, reload),
      { testid: 'po-shipments', label: 'Parcels', empty: 'No parcels recorded yet.' }), slot, more);
  };
  render();
  return host;
}

function packingCard(e) {
  return h('li', { class: 'card', 'data-testid': 'packing-entry', 'data-order': e.order_id, 'data-left': String(e.has_left) },
    h('div', { class: 'card-head' }, h('h3', {}, 'Order ', code(e.reference)),
      e.has_left ? badge('shipped', { text: 'Left', testid: 'has-left' }) : badge('pending', { text: 'To pack', testid: 'has-left' })),
    h('p', { class: 'sub' }, 'Order id ', code(e.order_id), ' · ordered ', when(e.ordered_at, { dateOnly: true })),
    h('ul', { class: 'card-lines', 'aria-label': `What to pack for ${e.reference}` },
      e.lines.map((l) => h('li', {}, `${number(l.quantity)} × ${l.name} (${l.sku})`))),
    address(e.ship_to));
}

function parcelForm(path, carriers, entries, reload) {
  const waiting = entries.filter((e) => !e.has_left);
  if (!waiting.length) return null;
  const carrier = select('carrier', carriers.map((c) => [c, c.toUpperCase()]), carriers[0], { required: true });
  const tracking = input('tracking_number', { required: true, autocomplete: 'off', pattern: '[A-Za-z0-9-]{4,64}' });
  const boxes = waiting.map((e) => checkbox(`${e.reference} (${e.order_id})`, { name: 'order_ids', value: e.order_id, 'data-order': e.order_id }));
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Record parcel');
  const slot = errorSlot();
  const form = h('form', { class: 'form', 'aria-label': 'Record a parcel', 'data-testid': 'parcel-form', novalidate: true },
    h('div', { class: 'form-row' }, field('Carrier', carrier), field('Tracking number', tracking)),
    h('fieldset', { class: 'order-choice' }, h('legend', {}, 'Orders in this parcel (1 to 20)'), boxes),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const orderIds = boxes.filter((b) => b.input.checked).map((b) => b.input.value);
    if (!orderIds.length) { slot.show({ message: 'Tick the orders in this parcel.' }); return; }
    const body = { carrier: carrier.value, tracking_number: tracking.value.trim(), order_ids: orderIds };
    if (await act(submit, slot, () => api.post(`${path}/shipments`, body))) {
      flash = `Parcel ${body.tracking_number} recorded for ${orderIds.length} order${orderIds.length === 1 ? '' : 's'}.`;
      reload();
    }
  });
  return form;
}

/** The import's answer: how many were recorded, or each refused row (nothing was applied). */
function importReport(error) {
  const rows = (error.details || []).filter((d) => d && d.row !== undefined);
  if (!rows.length) return errorAlert(error);
  return h('div', { class: 'alert', role: 'alert', 'data-testid': 'import-report' },
    h('p', { class: 'alert-message' }, `Nothing was recorded: ${rows.length} row${rows.length === 1 ? '' : 's'} to fix. ${error.message || ''}`.trim()),
    h('ul', { class: 'row-report' }, rows.map((d) => h('li', { 'data-testid': 'import-row-error', 'data-row': String(d.row) },
      `Row ${d.row}`, d.field ? [', ', h('code', {}, d.field)] : null, `: ${d.message}`))));
}

function importForm(path, reload) {
  const file = h('input', { type: 'file', name: 'csv_file', accept: '.csv,text/csv' });
  const text = textarea('csv', { rows: 5, class: 'csv-input', spellcheck: 'false', placeholder: 'order_id,carrier,tracking_number' });
  const submit = h('button', { type: 'submit' }, 'Import parcels');
  const slot = h('div', { class: 'error-slot' });
  file.addEventListener('change', async () => {
    const chosen = file.files && file.files[0];
    if (chosen) text.value = await chosen.text();
  });
  const form = h('form', { class: 'form', 'aria-label': 'Import parcels from a CSV', 'data-testid': 'import-form', novalidate: true },
    field('CSV file', file, { hint: 'One row per order: order id, carrier, tracking number. Orders that share a tracking number go in one parcel.' }),
    field('Or paste the rows', text),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    slot.replaceChildren();
    if (!text.value.trim()) { replace(slot, errorAlert({ message: 'Choose a CSV file or paste its rows.' })); return; }
    submit.disabled = true;
    try {
      const result = await api.post(`${path}/shipments/import`, { csv: text.value });
      flash = `${number(result.recorded)} parcel${result.recorded === 1 ? '' : 's'} recorded from the CSV.`;
      reload();
    } catch (error) {
      if (error.name === 'AbortError') return;
      replace(slot, noSuchRoute(error)
        ? errorAlert({ ...error, message: 'Importing parcels from a CSV is not available yet: record them one by one.' })
        : importReport(error));
      announce(error.message);
    } finally {
      if (submit.isConnected) submit.disabled = false;
    }
  });
  return h('details', { class: 'panel-details' }, h('summary', {}, 'Import parcels from a CSV'), form);
}

function shipmentCard(x, path, carriers, reload) {
  const closed = ['delivered', 'returned_to_sender', 'superseded'].includes(x.status);
  let correct = null;
  if (!closed) {
    const carrier = select('carrier', carriers.map((c) => [c, c.toUpperCase()]), x.carrier, { required: true });
    const tracking = input('tracking_number', { required: true, value: x.tracking_number, autocomplete: 'off' });
    const submit = h('button', { type: 'submit' }, 'Save correction');
    const slot = errorSlot();
    const form = h('form', { class: 'form', 'aria-label': `Correct parcel ${x.tracking_number}` },
      field('Carrier', carrier), field('Tracking number', tracking), h('div', { class: 'actions' }, submit), slot);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const body = { carrier: carrier.value, tracking_number: tracking.value.trim() };
      if (await act(submit, slot, () => api.put(`${path}/shipments/${encodeURIComponent(x.id)}`, body))) {
        flash = `Parcel corrected: ${body.carrier.toUpperCase()} ${body.tracking_number}. Its customers are told.`;
        reload();
      }
    });
    correct = h('details', { class: 'panel-details' }, h('summary', {}, 'Correct the tracking number'), form);
  }
  return h('li', { class: 'card', 'data-testid': 'shipment-card', 'data-id': x.id, 'data-tracking': x.tracking_number },
    h('div', { class: 'card-head' }, h('h3', {}, `${x.carrier.toUpperCase()} `,
      link(x.tracking_url, x.tracking_number, { rel: 'noopener', 'data-testid': 'tracking-link' })), badge(x.status)),
    h('p', { class: 'sub' }, 'Orders: ', x.order_ids.join(', '), ' · recorded ', when(x.created_at)),
    correct);
}

async function packingSection(po, path, carriers, { signal, reload, cursor }) {
  const page = await api.get(`${path}/orders`, { limit: PACKING_PAGE, cursor }, { signal });
  const slot = errorSlot();
  const csv = button('Download the packing list (CSV)', { 'data-testid': 'packing-csv' });
  const where = h('p', { 'data-testid': 'packing-csv-ready', hidden: true });
  csv.addEventListener('click', async () => {
    const file = await act(csv, slot, () => api.post(`${path}/packing-list`, {}));
    if (file) {
      replace(where, link(file.url, `Save ${file.file_name}`, { download: file.file_name, 'data-testid': 'packing-csv-link' }),
        ` (${number(file.orders)} orders, ${number(file.rows)} rows; the link works for ${Math.round(file.expires_in / 60)} minutes)`);
      where.hidden = false;
      announce('The packing list is ready to save.');
    }
  });
  const more = [];
  if (cursor) more.push(button('First page', { onclick: () => swap(undefined) }));
  if (page.next_cursor) more.push(button('Next orders', { class: 'primary', onclick: () => swap(page.next_cursor) }));
  const node = h('div', { 'data-testid': 'packing-list' },
    h('div', { class: 'actions' }, csv), where, slot,
    cards(page.items, packingCard, { testid: 'packing-entries', label: 'Orders to pack', empty: 'No orders to pack (yet).' }),
    more.length ? h('nav', { class: 'pager', 'aria-label': 'Packing list pages' }, more) : null,
    po.status === 'open' && po.stage === 'shipment' ? [
      h('h3', {}, 'Record a parcel'),
      parcelForm(path, carriers, page.items, reload) || h('p', { class: 'empty' }, 'Every order on this page has left.'),
      importForm(path, reload),
    ] : null);
  async function swap(next) {
    const fresh = await packingSection(po, path, carriers, { signal: undefined, reload, cursor: next }).catch((e) => errorAlert(e));
    node.replaceWith(fresh);
    const heading2 = fresh.closest('section')?.querySelector('h2');
    if (heading2) { heading2.setAttribute('tabindex', '-1'); heading2.focus(); }
  }
  return node;
}

// ------------------------------------------------------------------ waiting for the workflow

function watch(po, path, ctx) {
  if (po.status !== 'open' || SUPPLIER_STAGES.includes(po.stage)) return;
  const started = Date.now();
  const tick = async () => {
    if (!ctx.isCurrent() || Date.now() - started > POLL_LIMIT_MS) return;
    try {
      const fresh = await api.get(path);
      if (!ctx.isCurrent()) return;
      if (fresh.stage !== po.stage || fresh.status !== po.status) {
        flash = fresh.stage ? `Next step: ${label(fresh.stage).toLowerCase()}.` : null;
        ctx.reload();
        return;
      }
    } catch { /* a failed poll waits for the next one */ }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
}

// ------------------------------------------------------------------ the screen

export default {
  name: 'purchase-order',
  title: 'Purchase order',
  async render(ctx) {
    const { params, signal, reload, setTitle } = ctx;
    const path = `/supplier/purchase-orders/${encodeURIComponent(params.poId)}`;
    const r = await api.parallel({
      po: api.get(path, undefined, { signal }),
      complaints: api.get(`${path}/complaints`, undefined, { signal }),
      spec: apiSpec(signal),
    });
    if (!r.po.ok) throw r.po.error;
    if (!r.spec.ok) throw r.spec.error;
    const po = r.po.value;
    const doc = r.spec.value;
    setTitle(`Purchase order ${po.id}`);
    const shown = flash;
    flash = null;
    const carriers = enumOf(doc, 'ShipmentIn', 'carrier');
    const reasons = enumOf(doc, 'LineAcknowledgementIn', 'reason');
    const types = enumOf(doc, 'UploadRequest', 'content_type');
    const packing = po.status === 'rejected' || po.stage === 'acknowledge'
      ? h('p', { class: 'empty' }, 'The packing list fills once you have acknowledged the lines.')
      : await packingSection(po, path, carriers, { signal, reload }).catch((e) => errorAlert(e));
    const waiting = po.status === 'open' && !SUPPLIER_STAGES.includes(po.stage);
    watch(po, path, ctx);
    const liveId = uid('step');

    return [
      heading(`Purchase order ${po.id}`, badge(po.status, { testid: 'po-status' })),
      shown ? notice(shown) : null,
      h('p', { class: 'lede', id: liveId, 'data-testid': 'po-step', 'data-stage': po.stage || '', role: waiting ? 'status' : null },
        po.stage ? [badge(po.stage, { testid: 'po-stage' }), ' '] : null, stepText(po),
        po.stage_deadline ? [' Due ', when(po.stage_deadline), '.'] : null),
      facts([
        ['Campaign', link(`#/campaigns/${encodeURIComponent(po.campaign_id)}`, po.campaign_id)],
        ['Payment', badge(po.payment_status, { testid: 'payment-status' })],
        ['Shipment', badge(po.shipment_status, { testid: 'shipment-status' })],
        ['Orders', number(po.order_count)],
        ['Created', when(po.created_at)],
      ], { testid: 'po-facts' }),
      section('Amounts', facts([
        ['Ordered', money(po.ordered_cents, po.currency)],
        ['Accepted', money(po.accepted_cents, po.currency)],
        ['Invoiced', money(po.invoiced_cents, po.currency)],
        ['Proposed for payment', money(po.proposed_cents, po.currency)],
        ['Paid', money(po.paid_cents, po.currency)],
        ['Charged back', h('span', { 'data-testid': 'po-charge-back' }, money(po.charge_back_cents || 0, po.currency))],
      ], { testid: 'po-amounts' })),
      section('Lines',
        po.stage === 'acknowledge' && po.status === 'open'
          ? acknowledgeForm(po, path, reasons, reload)
          : cards(po.lines, (l) => h('li', { class: 'card', 'data-testid': 'po-line', 'data-sku': l.sku },
            h('h3', {}, l.name, ' ', code(l.sku)),
            facts([
              ['Ordered', number(l.ordered_quantity)],
              ['Accepted', l.accepted_quantity === null ? muted('not yet') : h('span', { 'data-testid': 'accepted' }, number(l.accepted_quantity))],
              ['Not accepted because', l.reject_reason ? label(l.reject_reason) : '—'],
              ['Unit cost', money(l.unit_cost_cents, po.currency)],
            ])), { testid: 'po-lines', label: 'Lines' })),
      section('Invoices',
        cards(po.invoices, (i) => h('li', { class: 'card', 'data-testid': 'invoice-card' },
          h('h3', {}, `Invoice ${i.number}`),
          h('p', {}, money(i.amount_cents, i.currency), ' · submitted ', when(i.created_at)),
          h('p', { class: 'sub' }, 'File ', code(i.file_key.split('/').pop()))),
        { testid: 'po-invoices', label: 'Invoices', empty: 'No invoices yet.' }),
        po.status === 'open' && po.stage === 'invoice' ? invoiceForm(po, path, types, reload) : null),
      section('Payment',
        cards(po.proposals, (p) => h('li', { class: 'card', 'data-testid': 'proposal-card', 'data-status': p.status },
          h('div', { class: 'card-head' }, h('h3', {}, money(p.amount_cents, p.currency)), badge(p.status, { testid: 'proposal-status' })),
          h('p', { class: 'sub' }, 'Proposed ', when(p.created_at), p.note ? ` · ${p.note}` : '')),
        { testid: 'po-proposals', label: 'Payment proposals', empty: 'No payment proposed yet.' }),
        po.status === 'open' && po.stage === 'payment_proposal' ? proposalForm(po, path, reload) : null),
      section('Packing list', packing),
      section('Parcels', parcels(po, path, carriers, reload)),
      section('Charge-backs', cards(po.charge_backs || [], (c) => h('li', { class: 'card', 'data-testid': 'charge-back-card' },
        h('h3', {}, money(c.amount_cents, c.currency)),
        h('p', {}, 'Complaint ', link(`#/complaints/${encodeURIComponent(c.complaint_id)}`, c.complaint_id), ' · order ', code(c.order_id),
          ' · ', code(c.sku), ' · ', when(c.created_at))),
      { testid: 'po-charge-backs', label: 'Charge-backs', empty: 'No complaint refunds charged back to you.' })),
      section('Complaints', r.complaints.ok
        ? cards(r.complaints.value.items, (c) => h('li', { class: 'card', 'data-testid': 'complaint-card', 'data-id': c.id },
          h('div', { class: 'card-head' }, h('h3', {}, link(`#/complaints/${encodeURIComponent(c.id)}`, `Complaint ${c.id}`)), badge(c.status)),
          h('p', { class: 'sub' }, label(c.reason), ' · order ', code(c.order_id), ' · opened ', when(c.opened_at))),
        { testid: 'po-complaints', label: 'Complaints', empty: 'No complaints about this purchase order\'s deliveries.' })
        : errorAlert(r.complaints.error)),
    ];
  },
};
