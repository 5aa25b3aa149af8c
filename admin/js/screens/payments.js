// Payment approvals: GET /staff/payment-proposals?status=... (pending by default, oldest first);
// for payments.decide, Approve / Reject (with a reason) -> POST .../approve | .../reject. A pending
// row shows what the decision rests on, read from its purchase order (GET /staff/purchase-orders/{po_id},
// once per PO, a few at a time): the supplier's invoices (download links) and accepted vs invoiced vs
// already proposed or paid. Approve asks first, naming the amount and the supplier: money leaves
// only on that second, explicit press. After a decision the purchase order is read again until its
// stage moves on, so the result of the decision is visible here.

import * as api from '../api.js';
import { PROPOSAL_STATUSES } from '../constants.js';
import { h, replace, uid } from '../dom.js';
import { label, money, when } from '../format.js';
import {
  act, badge, button, code, errorSlot, field, heading, link, muted, pager, section, select, textarea,
} from '../ui.js';

const cursorStacks = new Map();
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const CONTEXT_READS_AT_ONCE = 4;

/** Run `work(item)` over `items`, at most `limit` at a time. */
async function eachLimited(items, limit, work) {
  const queue = [...items];
  const runners = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    while (queue.length) await work(queue.shift());
  });
  await Promise.all(runners);
}

/** The figures a payment decision rests on, from its purchase order. */
function contextOf(p, po) {
  const invoices = po.invoices || [];
  const open = po.invoiced_cents - po.paid_cents - po.charge_back_cents;
  const warnings = [];
  if (!invoices.length) warnings.push('No invoice on this purchase order yet.');
  if (po.invoiced_cents > po.accepted_cents) {
    warnings.push(`Invoiced ${money(po.invoiced_cents - po.accepted_cents, po.currency)} more than was accepted.`);
  }
  if (p.status === 'pending' && p.amount_cents > open) {
    warnings.push(`This proposal is ${money(p.amount_cents - open, p.currency)} more than is invoiced and unpaid.`);
  }
  return h('div', { class: 'decision-context', 'data-testid': 'proposal-context' },
    invoices.length
      ? h('ul', { class: 'plain-list', 'aria-label': 'Invoices' }, invoices.map((i) => h('li', {},
        link(i.download_url, `Invoice ${i.number}`, { 'data-testid': 'invoice-link', rel: 'noopener', target: '_blank' }),
        ` ${money(i.amount_cents, i.currency)}`)))
      : null,
    h('dl', { class: 'figures' },
      h('dt', {}, 'Accepted'), h('dd', { 'data-testid': 'accepted-amount' }, money(po.accepted_cents, po.currency)),
      h('dt', {}, 'Invoiced'), h('dd', { 'data-testid': 'invoiced-amount' }, money(po.invoiced_cents, po.currency)),
      h('dt', {}, 'Paid'), h('dd', {}, money(po.paid_cents, po.currency)),
      po.charge_back_cents ? [h('dt', {}, 'Charged back'), h('dd', {}, money(po.charge_back_cents, po.currency))] : null),
    warnings.map((w) => h('p', { class: 'warning', 'data-testid': 'context-warning' }, w)));
}

