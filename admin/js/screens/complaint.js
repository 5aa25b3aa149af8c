// Complaint detail: GET /staff/complaints/{id} — header (status, reason, what the customer wants),
// the claimed lines, photos, the supplier's side, the plan (per line, its total against the approval
// threshold, who proposed and approved it), refunds, return, replacement, money, the audit trail
// (internal and customer-facing notes told apart), and the forms for the actions this role may take
// now (allowed_actions): POST .../ask-supplier | plan | submit | approve | reject | resolve, each
// with the detail's version (a 409: someone else changed it; reload). Notes: POST .../notes.

import * as api from '../api.js';
import { assignPanel } from '../assign-panel.js';
import { RESOLUTIONS } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, minorDigits, money, number, toMinor, when } from '../format.js';
import {
  act, badge, button, checkbox, code, errorSlot, facts, field, heading, input, link, muted, notice, section, select,
  table, textarea,
} from '../ui.js';
import { auditTrail } from './order.js';

let flash = null; // {id, message}: a confirmation to show once the detail is read again

// Who the complaint waits for when this role has nothing to do.
const WAITING = {
  awaiting_supplier: 'Waiting for the supplier to answer customer care\'s question.',
  needs_approval: 'Waiting for an admin to approve or reject the plan.',
  plan_approved: 'Waiting for the customer to accept or dispute the plan.',
  accepted: 'The customer accepted the plan: refunds, replacements and returns are being set going.',
  in_progress: 'The plan is being carried out.',
  resolved: 'Resolved: nothing more to do.',
  withdrawn: 'The customer withdrew the complaint.',
};

const actorText = (who) => (who ? String(who) : muted('—'));

/** What an approver decides on, beside the button: the plan's lines and the customer's photos, small. */
function decisionContext(c, plan, currency) {
  const lines = (plan && plan.lines) || [];
  const photos = c.photos || [];
  return h('div', { class: 'decision-context', 'data-testid': 'decision-context' },
    h('ul', { class: 'plain-list', 'aria-label': 'The plan\'s lines' }, lines.map((l) => h('li', { 'data-sku': l.sku },
      code(l.sku), ` ${label(l.resolution)} × ${number(l.quantity)}`,
      l.refund_cents ? [' · refund ', h('strong', {}, money(l.refund_cents, currency))] : null))),
    photos.length
      ? h('ul', { class: 'thumb-strip', 'aria-label': 'The customer\'s photos' }, photos.map((p, i) => h('li', {},
        h('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer' },
          h('img', { src: p.url, alt: `Photo ${i + 1} of ${photos.length} from the customer`, loading: 'lazy', width: 64, height: 64,
            class: 'thumb small', 'data-testid': 'decision-photo' })))))
      : muted('No photos.'));
}

