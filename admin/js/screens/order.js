// Order detail: GET /staff/orders/{id} — header, lines, deliveries with their shipments and tracking
// timelines, payments, the full audit trail (internal and customer-facing notes), the actions this
// role may take in this status (allowed_actions -> POST .../transitions) and the note form
// (POST .../notes). Customer care may flag the customer (PUT /staff/customers/{id}/flag). Money by
// hand, each shown only for its capability: record a payment (POST .../payments), refund (POST
// .../refunds), approve / reject / record the transfer of a refund, close a dispatched delivery as not
// delivered (POST .../deliveries/{supplier}/not-delivered); each answers the order, which is re-rendered.

import * as api from '../api.js';
import { assignPanel } from '../assign-panel.js';
import { PAYMENT_RECORD_KINDS } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, money, toMinor, when } from '../format.js';
import {
  act, badge, button, checkbox, code, errorSlot, facts, field, heading, input, link, muted, notice, section, select, table,
  textarea,
} from '../ui.js';
import { complaintTable } from './complaints.js';

const ACTION_TEXT = { approve: 'Approve', reject: 'Reject', cancel: 'Cancel order' };
const ACTION_DONE = { approve: 'approved', reject: 'rejected', cancel: 'cancelled' };

/** A typed amount in minor units; a leading minus (adjustments only) is kept. NaN if it is not a number. */
function signedMinor(text, currency) {
  const value = String(text ?? '').trim();
  return value.startsWith('-') ? -toMinor(value.slice(1), currency) : toMinor(value, currency);
}

/** One audit event: who, when, what, from -> to, notes (internal and customer-facing told apart). */
export function auditItem(e) {
  return h('li', { class: 'event', 'data-testid': 'audit-event', 'data-type': e.type, 'data-id': e.id },
    h('div', { class: 'event-head' },
      h('span', { class: 'event-type' }, label(e.type)),
      (e.from_status || e.to_status) && e.from_status !== e.to_status
        ? h('span', { class: 'event-move' }, ' ', e.from_status ? [badge(e.from_status, { testid: 'from-status' }), ' '] : null,
          '→ ', e.to_status ? badge(e.to_status, { testid: 'to-status' }) : '—')
        : null),
    h('div', { class: 'event-meta' }, when(e.at), ' · ', e.actor ? `${e.actor.name || e.actor.sub} (${label(e.actor.role)})` : 'system'),
    e.internal_note
      ? h('div', { class: 'note note-internal', 'data-testid': 'internal-note' }, h('span', { class: 'note-label' }, 'Internal note'), h('p', {}, e.internal_note))
      : null,
    e.customer_note
      ? h('div', { class: 'note note-customer', 'data-testid': 'customer-note' }, h('span', { class: 'note-label' }, 'Customer-facing note'), h('p', {}, e.customer_note))
      : null,
    (e.files || []).length
      ? h('ul', { class: 'files', 'aria-label': 'Files' }, e.files.map((f) => h('li', {}, code(f))))
      : null);
}

/** Events newest first. */
export function auditTrail(events, { testid = 'audit-trail' } = {}) {
  const sorted = [...(events || [])].map((e, i) => [e, i])
    .sort((a, b) => (new Date(b[0].at) - new Date(a[0].at)) || (b[1] - a[1])).map(([e]) => e);
  if (!sorted.length) return h('p', { class: 'empty' }, 'No events yet.');
  return h('ol', { class: 'timeline audit', 'data-testid': testid, reversed: true }, sorted.map(auditItem));
}

function shipmentView(p) {
  return h('li', { class: 'shipment', 'data-testid': 'shipment', 'data-tracking-number': p.tracking_number },
    h('div', { class: 'shipment-head' },
      h('strong', {}, p.carrier_name || p.carrier), ' ',
      p.tracking_url ? h('a', { href: p.tracking_url, target: '_blank', rel: 'noopener noreferrer' }, p.tracking_number) : code(p.tracking_number),
      ' ', badge(p.status, { testid: 'shipment-status', text: p.status_text || label(p.status) }),
      p.status_at ? h('span', { class: 'sub' }, ' since ', when(p.status_at)) : null),
    (p.timeline || []).length
      ? h('ol', { class: 'timeline tracking', 'aria-label': `Tracking of ${p.tracking_number}`, 'data-testid': 'tracking-timeline' },
        [...p.timeline].sort((a, b) => new Date(a.at) - new Date(b.at)).map((t) => h('li', {},
          when(t.at), ' ', h('strong', {}, t.status_text || label(t.status)),
          t.description ? ` — ${t.description}` : '',
          t.location ? h('span', { class: 'sub' }, ` ${t.location}`) : null,
          t.carrier_code ? h('span', { class: 'sub' }, ' carrier code ', code(t.carrier_code)) : null)))
      : h('p', { class: 'muted' }, 'No tracking events yet.'));
}