export default {
  name: 'payments',
  title: 'Payment approvals',
  async render({ query, signal, can, navigate, isCurrent }) {
    const status = query.get('status') || 'pending';
    const cursor = query.get('cursor') || '';
    const stack = cursorStacks.get(status) || [];
    cursorStacks.set(status, stack);
    const hashFor = (extra) => {
      const params = new URLSearchParams({ status, ...extra });
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      return `#/payments?${params}`;
    };

    const listSlot = errorSlot();
    let page = null;
    try {
      page = await api.get('/staff/payment-proposals', { status, limit: 50, cursor }, { signal });
    } catch (error) {
      if (error.name === 'AbortError' || error.status === 401) throw error;
      listSlot.show(error);
    }
    const items = page ? [...page.items] : [];
    const decisions = h('ul', { class: 'decisions', 'data-testid': 'decisions', 'aria-live': 'polite' });
    const decisionsSection = section('Decisions made here', decisions);
    decisionsSection.hidden = true;

    const statusSelect = select('status', PROPOSAL_STATUSES.map((s) => [s, label(s)]), status);
    statusSelect.addEventListener('change', () => navigate(`#/payments?status=${statusSelect.value}`));

    /** Show the decision and follow the PO until it leaves the stage it was in. */
    async function followPo(proposal, verb) {
      decisionsSection.hidden = false;
      const stageHost = h('span', { 'data-testid': 'decision-po-stage' }, muted('reading the purchase order…'));
      const entry = h('li', { 'data-testid': 'decision', 'data-proposal': proposal.id, 'data-po': proposal.po_id },
        `${verb} ${money(proposal.amount_cents, proposal.currency)} to ${proposal.supplier_id}. Purchase order `,
        link(`#/purchase-orders/${encodeURIComponent(proposal.po_id)}`, proposal.po_id), ': ', stageHost);
      decisions.prepend(entry);
      for (let i = 0; i < 20 && isCurrent(); i += 1) {
        try {
          const po = await api.get(`/staff/purchase-orders/${encodeURIComponent(proposal.po_id)}`);
          // Between two stages the PO has none for a moment: keep reading until the next one opens.
          const moved = po.status !== 'open' || (po.stage && po.stage !== 'payment_approval');
          const text = po.stage ? `stage ${label(po.stage).toLowerCase()}` : label(po.status).toLowerCase();
          if (moved || po.stage) {
            replace(stageHost, badge(po.stage || po.status, { testid: 'po-stage', text }),
              po.stage_deadline ? [' (deadline ', when(po.stage_deadline), ')'] : null);
            stageHost.dataset.stage = po.stage || '';
          }
          if (moved) return;
        } catch (error) {
          replace(stageHost, error.message);
          return;
        }
        await sleep(1500);
      }
    }

    function actions(p, row) {
      if (!can('payments.decide') || p.status !== 'pending') return muted('—');
      const slot = errorSlot();
      const approve = button('Approve', { class: 'primary small', 'aria-expanded': 'false' });
      const reject = button('Reject', { class: 'danger small', 'aria-expanded': 'false' });
      const amount = money(p.amount_cents, p.currency);
      const pay = button(`Pay ${amount}`, { class: 'primary small', 'data-testid': 'confirm-pay' });
      const keep = button('Cancel', { class: 'small' });
      const askId = uid('confirm');
      const ask = h('div', { class: 'confirm', id: askId, role: 'group', hidden: true, 'aria-label': 'Confirm the payment',
        'data-testid': 'confirm-approve' },
      h('p', {}, 'Pay ', h('strong', {}, amount), ' to ', h('strong', {}, p.supplier_id), ' for purchase order ', code(p.po_id), '?'),
      h('p', { class: 'hint' }, 'The bank is told at once; this cannot be undone here.'),
      h('div', { class: 'button-row' }, pay, keep));
      approve.setAttribute('aria-controls', askId);
      const reason = textarea('note', { rows: 2, required: true });
      const confirm = h('button', { type: 'submit', class: 'danger small' }, 'Reject proposal');
      const formId = uid('reject');
      const form = h('form', { class: 'inline-form', id: formId, hidden: true, 'aria-label': 'Reject proposal' },
        field('Reason', reason, { hint: 'Told to the supplier, who proposes again.' }), confirm);
      reject.setAttribute('aria-controls', formId);
      reject.addEventListener('click', () => {
        form.hidden = !form.hidden;
        reject.setAttribute('aria-expanded', String(!form.hidden));
        if (!form.hidden) reason.focus();
      });
      const decide = async (verb, controls, body) => {
        const updated = await act(controls, slot, () => api.post(`/staff/payment-proposals/${encodeURIComponent(p.id)}/${verb}`, body),
          { success: `Proposal ${verb === 'approve' ? 'approved' : 'rejected'}.` });
        if (!updated) return;
        row.dataset.status = updated.status;
        replace(row.querySelector('[data-col="status"]'), badge(updated.status, { testid: 'proposal-status' }));
        replace(row.querySelector('[data-col="actions"]'), muted(label(updated.status)));
        followPo(updated, verb === 'approve' ? 'Approved' : 'Rejected');
      };
      const asking = (open) => {
        ask.hidden = !open;
        approve.setAttribute('aria-expanded', String(open));
        (open ? pay : approve).focus();
      };
      approve.addEventListener('click', () => asking(ask.hidden));
      keep.addEventListener('click', () => asking(false));
      pay.addEventListener('click', () => decide('approve', [approve, reject, pay, keep], {}));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!reason.value.trim()) {
          slot.show({ message: 'Give a reason for rejecting the proposal.' });
          reason.focus();
          return;
        }
        decide('reject', [approve, reject, confirm], { note: reason.value });
      });
      return h('div', { class: 'cell-actions' }, h('div', { class: 'button-row' }, approve, reject), ask, form, slot);
    }

    let list = null;
    if (page) {
      list = items.length
        ? h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': 'Payment proposals' },
          h('table', { 'data-testid': 'proposals-table' },
            h('caption', { class: 'visually-hidden' }, `${label(status)} payment proposals`),
            h('thead', {}, h('tr', {}, ['Proposal', 'Purchase order', 'Supplier', 'Amount', 'Invoice and amounts', 'Proposed', 'Status', 'Note', 'Decision']
              .map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, items.map((p) => {
              const row = h('tr', { 'data-testid': 'proposal-row', 'data-id': p.id, 'data-po': p.po_id, 'data-status': p.status },
                h('th', { scope: 'row' }, code(p.id)),
                h('td', {}, link(`#/purchase-orders/${encodeURIComponent(p.po_id)}`, p.po_id),
                  h('span', { class: 'sub' }, 'campaign ', link(`#/campaigns/${encodeURIComponent(p.campaign_id)}`, p.campaign_id))),
                h('td', {}, p.supplier_id),
                h('td', { class: 'num' }, money(p.amount_cents, p.currency)),
                h('td', { 'data-col': 'context' }, p.status === 'pending' ? muted('reading the purchase order…') : muted('—')),
                h('td', {}, when(p.created_at)),
                h('td', { 'data-col': 'status' }, badge(p.status, { testid: 'proposal-status' })),
                h('td', {}, p.note || '—'),
                h('td', { 'data-col': 'actions' }));
              row.querySelector('[data-col="actions"]').append(actions(p, row));
              return row;
            }))))
        : h('p', { class: 'empty', 'data-testid': 'proposals-table-empty' }, `No ${status} payment proposals.`);
    }

    // What each pending decision rests on: one read per purchase order, a few at a time.
    if (list && items.length) {
      const rowsByPo = new Map();
      for (const row of list.querySelectorAll('[data-testid="proposal-row"][data-status="pending"]')) {
        rowsByPo.set(row.dataset.po, [...(rowsByPo.get(row.dataset.po) || []), row]);
      }
      const byId = new Map(items.map((p) => [p.id, p]));
      eachLimited([...rowsByPo.keys()], CONTEXT_READS_AT_ONCE, async (poId) => {
        let po = null;
        let failed = null;
        try {
          po = await api.get(`/staff/purchase-orders/${encodeURIComponent(poId)}`, {}, { signal });
        } catch (error) {
          if (error.name === 'AbortError') return;
          failed = error;
        }
        for (const row of rowsByPo.get(poId)) {
          const cell = row.querySelector('[data-col="context"]');
          if (cell) replace(cell, po ? contextOf(byId.get(row.dataset.id), po) : muted(`Could not read the purchase order: ${failed.message}`));
        }
      });
    }

    return [
      heading('Payment approvals'),
      h('p', { class: 'lede' }, can('payments.decide')
        ? 'Suppliers\' payment proposals, oldest first. Approving sends the payment to the bank.'
        : 'Suppliers\' payment proposals. Accounting approves or rejects them.'),
      h('div', { class: 'toolbar' }, field('Status', statusSelect, { class: 'inline' })),
      decisionsSection,
      listSlot,
      list,
      page ? pager({
        hasPrevious: Boolean(cursor),
        nextCursor: page.next_cursor,
        onPrevious: () => navigate(hashFor({ cursor: stack.pop() || '' })),
        onNext: () => { stack.push(cursor); navigate(hashFor({ cursor: page.next_cursor })); },
      }) : null,
    ];
  },
};