/** The plan editor: one row per claimed line (include it?, resolution, quantity, refund). */
function planEditor(complaint) {
  const currency = complaint.currency;
  const digits = minorDigits(currency);
  const decimal = (cents) => (Number(cents) / 10 ** digits).toFixed(digits);
  const planned = new Map(((complaint.plan && complaint.plan.lines) || []).map((l) => [l.sku, l]));
  const wanted = RESOLUTIONS.includes(complaint.wanted_resolution) ? complaint.wanted_resolution : 'refund';
  const totalHost = h('p', { class: 'plan-draft-total', 'data-testid': 'plan-draft-total' });

  const rows = (complaint.lines || []).map((line) => {
    const before = planned.get(line.sku);
    const unit = line.unit_price_cents ?? Math.round((line.paid_cents || 0) / Math.max(1, line.quantity));
    const include = checkbox('Include in the plan', { name: 'include', checked: !complaint.plan || Boolean(before) });
    const resolution = select('resolution', RESOLUTIONS.map((r) => [r, label(r)]), before ? before.resolution : wanted);
    const quantity = input('quantity', {
      type: 'number', min: 1, max: line.quantity, step: 1, inputmode: 'numeric', class: 'short',
      value: before ? before.quantity : line.quantity,
    });
    const cap = () => unit * (Number.parseInt(quantity.value, 10) || 0);
    const refund = input('refund', {
      inputmode: 'decimal', autocomplete: 'off', class: 'short',
      value: decimal(before ? before.refund_cents : (wanted === 'replacement' ? 0 : unit * line.quantity)),
    });
    const refundField = field(`Refund (${currency || 'EUR'})`, refund, { hint: ' ' });
    const hint = refundField.querySelector('.hint');
    let touched = Boolean(before);
    const sync = () => {
      const replacement = resolution.value === 'replacement';
      refund.disabled = replacement || !include.input.checked;
      if (replacement) refund.value = decimal(0);
      else if (!touched || toMinor(refund.value, currency) === 0) refund.value = decimal(cap());
      hint.textContent = replacement
        ? 'No refund: the supplier sends a replacement.'
        : `Up to ${money(cap(), currency)}, what ${number(Number.parseInt(quantity.value, 10) || 0)} cost the customer.`;
      resolution.disabled = !include.input.checked;
      quantity.disabled = !include.input.checked;
    };
    refund.addEventListener('input', () => { touched = true; });
    [include.input, resolution, quantity].forEach((el) => el.addEventListener('change', () => { sync(); renderTotal(); }));
    quantity.addEventListener('input', () => { sync(); renderTotal(); });
    refund.addEventListener('input', () => renderTotal());
    const element = h('fieldset', { class: 'plan-row', 'data-testid': 'plan-row', 'data-sku': line.sku },
      h('legend', {}, code(line.sku), ` ${line.name || ''} · ${number(line.quantity)} claimed, ${money(line.paid_cents, currency)} paid`),
      include,
      field('Resolution', resolution),
      field('Quantity', quantity, { hint: `1 to ${number(line.quantity)}` }),
      refundField);
    return { line, element, include, resolution, quantity, refund, cap, sync };
  });

  function values() {
    const lines = [];
    const problems = [];
    rows.forEach((row, i) => {
      if (!row.include.input.checked) return;
      const where = `lines[${i}]`;
      const q = Number(row.quantity.value);
      if (!Number.isInteger(q) || q < 1 || q > row.line.quantity) {
        problems.push({ field: `${where}.quantity`, message: `${row.line.sku}: a quantity from 1 to ${row.line.quantity}` });
      }
      const cents = row.resolution.value === 'replacement' ? 0 : toMinor(row.refund.value, currency);
      if (row.resolution.value !== 'replacement' && (Number.isNaN(cents) || cents < 1 || cents > row.cap())) {
        problems.push({ field: `${where}.refund_cents`,
          message: `${row.line.sku}: a refund from ${money(1, currency)} to ${money(row.cap(), currency)}` });
      }
      lines.push({ sku: row.line.sku, resolution: row.resolution.value, quantity: q, refund_cents: cents });
    });
    if (!lines.length) problems.push({ field: 'lines', message: 'Include at least one line in the plan.' });
    return { lines, problems };
  }

  function renderTotal() {
    const total = rows.reduce((sum, row) => {
      if (!row.include.input.checked || row.resolution.value === 'replacement') return sum;
      const cents = toMinor(row.refund.value, currency);
      return sum + (Number.isNaN(cents) ? 0 : cents);
    }, 0);
    const threshold = complaint.approval_threshold_cents;
    const above = threshold !== null && threshold !== undefined && total > threshold;
    replace(totalHost, 'Refund total: ', h('strong', {}, money(total, currency)),
      threshold === null || threshold === undefined ? null
        : above ? ` — above the approval threshold of ${money(threshold, currency)}: an admin approves it once it is submitted.`
          : ` — within the approval threshold of ${money(threshold, currency)}: submitting offers it to the customer.`);
  }
  rows.forEach((row) => row.sync());
  renderTotal();
  return { element: h('div', { class: 'plan-rows' }, rows.map((r) => r.element)), totalHost, values };
}