export default {
  name: 'order',
  title: 'Order',
  async render({ params, signal, setTitle, can, me }) {
    const id = params.orderId;
    const path = `/staff/orders/${encodeURIComponent(id)}`;
    const loaded = await api.parallel({
      order: api.get(path, undefined, { signal }),
      complaints: api.get(`/staff/complaints?order_id=${encodeURIComponent(id)}`, undefined, { signal }),
    });
    if (!loaded.order.ok) throw loaded.order.error;
    let order = loaded.order.value;
    setTitle(`Order ${order.id}`);
    const complaints = complaintTable(loaded.complaints, {
      caption: 'Complaints about this order', testid: 'order-complaints', rowTestid: 'order-complaint-row',
      empty: 'The customer has not complained about this order.', other: 'supplier',
    });

    const statusHost = h('span', { class: 'head-badge' });
    const headerHost = h('div');
    const actionsHost = h('div');
    const linesHost = h('div');
    const deliveriesHost = h('div');
    const paymentsHost = h('div');
    const paymentsFeedback = h('div', { class: 'feedback' });
    const deliveriesFeedback = h('div', { class: 'feedback' });
    const auditHost = h('div');
    const feedback = h('div', { class: 'feedback' });

    // The money routes answer the order: show it, and say what happened where the control was (the
    // control itself may have been re-rendered away, so focus moves to the message).
    function applied(updated, where, message) {
      order = updated;
      renderAll();
      const said = notice(message);
      said.tabIndex = -1;
      replace(where, said);
      said.focus();
    }

    /** A money action's request with the order's version, so a stale page gets a 409 rather than a surprise. */
    const moneyPost = (suffix, body) => api.post(`${path}${suffix}`, { ...body, expected_version: order.version });

    // -------------------------------------------------------------- sections
    function renderHeader() {
      replace(statusHost, badge(order.status, { testid: 'order-status' }));
      replace(headerHost, facts([
        ['Customer', [order.customer_email || muted('no e-mail'), ' ', link(`#/orders?customer_id=${encodeURIComponent(order.customer_id)}`, `(${order.customer_id}: all orders)`)]],
        ['Total', h('span', { 'data-testid': 'order-total' }, money(order.total_cents, order.currency))],
        ['Payment', label(order.payment_mode)],
        ['Campaign', link(`#/campaigns/${encodeURIComponent(order.campaign_id)}`, order.campaign_id)],
        ['Placed', when(order.created_at)],
        ['Last change', when(order.updated_at)],
        order.hold_reasons && order.hold_reasons.length ? ['Held because', order.hold_reasons.map(label).join('; ')] : null,
      ], { testid: 'order-header' }));
    }

    function renderActions() {
      const actions = (order.allowed_actions || []).filter((a) => a !== 'add_note');
      if (!actions.length) {
        replace(actionsHost, h('p', { class: 'muted', 'data-testid': 'no-actions' },
          `No status change is open to your role while the order is ${label(order.status).toLowerCase()}.`));
        return;
      }
      const internal = textarea('internal_note', { rows: 2 });
      const customer = textarea('customer_note', { rows: 2 });
      const slot = errorSlot();
      const buttons = actions.map((a) => button(ACTION_TEXT[a] || label(a), { class: a === 'approve' ? 'primary' : 'danger', 'data-action': a }));
      buttons.forEach((b) => b.addEventListener('click', async () => {
        const a = b.dataset.action;
        const body = { action: a, expected_version: order.version };
        if (internal.value.trim()) body.internal_note = internal.value;
        if (customer.value.trim()) body.customer_note = customer.value;
        const updated = await act(buttons, slot, () => api.post(`${path}/transitions`, body),
          { success: `Order ${ACTION_DONE[a] || a}.` });
        if (updated) {
          order = updated;
          renderAll();
          replace(feedback, notice(`Order ${ACTION_DONE[a] || a}: it is now ${label(order.status).toLowerCase()}.`));
        }
      }));
      replace(actionsHost, h('form', { class: 'form', 'aria-label': 'Order actions', onsubmit: (e) => e.preventDefault() },
        field('Internal remark (optional)', internal, { hint: 'Staff only; kept on the audit trail.' }),
        field('Message to the customer (optional)', customer, { hint: 'Shown on the customer\'s order page.' }),
        h('div', { class: 'actions' }, buttons),
        slot));
    }

    function renderLines() {
      replace(linesHost, table({
        caption: 'Order lines', testid: 'order-lines',
        columns: [
          { label: 'SKU', cell: (l) => code(l.sku) },
          { label: 'Product', cell: (l) => l.name },
          { label: 'Supplier', cell: (l) => l.supplier_id },
          { label: 'Quantity', class: 'num', cell: (l) => l.quantity },
          { label: 'Unit price', class: 'num', cell: (l) => money(l.unit_price_cents, order.currency) },
          { label: 'Total', class: 'num', cell: (l) => money(l.total_cents, order.currency) },
        ],
        rows: order.lines || [],
      }));
    }

    function renderDeliveries() {
      const deliveries = order.deliveries || [];
      replace(deliveriesHost, deliveries.length
        ? h('ul', { class: 'deliveries', 'data-testid': 'deliveries' }, deliveries.map((d) => h('li', { class: 'delivery', 'data-supplier': d.supplier_id },
          h('h3', {}, `From ${d.supplier_id} `, badge(d.status, { testid: 'delivery-status' })),
          (d.shipments || []).length
            ? h('ul', { class: 'shipments' }, d.shipments.map(shipmentView))
            : h('p', { class: 'muted' }, 'No shipment yet.'),
          d.status === 'dispatched' && can('deliveries.give_up') ? giveUpForm(d) : null)))
        : h('p', { class: 'empty' }, 'No deliveries.'));
    }

    function giveUpForm(d) {
      const reason = textarea('reason', { rows: 2, required: true, maxlength: 4000 });
      const submit = h('button', { type: 'submit', class: 'danger' }, 'Close as not delivered');
      const slot = errorSlot();
      return h('details', { class: 'panel-details', 'data-testid': 'give-up-delivery' }, h('summary', {}, 'Not delivered'),
        h('form', { class: 'form', 'aria-label': `Not delivered from ${d.supplier_id}`, onsubmit: async (event) => {
          event.preventDefault();
          const updated = await act(submit, slot, () => moneyPost(
            `/deliveries/${encodeURIComponent(d.supplier_id)}/not-delivered`, { reason: reason.value }));
          if (updated) applied(updated, deliveriesFeedback, `The delivery from ${d.supplier_id} is closed as not delivered.`);
        } }, field('What happened', reason, { hint: 'Internal. What the customer paid for this delivery goes back.' }),
        h('div', { class: 'actions' }, submit), slot));
    }

    // A refund's next step, if it waits for one this role may take.
    function refundStep(p) {
      if (p.kind !== 'refund') return null;
      if (p.status === 'awaiting_approval' && can('refunds.approve')) return 'decide';
      if (p.status === 'awaiting_transfer' && can('payments.record')) return 'transfer';
      return null;
    }

    function refundActions(p) {
      const step = refundStep(p);
      if (!step) return '—';
      const refund = `/refunds/${encodeURIComponent(p.id)}`;
      const slot = errorSlot();
      if (step === 'transfer') {
        const reference = input('reference', { required: true, maxlength: 200, autocomplete: 'off' });
        const submit = h('button', { type: 'submit', class: 'primary small' }, 'Transfer made');
        return h('form', { class: 'inline-form', 'aria-label': `Transfer made for refund ${p.id}`, onsubmit: async (event) => {
          event.preventDefault();
          const updated = await act(submit, slot, () => moneyPost(`${refund}/transferred`, { reference: reference.value }));
          if (updated) applied(updated, paymentsFeedback, `The transfer for refund ${p.id} is recorded.`);
        } }, field('Transfer reference', reference), submit, slot);
      }
      const note = textarea('note', { rows: 2, maxlength: 4000 });
      const approve = button('Approve', { class: 'primary small' });
      const reject = button('Reject', { class: 'danger small' });
      const decide = async (verb) => {
        const body = note.value.trim() ? { note: note.value } : {};
        const updated = await act([approve, reject], slot, () => moneyPost(`${refund}/${verb}`, body));
        if (updated) applied(updated, paymentsFeedback, `Refund ${p.id} ${verb === 'approve' ? 'approved' : 'rejected'}.`);
      };
      approve.addEventListener('click', () => decide('approve'));
      reject.addEventListener('click', () => decide('reject'));
      return h('form', { class: 'form', 'aria-label': `Decide refund ${p.id}`, onsubmit: (e) => e.preventDefault() },
        field('Note', note, { hint: 'Optional to approve, required to reject.' }),
        h('div', { class: 'button-row' }, approve, reject), slot);
    }

    function renderPayments() {
      const m = order.money || {};
      const amount = (cents, testid) => h('span', { 'data-testid': testid }, money(cents, order.currency));
      const payments = order.payments || [];
      replace(paymentsHost, facts([
        ['Ordered', amount(m.ordered_cents, 'money-ordered')],
        ['Payable', amount(m.payable_cents, 'money-payable')],
        ['Paid', amount(m.paid_cents, 'money-paid')],
        ['Refunded', amount(m.refunded_cents, 'money-refunded')],
        ['Refund pending', amount(m.refund_pending_cents, 'money-refund-pending')],
        ['Balance', amount(m.balance_cents, 'money-balance')],
      ], { testid: 'order-money' }), table({
        caption: 'Payments', testid: 'payments-table', empty: 'No payments recorded for this order.',
        columns: [
          { label: 'Payment', cell: (p) => code(p.id) },
          { label: 'Kind', cell: (p) => label(p.kind) },
          { label: 'Supplier', cell: (p) => p.supplier_id || '—' },
          { label: 'Amount', class: 'num', cell: (p) => money(p.amount_cents, p.currency) },
          { label: 'Status', cell: (p) => badge(p.status) },
          { label: 'Reference', cell: (p) => p.gateway_reference || '—' },
          { label: 'Failure', cell: (p) => p.failure || '—' },
          { label: 'Reason', cell: (p) => p.reason || '—' },
          { label: 'Updated', cell: (p) => when(p.updated_at) },
          payments.some(refundStep) ? { label: 'Action', cell: refundActions } : null,
        ].filter(Boolean),
        rows: payments,
        rowAttrs: (p) => ({ 'data-testid': 'payment-row', 'data-kind': p.kind, 'data-status': p.status }),
      }));
    }

    function renderAudit() {
      replace(auditHost, auditTrail(order.events));
    }

    function renderAll() {
      renderHeader();
      renderActions();
      renderLines();
      renderDeliveries();
      renderPayments();
      renderAudit();
    }
    renderAll();

    // -------------------------------------------------------------- the note form
    let noteForm = null;
    if ((order.allowed_actions || []).includes('add_note')) {
      const note = textarea('note', { rows: 3, required: true, maxlength: 4000 });
      const visible = checkbox('Visible to the customer', { name: 'customer_facing' });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Add note');
      const slot = errorSlot();
      const done = h('div');
      noteForm = h('form', { class: 'form note-form', 'data-testid': 'note-form' },
        field('Note', note, { hint: 'Internal unless it is visible to the customer.' }),
        visible,
        h('div', { class: 'actions' }, submit),
        slot, done);
      noteForm.addEventListener('submit', async (event) => {
        event.preventDefault();
        done.replaceChildren();
        const text = note.value;
        const body = visible.input.checked ? { customer_note: text } : { internal_note: text };
        const result = await act(submit, slot, () => api.post(`${path}/notes`, body));
        if (!result) return;
        order = { ...order, events: [...(order.events || []), result.event] };
        renderAudit();
        note.value = '';
        visible.input.checked = false;
        replace(done, notice(body.customer_note ? 'Note added; the customer can see it.' : 'Internal note added.'));
        note.focus();
        // The order may have moved on meanwhile (and its version with it): read it again.
        api.get(path).then((fresh) => { order = fresh; renderAll(); }).catch(() => {});
      });
    }

    // -------------------------------------------------------------- customer flag
    let flagForm = null;
    if (can('customers.manage')) {
      const flagged = checkbox('Flag this customer (their next orders wait for pre-approval)', { name: 'flagged', checked: (order.hold_reasons || []).some((r) => /flag/i.test(r)) });
      const reason = textarea('reason', { rows: 2 });
      const submit = h('button', { type: 'submit' }, 'Save flag');
      const slot = errorSlot();
      const done = h('div');
      flagForm = h('details', { class: 'panel-details' }, h('summary', {}, 'Customer flag'),
        h('form', { class: 'form', 'aria-label': 'Customer flag', onsubmit: async (event) => {
          event.preventDefault();
          done.replaceChildren();
          const body = { flagged: flagged.input.checked };
          if (reason.value.trim()) body.reason = reason.value;
          const profile = await act(submit, slot, () => api.put(`/staff/customers/${encodeURIComponent(order.customer_id)}/flag`, body));
          if (profile) replace(done, notice(profile.flagged ? `Customer ${profile.id} is flagged.` : `Customer ${profile.id} is not flagged.`));
        } }, flagged, field('Reason', reason), h('div', { class: 'actions' }, submit), slot, done));
    }

    // -------------------------------------------------------------- money by hand
    // Built once (their inputs survive a re-render); the body carries the order's version at submit time.
    function moneyForm({ title, testid, submitText, controls, body, done }) {
      const submit = h('button', { type: 'submit', class: 'primary' }, submitText);
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': title }, controls, h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const updated = await act(submit, slot, () => moneyPost(...body()));
        if (!updated) return;
        form.reset();
        applied(updated, paymentsFeedback, done(updated));
      });
      return h('details', { class: 'panel-details', 'data-testid': testid }, h('summary', {}, title), form);
    }

    /** The amount as cents; what is not a number goes as typed, and the API says what is wrong with it. */
    const cents = (el) => {
      const value = signedMinor(el.value, order.currency);
      return Number.isNaN(value) ? el.value : value;
    };
    const optional = (el) => (el.value.trim() ? el.value : undefined);

    let paymentForm = null;
    if (can('payments.record')) {
      const kind = select('kind', PAYMENT_RECORD_KINDS, order.payment_mode === 'pay_on_delivery' ? 'cash_collected' : 'offline_received');
      const amount = input('amount', { inputmode: 'decimal', required: true, autocomplete: 'off' });
      const reference = input('reference', { maxlength: 200, autocomplete: 'off' });
      const reason = textarea('reason', { rows: 2, maxlength: 4000 });
      paymentForm = moneyForm({
        title: 'Record a payment', testid: 'record-payment', submitText: 'Record payment',
        controls: [
          field('Kind', kind),
          field(`Amount (${order.currency})`, amount, { hint: 'For example 12.50; an adjustment may be negative.' }),
          field('Transfer or receipt reference (optional)', reference),
          field('Reason', reason, { hint: 'Required for an adjustment; staff only.' }),
        ],
        body: () => ['/payments', { kind: kind.value, amount_cents: cents(amount), reason: optional(reason), reference: optional(reference) }],
        done: (o) => `Payment recorded: the order is ${label(o.status).toLowerCase()}, ${money(o.money.paid_cents, o.currency)} paid.`,
      });
    }

    let refundForm = null;
    if (can('refunds.create')) {
      const amount = input('amount', { inputmode: 'decimal', required: true, autocomplete: 'off' });
      const reason = textarea('reason', { rows: 2, required: true, maxlength: 4000 });
      const reference = input('reference', { maxlength: 200, autocomplete: 'off' });
      refundForm = moneyForm({
        title: 'Refund', testid: 'refund', submitText: 'Refund',
        controls: [
          field(`Refund amount (${order.currency})`, amount, { hint: 'For example 12.50; at most what was paid, less refunds.' }),
          field('Why', reason, { hint: 'On the audit trail; the customer sees only the amount.' }),
          field('Refund transfer reference', reference,
            { hint: 'Offline and pay-on-delivery orders: the reference of the transfer that paid it back.' }),
        ],
        body: () => ['/refunds', { amount_cents: cents(amount), reason: reason.value, reference: optional(reference) }],
        done: (o) => `Refund made: ${money(o.money.refunded_cents, o.currency)} refunded, ${money(o.money.refund_pending_cents, o.currency)} pending.`,
      });
    }

    return [
      heading(`Order ${order.id}`, statusHost),
      feedback,
      headerHost,
      section('Actions', actionsHost, flagForm),
      section('Who works on it', assignPanel('order', order.id, me)),
      section('Lines', linesHost),
      section('Deliveries and shipments', deliveriesFeedback, deliveriesHost),
      section('Payments', paymentsFeedback, paymentsHost, paymentForm, refundForm),
      section('Complaints', complaints),
      section('Audit trail', noteForm, auditHost),
    ];
  },
};
