// Payment approvals: GET /staff/payment-proposals?status=... (pending by default, oldest first);
// for payments.decide, Approve / Reject (with a reason) -> POST .../approve | .../reject. After a
// decision the purchase order is read again (GET /staff/purchase-orders/{po_id}) until its stage
// moves on, so the result of the decision is visible here.

import * as api from '../api.js';
import { PROPOSAL_STATUSES } from '../constants.js';
import { h, replace, uid } from '../dom.js';
import { label, money, when } from '../format.js';
import {
  act, badge, button, code, errorSlot, field, heading, link, muted, pager, section, select, textarea,
} from '../ui.js';

const cursorStacks = new Map();
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

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
      const approve = button('Approve', { class: 'primary small' });
      const reject = button('Reject', { class: 'danger small', 'aria-expanded': 'false' });
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
      approve.addEventListener('click', () => decide('approve', [approve, reject], {}));
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        if (!reason.value.trim()) {
          slot.show({ message: 'Give a reason for rejecting the proposal.' });
          reason.focus();
          return;
        }
        decide('reject', [approve, reject, confirm], { note: reason.value });
      });
      return h('div', { class: 'cell-actions' }, h('div', { class: 'button-row' }, approve, reject), form, slot);
    }

    let list = null;
    if (page) {
      list = items.length
        ? h('div', { class: 'table-wrap', role: 'region', tabindex: '0', 'aria-label': 'Payment proposals' },
          h('table', { 'data-testid': 'proposals-table' },
            h('caption', { class: 'visually-hidden' }, `${label(status)} payment proposals`),
            h('thead', {}, h('tr', {}, ['Proposal', 'Purchase order', 'Supplier', 'Amount', 'Proposed', 'Status', 'Note', 'Decision']
              .map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, items.map((p) => {
              const row = h('tr', { 'data-testid': 'proposal-row', 'data-id': p.id, 'data-po': p.po_id, 'data-status': p.status },
                h('th', { scope: 'row' }, code(p.id)),
                h('td', {}, link(`#/purchase-orders/${encodeURIComponent(p.po_id)}`, p.po_id),
                  h('span', { class: 'sub' }, 'campaign ', link(`#/campaigns/${encodeURIComponent(p.campaign_id)}`, p.campaign_id))),
                h('td', {}, p.supplier_id),
                h('td', { class: 'num' }, money(p.amount_cents, p.currency)),
                h('td', {}, when(p.created_at)),
                h('td', { 'data-col': 'status' }, badge(p.status, { testid: 'proposal-status' })),
                h('td', {}, p.note || '—'),
                h('td', { 'data-col': 'actions' }));
              row.querySelector('[data-col="actions"]').append(actions(p, row));
              return row;
            }))))
        : h('p', { class: 'empty', 'data-testid': 'proposals-table-empty' }, `No ${status} payment proposals.`);
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