export default {
  name: 'complaint',
  title: 'Complaint',
  async render({ params, signal, me, reload, setTitle }) {
    const id = params.complaintId;
    const path = `/staff/complaints/${encodeURIComponent(id)}`;
    const c = await api.get(path, undefined, { signal });
    setTitle(`Complaint ${c.id}`);
    const shown = flash && flash.id === c.id ? flash.message : null;
    flash = null;
    const currency = c.currency;
    const allowed = c.allowed_actions || [];
    const plan = c.plan || null;
    const threshold = c.approval_threshold_cents;

    /**
     * POST an action with the detail's version; on success read the complaint again and say so.
     * A 409 means someone changed it meanwhile: the error, and a button to read it again.
     */
    async function perform(controls, slot, action, body, message) {
      let conflict = false;
      const result = await act(controls, slot, async () => {
        try {
          return await api.post(`${path}/${action}`, { ...body, expected_version: c.version });
        } catch (error) {
          if (error && error.status === 409) conflict = true;
          throw error;
        }
      });
      if (result !== undefined) {
        flash = { id: c.id, message };
        reload();
      } else if (conflict && !slot.querySelector('[data-testid="conflict-reload"]')) {
        // A 409 that names who changed it carries its own Reload (ui.js); a bare one gets this.
        slot.append(button('Reload the complaint', { class: 'primary', onclick: reload }));
      }
    }

    const optional = (body, key, control) => {
      if (control.value.trim()) body[key] = control.value;
      return body;
    };

    // -------------------------------------------------------------- action forms
    const forms = [];

    if (allowed.includes('approve_plan') || allowed.includes('reject_plan')) {
      const parts = [];
      if (allowed.includes('approve_plan')) {
        const note = textarea('internal_note', { rows: 2 });
        const submit = h('button', { type: 'submit', class: 'primary' }, 'Approve plan');
        const slot = errorSlot();
        const form = h('form', { class: 'form', 'aria-label': 'Approve plan', 'data-testid': 'approve-form' },
          field('Internal note (optional)', note, { hint: 'Staff only; kept on the audit trail.' }),
          h('div', { class: 'actions' }, submit), slot);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          perform(submit, slot, 'approve', optional({}, 'internal_note', note), 'Plan approved: it is offered to the customer.');
        });
        parts.push(form);
      }
      if (allowed.includes('reject_plan')) {
        const reason = textarea('note', { rows: 2, required: true, maxlength: 4000 });
        const submit = h('button', { type: 'submit', class: 'danger' }, 'Reject plan');
        const slot = errorSlot();
        const form = h('form', { class: 'form', 'aria-label': 'Reject plan', 'data-testid': 'reject-form' },
          field('Reason', reason, { hint: 'Required. The plan goes back to customer care with it.' }),
          h('div', { class: 'actions' }, submit), slot);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          if (!reason.value.trim()) {
            slot.show({ message: 'Give a reason for rejecting the plan.' });
            reason.focus();
            return;
          }
          perform(submit, slot, 'reject', { note: reason.value }, 'Plan rejected: it is back with customer care.');
        });
        parts.push(h('details', { class: 'panel-details' }, h('summary', {}, 'Reject the plan instead'), form));
      }
      forms.push(h('div', { class: 'action-group', 'data-testid': 'plan-decision' },
        h('h3', {}, 'Decide on the plan'),
        plan ? h('p', {}, `The plan refunds ${money(plan.refund_cents, currency)}, above the ${money(threshold, currency)} customer care may offer alone.`) : null,
        decisionContext(c, plan, currency),
        parts));
    }

    if (allowed.includes('submit_plan')) {
      const note = textarea('customer_note', { rows: 2 });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Submit plan');
      const slot = errorSlot();
      const above = plan && (plan.needs_approval || (threshold !== null && threshold !== undefined && plan.refund_cents > threshold));
      const form = h('form', { class: 'form', 'aria-label': 'Submit plan', 'data-testid': 'submit-form' },
        h('h3', {}, 'Submit the plan'),
        h('p', { class: 'hint' }, above
          ? `Its refund total is above ${money(threshold, currency)}: it goes to an admin for approval first.`
          : 'It is offered to the customer straight away.'),
        field('Message to the customer (optional)', note, { hint: 'Shown on the customer\'s complaint page.' }),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        perform(submit, slot, 'submit', optional({}, 'customer_note', note),
          above ? 'Plan submitted for an admin\'s approval.' : 'Plan submitted: it is offered to the customer.');
      });
      forms.push(form);
    }

    if (allowed.includes('propose_plan')) {
      const editor = planEditor(c);
      const internal = textarea('internal_note', { rows: 2 });
      const customer = textarea('customer_note', { rows: 2 });
      const submit = h('button', { type: 'submit', class: plan ? null : 'primary' }, plan ? 'Save revised plan' : 'Propose plan');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': plan ? 'Revise the plan' : 'Propose a plan', 'data-testid': 'plan-form', novalidate: true },
        h('p', { class: 'hint' }, 'One row per claimed line; untick a line to leave it out. Refunds in currency units (e.g. 12.50).'),
        editor.element,
        editor.totalHost,
        field('Internal note (optional)', internal, { hint: 'Staff only; kept on the audit trail.' }),
        field('Message to the customer (optional)', customer),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const { lines, problems } = editor.values();
        if (problems.length) {
          slot.show({ message: 'The plan cannot be proposed like this.', details: problems });
          return;
        }
        const body = { lines };
        optional(body, 'internal_note', internal);
        optional(body, 'customer_note', customer);
        perform(submit, slot, 'plan', body, plan ? 'Plan revised.' : 'Plan proposed.');
      });
      // A revision is secondary while the current plan can be submitted; a first plan is the step.
      forms.push(plan
        ? h('details', { class: 'panel-details' }, h('summary', {}, 'Revise the plan'), form)
        : h('div', { class: 'action-group' }, h('h3', {}, 'Propose a plan'), form));
    }

    if (allowed.includes('ask_supplier')) {
      const question = textarea('question', { rows: 3, required: true, maxlength: 4000 });
      const note = textarea('internal_note', { rows: 2 });
      const submit = h('button', { type: 'submit' }, 'Ask the supplier');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Ask the supplier', 'data-testid': 'ask-supplier-form' },
        field('Question for the supplier', question, { hint: `${c.supplier_id} sees it with the complaint and its photos.` }),
        field('Internal note (optional)', note),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!question.value.trim()) {
          slot.show({ message: 'Write the question for the supplier.' });
          question.focus();
          return;
        }
        perform(submit, slot, 'ask-supplier', optional({ question: question.value }, 'internal_note', note),
          'Question sent to the supplier.');
      });
      forms.push(h('details', { class: 'panel-details' }, h('summary', {}, 'Ask the supplier'), form));
    }

    if (allowed.includes('resolve')) {
      const note = textarea('customer_note', { rows: 2 });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Resolve complaint');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Resolve complaint', 'data-testid': 'resolve-form' },
        h('h3', {}, 'Resolve'),
        field('Message to the customer (optional)', note),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        perform(submit, slot, 'resolve', optional({}, 'customer_note', note), 'Complaint resolved.');
      });
      forms.push(form);
    }

    const actions = forms.length ? forms : h('p', { class: 'muted', 'data-testid': 'no-actions' },
      WAITING[c.status] || `No step is open to your role while the complaint is ${label(c.status).toLowerCase()}.`);

    // -------------------------------------------------------------- the note form
    let noteForm = null;
    const staffRoles = (me.roles || []).some((r) => ['customer_care', 'admin'].includes(r));
    if (allowed.includes('add_note') || staffRoles) {
      const internal = textarea('internal_note', { rows: 2, maxlength: 4000 });
      const customer = textarea('customer_note', { rows: 2, maxlength: 4000 });
      const submit = h('button', { type: 'submit' }, 'Add note');
      const slot = errorSlot();
      noteForm = h('form', { class: 'form note-form', 'aria-label': 'Add a note', 'data-testid': 'note-form' },
        field('Internal note', internal, { hint: 'Staff only.' }),
        field('Note to the customer', customer, { hint: 'Shown on the customer\'s complaint page.' }),
        h('div', { class: 'actions' }, submit), slot);
      noteForm.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!internal.value.trim() && !customer.value.trim()) {
          slot.show({ message: 'Write an internal note, a note to the customer, or both.' });
          internal.focus();
          return;
        }
        const body = {};
        optional(body, 'internal_note', internal);
        optional(body, 'customer_note', customer);
        perform(submit, slot, 'notes', body, body.customer_note ? 'Note added; the customer can see the customer-facing part.' : 'Internal note added.');
      });
    }

    // -------------------------------------------------------------- sections
    const photos = c.photos || [];
    const photoList = photos.length
      ? h('ul', { class: 'photos', 'data-testid': 'complaint-photos' }, photos.map((p, i) => {
        const alt = `Photo ${i + 1} of ${photos.length} from the customer (${label(c.reason).toLowerCase()})`;
        const img = h('img', { src: p.url, alt, loading: 'lazy', class: 'thumb', width: 128, height: 128 });
        const preview = h('a', { href: p.url, target: '_blank', rel: 'noopener noreferrer', class: 'photo-link' }, img);
        img.addEventListener('error', () => replace(preview, `Open photo ${i + 1}`));
        return h('li', { class: 'photo', 'data-testid': 'complaint-photo' }, preview,
          h('span', { class: 'sub' }, `${p.content_type || 'image'}, ${number(Math.ceil((p.size_bytes || 0) / 1024))} KB`));
      }))
      : h('p', { class: 'empty' }, 'No photos.');

    const supplierSide = c.supplier_question || c.supplier_answer
      ? facts([
        ['Question', c.supplier_question ? h('span', { class: 'break' }, c.supplier_question) : muted('—')],
        ['Answer', c.supplier_answer ? h('span', { class: 'break', 'data-testid': 'supplier-answer' }, c.supplier_answer) : muted('not yet')],
        ['Answered', when(c.supplier_answered_at)],
      ], { testid: 'supplier-qa' })
      : h('p', { class: 'empty' }, 'Customer care has not asked the supplier.');

    let planView = h('p', { class: 'empty', 'data-testid': 'no-plan' }, 'No plan yet.');
    if (plan) {
      planView = [
        table({
          caption: 'Plan', testid: 'plan-lines',
          columns: [
            { label: 'SKU', cell: (l) => code(l.sku) },
            { label: 'Resolution', cell: (l) => label(l.resolution) },
            { label: 'Quantity', class: 'num', cell: (l) => number(l.quantity) },
            { label: 'Refund', class: 'num', cell: (l) => money(l.refund_cents, currency) },
            { label: 'Paid', class: 'num', cell: (l) => money(l.paid_cents, currency) },
            { label: 'Charge-back', class: 'num', cell: (l) => money(l.charge_back_cents, currency) },
          ],
          rows: plan.lines || [],
          rowAttrs: (l) => ({ 'data-sku': l.sku }),
        }),
        facts([
          ['Refund total', h('strong', { 'data-testid': 'plan-total', 'data-cents': plan.refund_cents }, money(plan.refund_cents, currency))],
          ['Charged back', [money(plan.charge_back_cents, currency), ' ', muted(plan.supplier_bears ? `(${c.supplier_id} bears it)` : '(the shop bears it)')]],
          ['Approval', h('span', { 'data-testid': 'plan-approval', 'data-needs-approval': String(Boolean(plan.needs_approval)) },
            plan.needs_approval
              ? `Needs an admin's approval: above the threshold of ${money(threshold, currency)}`
              : `Within the threshold of ${money(threshold, currency)}: no approval needed`)],
          ['Proposed', [actorText(plan.proposed_by), ', ', when(plan.proposed_at)]],
          ['Approved', plan.approved_at ? [actorText(plan.approved_by), ', ', when(plan.approved_at)] : muted('not yet')],
        ], { testid: 'plan-facts' }),
      ];
    }

    const refunds = table({
      caption: 'Refunds', testid: 'complaint-refunds', empty: 'No refunds yet.',
      columns: [
        { label: 'Refund', cell: (x) => code(x.id) },
        { label: 'SKU', cell: (x) => code(x.sku) },
        { label: 'Amount', class: 'num', cell: (x) => money(x.amount_cents, currency) },
        { label: 'Status', cell: (x) => badge(x.status) },
        { label: 'Reference', cell: (x) => x.gateway_reference || '—' },
        { label: 'Created', cell: (x) => when(x.created_at) },
      ],
      rows: c.refunds || [],
    });

    const ret = c.return;
    const returnView = ret
      ? [facts([
        ['Status', badge(ret.status, { testid: 'return-status' })],
        ['Return', code(ret.id)],
        ['Instructions', ret.instructions ? h('span', { class: 'break' }, ret.instructions) : '—'],
        ['Carrier', ret.carrier || '—'],
        ['Tracking number', ret.tracking_number ? code(ret.tracking_number) : '—'],
        ['Authorised', when(ret.authorised_at)],
        ['Received', when(ret.received_at)],
      ], { testid: 'complaint-return' }),
      table({
        caption: 'Lines to return', testid: 'return-lines',
        columns: [
          { label: 'SKU', cell: (l) => code(l.sku) },
          { label: 'Quantity', class: 'num', cell: (l) => number(l.quantity) },
          { label: 'Refund on receipt', class: 'num', cell: (l) => money(l.refund_cents, currency) },
        ],
        rows: ret.lines || [],
      })]
      : h('p', { class: 'empty' }, 'No return.');

    const rep = c.replacement;
    const replacementView = rep
      ? [facts([
        ['Status', badge(rep.status, { testid: 'replacement-status' })],
        ['Carrier', rep.carrier || '—'],
        ['Tracking number', rep.tracking_number ? code(rep.tracking_number) : '—'],
        ['Lines', (rep.lines || []).map((l) => `${l.sku} × ${number(l.quantity)}`).join(', ') || '—'],
      ], { testid: 'complaint-replacement' })]
      : h('p', { class: 'empty' }, 'No replacement.');

    const m = c.money || {};
    return [
      heading(`Complaint ${c.id}`, h('span', { class: 'head-badge' }, badge(c.status, { testid: 'complaint-status' }))),
      shown ? notice(`${shown} The complaint is now ${label(c.status).toLowerCase()}.`) : null,
      facts([
        ['Reason', h('span', { 'data-testid': 'complaint-reason', 'data-reason': c.reason }, label(c.reason))],
        ['Customer wants', label(c.wanted_resolution)],
        ['Order', link(`#/orders/${encodeURIComponent(c.order_id)}`, c.order_id)],
        ['Customer', [c.customer_email || muted('no e-mail'), c.customer_id ? [' ', link(`#/orders?customer_id=${encodeURIComponent(c.customer_id)}`, `(${c.customer_id}: all orders)`)] : null]],
        ['Supplier', c.supplier_id],
        ['Purchase order', c.po_id ? link(`#/purchase-orders/${encodeURIComponent(c.po_id)}`, c.po_id) : '—'],
        ['Campaign', c.campaign_id ? link(`#/campaigns/${encodeURIComponent(c.campaign_id)}`, c.campaign_id) : '—'],
        ['Opened', when(c.opened_at)],
        ['Last change', when(c.updated_at)],
        ['Description', c.description ? h('span', { class: 'break' }, c.description) : muted('none')],
      ], { testid: 'complaint-header' }),
      section('Actions', actions),
      section('Who works on it', assignPanel('complaint', c.id, me)),
      section('Claimed lines', table({
        caption: 'Claimed lines', testid: 'complaint-lines',
        columns: [
          { label: 'SKU', cell: (l) => code(l.sku) },
          { label: 'Product', cell: (l) => l.name || '—' },
          { label: 'Quantity', class: 'num', cell: (l) => number(l.quantity) },
          { label: 'Unit price', class: 'num', cell: (l) => money(l.unit_price_cents, currency) },
          { label: 'Paid', class: 'num', cell: (l) => money(l.paid_cents, currency) },
        ],
        rows: c.lines || [],
      })),
      section('Photos', photoList),
      section('The supplier\'s side', supplierSide),
      section('Plan', planView),
      section('Money', facts([
        ['Captured', money(m.captured_cents, currency)],
        ['Refunded', money(m.refunded_cents, currency)],
        ['Still refundable', money(m.refundable_cents, currency)],
      ], { testid: 'complaint-money' })),
      section('Refunds', refunds),
      section('Return', returnView),
      section('Replacement', replacementView),
      section('Audit trail', noteForm, auditTrail(c.events, { testid: 'complaint-audit-trail' })),
    ];
  },
};
