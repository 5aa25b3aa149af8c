// Webhook delivery log: GET /staff/webhook-deliveries?status=&subscription_id= (newest first) and
// GET /staff/webhook-subscriptions (for the subscription choice) at the same time; each delivery's
// attempts on demand (GET .../{id}); Replay for webhooks.manage (POST .../{id}/replay).

import * as api from '../api.js';
import { DELIVERY_STATUSES } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, number, when } from '../format.js';
import {
  act, badge, button, code, errorSlot, field, heading, link, muted, notice, pager, select, table,
} from '../ui.js';

const cursorStacks = new Map();

function attemptsTable(detail) {
  return [
    table({
      caption: 'Attempts', testid: 'delivery-attempts', empty: 'No attempt yet.',
      columns: [
        { label: 'Attempt', cell: (a) => number(a.number) },
        { label: 'At', cell: (a) => when(a.at) },
        { label: 'Status code', cell: (a) => (a.status_code === null ? muted('none') : String(a.status_code)) },
        { label: 'Latency', class: 'num', cell: (a) => `${number(a.latency_ms)} ms` },
        { label: 'Response or error', cell: (a) => a.error || a.response_excerpt || '—' },
      ],
      rows: detail.attempts || [],
    }),
    h('details', {}, h('summary', {}, 'Payload'), h('pre', { class: 'payload' }, JSON.stringify(detail.payload, null, 2))),
  ];
}

export default {
  name: 'webhook-deliveries',
  title: 'Webhook deliveries',
  async render({ query, signal, can, navigate }) {
    const filters = { status: query.get('status') || '', subscription_id: query.get('subscription_id') || '' };
    const cursor = query.get('cursor') || '';
    const key = JSON.stringify(filters);
    const stack = cursorStacks.get(key) || [];
    cursorStacks.set(key, stack);
    const hashFor = (values, extra = {}) => {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries({ ...values, ...extra })) if (v) params.set(k, v);
      const text = params.toString();
      return `#/webhooks/deliveries${text ? `?${text}` : ''}`;
    };
    const r = await api.parallel({
      deliveries: api.get('/staff/webhook-deliveries', { ...filters, limit: 50, cursor }, { signal }),
      subscriptions: api.get('/staff/webhook-subscriptions', { limit: 100 }, { signal }),
    });
    const subs = r.subscriptions.ok ? r.subscriptions.value.items : [];
    const subName = (id) => (subs.find((s) => s.id === id) || {}).url || id;

    const statusSelect = select('status', [['', 'Any status'], ...DELIVERY_STATUSES.map((s) => [s, label(s)])], filters.status);
    const subSelect = select('subscription_id', [['', 'Any subscription'], ...subs.map((s) => [s.id, s.url])], filters.subscription_id);
    if (filters.subscription_id && !subs.some((s) => s.id === filters.subscription_id)) {
      subSelect.append(h('option', { value: filters.subscription_id, selected: true }, filters.subscription_id));
    }
    const form = h('form', { class: 'form filters', 'aria-label': 'Filter deliveries' },
      field('Status', statusSelect), field('Subscription', subSelect),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Filter')));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      navigate(hashFor({ status: statusSelect.value, subscription_id: subSelect.value }));
    });

    const listSlot = errorSlot();
    const feedback = h('div', { class: 'feedback' });
    let list = null;
    let pages = null;
    if (r.deliveries.ok) {
      const page = r.deliveries.value;
      list = table({
        caption: 'Deliveries, newest first', testid: 'deliveries-table', empty: 'No deliveries match.',
        columns: [
          { label: 'Delivery', cell: (d) => [code(d.id), d.replay_of ? h('span', { class: 'sub' }, 'replay of ', code(d.replay_of)) : null] },
          { label: 'Event', cell: (d) => [code(d.event_type), h('span', { class: 'sub' }, d.event_id)] },
          { label: 'Subscription', cell: (d) => h('span', { class: 'mono break' }, subName(d.subscription_id)) },
          { label: 'Status', cell: (d) => [badge(d.status, { testid: 'delivery-status' }), d.next_attempt_at ? h('span', { class: 'sub' }, 'next ', when(d.next_attempt_at)) : null] },
          { label: 'Attempts', class: 'num', cell: (d) => number(d.attempts_made) },
          { label: 'Created', cell: (d) => when(d.created_at) },
          {
            label: 'Actions',
            cell: (d) => {
              const slot = errorSlot();
              const more = h('div');
              const details = h('details', { class: 'row-actions' }, h('summary', {}, 'Attempts'), more);
              details.addEventListener('toggle', async () => {
                if (!details.open || more.dataset.loaded) return;
                more.dataset.loaded = '1';
                replace(more, muted('Loading…'));
                try {
                  replace(more, attemptsTable(await api.get(`/staff/webhook-deliveries/${encodeURIComponent(d.id)}`)));
                } catch (error) {
                  delete more.dataset.loaded;
                  more.replaceChildren();
                  slot.show(error);
                }
              });
              let replay = null;
              if (can('webhooks.manage')) {
                replay = button('Replay', { class: 'small' });
                replay.addEventListener('click', async () => {
                  const fresh = await act(replay, slot, () => api.post(`/staff/webhook-deliveries/${encodeURIComponent(d.id)}/replay`), { success: 'Replayed.' });
                  if (fresh) {
                    replace(feedback, notice(`Replayed ${d.id} as ${fresh.id}: ${label(fresh.status).toLowerCase()}.`));
                  }
                });
              }
              return h('div', { class: 'cell-actions' }, replay, details, slot);
            },
          },
        ],
        rows: page.items,
        rowAttrs: (d) => ({ 'data-testid': 'delivery-row', 'data-id': d.id, 'data-status': d.status }),
      });
      pages = pager({
        hasPrevious: Boolean(cursor),
        nextCursor: page.next_cursor,
        onPrevious: () => navigate(hashFor(filters, { cursor: stack.pop() || '' })),
        onNext: () => { stack.push(cursor); navigate(hashFor(filters, { cursor: page.next_cursor })); },
      });
    } else {
      listSlot.show(r.deliveries.error);
    }

    return [
      heading('Webhook deliveries'),
      h('p', { class: 'lede' }, link('#/webhooks', 'Back to subscriptions')),
      form,
      feedback,
      listSlot,
      list,
      pages,
    ];
  },
};
