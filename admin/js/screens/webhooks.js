// Webhook subscriptions: GET /staff/webhook-subscriptions; for webhooks.manage, create
// (POST, answers the signing secret once), edit URL/description/event types/active (PUT with
// expected_version) and rotate the secret (POST .../rotate-secret, answered once).

import * as api from '../api.js';
import { EVENT_TYPES } from '../constants.js';
import { h, replace, uid } from '../dom.js';
import { label, when } from '../format.js';
import {
  act, badge, button, checkbox, code, errorSlot, field, heading, input, link, muted, notice, section, table,
} from '../ui.js';

/** Event types as checkboxes, grouped by what they are about. */
function eventTypesFieldset(selected = []) {
  const groups = {};
  for (const t of EVENT_TYPES) (groups[t.split('.')[0]] ||= []).push(t);
  const boxes = [];
  const fieldset = h('fieldset', { class: 'event-types' }, h('legend', {}, 'Event types'),
    Object.entries(groups).map(([group, types]) => {
      const id = uid('grp');
      const groupBoxes = types.map((t) => checkbox(t, { name: 'event_types', value: t, checked: selected.includes(t) }));
      boxes.push(...groupBoxes);
      const all = button(`All ${group} events`, { class: 'link-button small', onclick: () => {
        const on = !groupBoxes.every((b) => b.input.checked);
        groupBoxes.forEach((b) => { b.input.checked = on; });
      } });
      return h('div', { class: 'event-group', role: 'group', 'aria-labelledby': id },
        h('p', { class: 'group-title', id }, label(group), ' ', all),
        h('div', { class: 'checks' }, groupBoxes));
    }));
  fieldset.values = () => boxes.filter((b) => b.input.checked).map((b) => b.input.value);
  return fieldset;
}

/** A secret answered once: shown with a warning, selectable. */
function secretBox(sub, verb) {
  return h('div', { class: 'secret', role: 'status', 'data-testid': 'webhook-secret' },
    h('p', {}, `${verb} ${sub.url}. Its signing secret is shown now and never again: store it with the subscriber.`),
    field('Signing secret', input('secret', { value: sub.secret, readonly: true, class: 'mono', spellcheck: 'false', onfocus: (e) => e.target.select() })));
}

export default {
  name: 'webhooks',
  title: 'Webhooks',
  async render({ signal, can }) {
    const manage = can('webhooks.manage');
    const listSlot = errorSlot();
    let items = [];
    let loaded = false;
    try {
      items = (await api.get('/staff/webhook-subscriptions', { limit: 100 }, { signal })).items;
      loaded = true;
    } catch (error) {
      if (error.name === 'AbortError' || error.status === 401) throw error;
      listSlot.show(error);
    }
    const listHost = h('div');
    const feedback = h('div', { class: 'feedback' });

    function editor(sub) {
      const url = input('url', { type: 'url', value: sub.url, required: true });
      const description = input('description', { value: sub.description || '' });
      const types = eventTypesFieldset(sub.event_types);
      const active = checkbox('Active (re-enables a disabled subscription)', { name: 'active', checked: sub.active });
      const save = h('button', { type: 'submit', class: 'primary small' }, 'Save changes');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': `Edit ${sub.url}` },
        field('URL', url), field('Description', description), types, active, h('div', { class: 'actions' }, save), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = { url: url.value.trim(), description: description.value, event_types: types.values(), active: active.input.checked, expected_version: sub.version };
        const updated = await act(save, slot, () => api.put(`/staff/webhook-subscriptions/${encodeURIComponent(sub.id)}`, body), { success: 'Subscription saved.' });
        if (updated) {
          items = items.map((x) => (x.id === updated.id ? updated : x));
          renderList();
          replace(feedback, notice(`Saved ${updated.url}.`));
        }
      });
      return h('details', { class: 'row-actions' }, h('summary', {}, 'Edit'), form);
    }

    function actionsCell(sub) {
      const deliveries = link(`#/webhooks/deliveries?subscription_id=${encodeURIComponent(sub.id)}`, 'Deliveries');
      if (!manage) return deliveries;
      const slot = errorSlot();
      const rotate = button('Rotate secret', { class: 'small' });
      rotate.addEventListener('click', async () => {
        const rotated = await act(rotate, slot, () => api.post(`/staff/webhook-subscriptions/${encodeURIComponent(sub.id)}/rotate-secret`));
        if (rotated) {
          const view = { ...rotated };
          delete view.secret;
          items = items.map((x) => (x.id === view.id ? view : x));
          renderList();
          replace(feedback, secretBox(rotated, 'New secret for'));
          feedback.querySelector('input').focus();
        }
      });
      return h('div', { class: 'cell-actions' }, h('div', { class: 'button-row' }, deliveries, rotate), editor(sub), slot);
    }

    function renderList() {
      replace(listHost, table({
        caption: 'Subscriptions', testid: 'subscriptions-table', empty: 'No webhook subscriptions yet.',
        columns: [
          { label: 'URL', cell: (s) => [h('span', { class: 'mono break' }, s.url), s.description ? h('span', { class: 'sub' }, s.description) : null] },
          { label: 'State', cell: (s) => [badge(s.active ? 'active' : 'disabled'), s.disabled_reason ? h('span', { class: 'sub' }, s.disabled_reason, ' ', when(s.disabled_at)) : null] },
          { label: 'Event types', cell: (s) => h('details', {}, h('summary', {}, `${s.event_types.length} type${s.event_types.length === 1 ? '' : 's'}`), h('ul', { class: 'plain-list' }, s.event_types.map((t) => h('li', {}, code(t))))) },
          { label: 'Secret rotated', cell: (s) => [when(s.secret_rotated_at), s.previous_secret_valid_until ? h('span', { class: 'sub' }, 'old one valid until ', when(s.previous_secret_valid_until)) : null] },
          { label: 'Created', cell: (s) => when(s.created_at) },
          { label: 'Actions', cell: actionsCell },
        ],
        rows: items,
        rowAttrs: (s) => ({ 'data-testid': 'subscription-row', 'data-id': s.id }),
      }));
    }
    if (loaded) renderList();

    let create = null;
    if (manage) {
      const url = input('url', { type: 'url', required: true, placeholder: 'https://example.com/waybill-hooks' });
      const description = input('description');
      const types = eventTypesFieldset([]);
      const active = checkbox('Active', { name: 'active', checked: true });
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Create subscription');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'New subscription', novalidate: true },
        field('URL', url), field('Description', description), types, active, h('div', { class: 'actions' }, submit), slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = { url: url.value.trim(), event_types: types.values(), active: active.input.checked };
        if (description.value.trim()) body.description = description.value;
        const created = await act(submit, slot, () => api.post('/staff/webhook-subscriptions', body), { success: 'Subscription created.' });
        if (!created) return;
        const view = { ...created };
        delete view.secret;
        items = [view, ...items];
        renderList();
        replace(feedback, secretBox(created, 'Subscribed'));
        feedback.querySelector('input').focus();
        form.reset();
      });
      create = h('details', { class: 'panel panel-details' }, h('summary', {}, h('h2', { class: 'inline-heading' }, 'New subscription')), form);
    }

    return [
      heading('Webhooks'),
      h('p', { class: 'lede' }, 'Subscribers receive signed order, purchase-order, shipment and campaign events. ',
        link('#/webhooks/deliveries', 'See the delivery log.')),
      feedback,
      create,
      section('Subscriptions', listSlot, listHost),
      manage ? null : muted('Only admins change subscriptions.'),
    ];
  },
};
