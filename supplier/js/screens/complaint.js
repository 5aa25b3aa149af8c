// A complaint about one of my deliveries (GET /supplier/complaints/{id}): what is claimed, the photos,
// customer care's question and my answer (POST .../answer while allowed_actions holds "answer"); the
// plan and my share of it; a replacement to send (POST .../replacement-shipment) and goods coming back
// (POST .../return/receive).

import * as api from '../../../admin/js/api.js';
import { h } from '../../../admin/js/dom.js';
import { label, money, number, when } from '../../../admin/js/format.js';
import {
  act, badge, code, errorSlot, facts, field, heading, input, link, notice, section, select, textarea,
} from '../../../admin/js/ui.js';
import { apiSpec, cards, enumOf } from '../common.js';

let flash = null;

export default {
  name: 'complaint',
  title: 'Complaint',
  async render({ params, signal, reload, setTitle }) {
    const path = `/supplier/complaints/${encodeURIComponent(params.complaintId)}`;
    const [c, doc] = await Promise.all([api.get(path, undefined, { signal }), apiSpec(signal)]);
    setTitle(`Complaint ${c.id}`);
    const shown = flash;
    flash = null;
    const allowed = c.allowed_actions || [];

    let answer = null;
    if (allowed.includes('answer')) {
      const text = textarea('answer', { rows: 4, required: true, maxlength: 4000 });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Send answer');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Answer customer care', 'data-testid': 'answer-form' },
        field('Your answer', text, { hint: 'Customer care reads it; the customer does not.' }),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (await act(submit, slot, () => api.post(`${path}/answer`, { answer: text.value, expected_version: c.version }))) {
          flash = 'Your answer is sent to customer care.';
          reload();
        }
      });
      answer = form;
    }

    let replacement = null;
    if (c.replacement && c.replacement.status === 'requested') {
      const carrier = select('carrier', enumOf(doc, 'ParcelIn', 'carrier').map((x) => [x, x.toUpperCase()]), null, { required: true });
      const tracking = input('tracking_number', { required: true, autocomplete: 'off', pattern: '[A-Za-z0-9-]{4,64}' });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Record replacement parcel');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'Send the replacement' },
        h('div', { class: 'form-row' }, field('Carrier', carrier), field('Tracking number', tracking)),
        h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        if (await act(submit, slot, () => api.post(`${path}/replacement-shipment`, { carrier: carrier.value, tracking_number: tracking.value.trim() }))) {
          flash = 'The replacement parcel is recorded.';
          reload();
        }
      });
      replacement = form;
    }

    let receive = null;
    if (c.return && !c.return.received_at && c.return.status !== 'received') {
      const go = h('button', { type: 'button', class: 'primary' }, 'The returned goods arrived');
      const slot = errorSlot();
      go.addEventListener('click', async () => {
        if (await act(go, slot, () => api.post(`${path}/return/receive`, { expected_version: c.version }))) {
          flash = 'Recorded: the returned goods arrived.';
          reload();
        }
      });
      receive = h('div', {}, go, slot);
    }

    return [
      heading(`Complaint ${c.id}`, badge(c.status, { testid: 'complaint-status' })),
      shown ? notice(shown) : null,
      facts([
        ['Reason', label(c.reason)],
        ['The customer would like', label(c.wanted_resolution)],
        ['Order', code(c.order_id)],
        ['Purchase order', c.po_id ? link(`#/purchase-orders/${encodeURIComponent(c.po_id)}`, c.po_id) : '—'],
        ['Opened', when(c.opened_at)],
      ], { testid: 'complaint-facts' }),
      section('What is claimed',
        c.description ? h('p', { 'data-testid': 'complaint-description' }, c.description) : null,
        cards(c.lines || [], (l) => h('li', { class: 'card' }, h('h3', {}, l.name),
          h('p', {}, `${number(l.quantity)} × `, code(l.sku), ` · paid ${money(l.paid_cents, c.currency)}`)),
        { label: 'Claimed lines', testid: 'complaint-lines' }),
        (c.photos || []).length ? h('ul', { class: 'photos', 'aria-label': 'Photos' }, c.photos.map((p, i) => h('li', { class: 'photo' },
          h('a', { href: p.url, rel: 'noopener' }, h('img', { class: 'thumb', src: p.url, alt: `Photo ${i + 1} from the customer` }))))) : null),
      section('Question from customer care',
        c.supplier_question ? h('p', { 'data-testid': 'supplier-question' }, c.supplier_question) : h('p', { class: 'empty' }, 'Customer care has not asked you anything.'),
        c.supplier_answer ? facts([['Your answer', h('span', { 'data-testid': 'supplier-answer' }, c.supplier_answer)], ['Answered', when(c.supplier_answered_at)]]) : null,
        answer),
      c.plan ? section('The plan', cards(c.plan.lines, (l) => h('li', { class: 'card' },
        h('h3', {}, code(l.sku), ' ', label(l.resolution)),
        h('p', {}, `${number(l.quantity)} · refund ${money(l.refund_cents, c.currency)}`,
          l.charge_back_cents !== null && l.charge_back_cents !== undefined ? ` · charged back to you ${money(l.charge_back_cents, c.currency)}` : '')),
      { label: 'Plan lines' })) : null,
      c.replacement ? section('Replacement', facts([
        ['Status', badge(c.replacement.status)],
        ['Carrier', c.replacement.carrier || '—'],
        ['Tracking number', c.replacement.tracking_number || '—'],
      ]), replacement) : null,
      c.return ? section('Return', facts([
        ['Status', badge(c.return.status)],
        ['Instructions', c.return.instructions],
        ['Parcel', c.return.tracking_number ? `${c.return.carrier || ''} ${c.return.tracking_number}` : '—'],
        ['Received', when(c.return.received_at)],
      ]), receive) : null,
    ];
  },
};
