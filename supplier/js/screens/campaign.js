// One campaign: its purchase order(s) (from GET /supplier/campaigns), the sales so far per product
// (GET /supplier/campaigns/{id}/sales: counters the order transactions keep) and its product files.

import * as api from '../../../admin/js/api.js';
import { h } from '../../../admin/js/dom.js';
import { money, number } from '../../../admin/js/format.js';
import { badge, errorAlert, heading, muted, section } from '../../../admin/js/ui.js';
import { cards, noSuchRoute } from '../common.js';
import { campaignCard } from './campaigns.js';
import { filesPanel } from './files.js';

function salesPanel(result) {
  if (!result.ok) {
    // No figures rather than made-up ones when the API has no sales route (or the campaign has none).
    if (noSuchRoute(result.error)) {
      return section('Sales so far', h('p', { class: 'empty', 'data-testid': 'sales-unavailable' }, 'Sales figures are not available.'));
    }
    return section('Sales so far', errorAlert(result.error));
  }
  const sales = result.value;
  const totalUnits = sales.items.reduce((n, i) => n + i.units, 0);
  const totalCents = sales.items.reduce((n, i) => n + i.amount_cents, 0);
  return section('Sales so far',
    cards(sales.items, (i) => h('li', { class: 'card', 'data-testid': 'sales-card', 'data-product': i.product_id },
      h('h3', {}, i.name),
      h('p', {}, h('span', { 'data-testid': 'sales-units' }, `${number(i.units)} sold`), ' · ',
        h('span', { 'data-testid': 'sales-amount' }, money(i.amount_cents, sales.currency)))),
    { testid: 'sales', label: 'Sales per product', empty: 'Nothing sold yet.' }),
    sales.items.length ? h('p', { 'data-testid': 'sales-total' }, `In all: ${number(totalUnits)} sold, ${money(totalCents, sales.currency)}.`) : null);
}

export default {
  name: 'campaign',
  title: 'Campaign',
  async render({ params, signal, reload, setTitle }) {
    const id = params.campaignId;
    const r = await api.parallel({
      list: api.get('/supplier/campaigns', undefined, { signal }),
      sales: api.get(`/supplier/campaigns/${encodeURIComponent(id)}/sales`, undefined, { signal }),
    });
    if (!r.list.ok) throw r.list.error;
    const mine = r.list.value.items.filter((c) => c.campaign_id === id);
    if (!mine.length) {
      return [heading('Campaign'), errorAlert({ status: 404, code: 'not_found', message: `You have no purchase order in campaign ${id}.` })];
    }
    const name = mine[0].name || id;
    setTitle(`Campaign ${name}`);
    return [
      heading(name, badge(mine[0].campaign_status, { testid: 'campaign-status' })),
      h('p', { class: 'lede' }, muted(`Campaign ${id}`)),
      section('Purchase orders', cards(mine, campaignCard, { testid: 'campaign-pos', label: 'Purchase orders' })),
      salesPanel(r.sales),
      await filesPanel(id, { signal, reload }),
    ];
  },
};
