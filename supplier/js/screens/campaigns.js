// My campaigns (GET /supplier/campaigns): one card per purchase order, live campaigns first, with
// the campaign's, the payment's and the shipment's status, and links to the campaign and the PO.

import * as api from '../../../admin/js/api.js';
import { h } from '../../../admin/js/dom.js';
import { badge, facts, heading, link, section } from '../../../admin/js/ui.js';
import { cards } from '../common.js';

// Campaigns still taking orders; everything else (ended, closed, cancelled) is past.
const LIVE = ['live', 'draft'];

export function campaignCard(c) {
  return h('li', { class: 'card', 'data-testid': 'campaign-card', 'data-campaign': c.campaign_id, 'data-po': c.po_id },
    h('div', { class: 'card-head' },
      h('h3', {}, link(`#/campaigns/${encodeURIComponent(c.campaign_id)}`, c.name || c.campaign_id, { 'data-testid': 'campaign-link' })),
      badge(c.campaign_status, { testid: 'campaign-status' })),
    facts([
      ['Purchase order', link(`#/purchase-orders/${encodeURIComponent(c.po_id)}`, c.po_id, { 'data-testid': 'po-link' })],
      ['Order status', badge(c.po_status, { testid: 'po-status' })],
      ['Step', c.stage ? badge(c.stage, { testid: 'po-stage' }) : '—'],
      ['Payment', badge(c.payment_status, { testid: 'payment-status' })],
      ['Shipment', badge(c.shipment_status, { testid: 'shipment-status' })],
    ]));
}

export default {
  name: 'campaigns',
  title: 'Campaigns',
  async render({ signal }) {
    const { items } = await api.get('/supplier/campaigns', undefined, { signal });
    const live = items.filter((c) => LIVE.includes(c.campaign_status));
    const past = items.filter((c) => !LIVE.includes(c.campaign_status));
    return [
      heading('Campaigns'),
      h('p', { class: 'lede' }, 'The campaigns you supply, with where each purchase order stands.'),
      section('Live campaigns', cards(live, campaignCard, { testid: 'live-campaigns', label: 'Live campaigns',
        empty: 'No live campaign: your products are not on sale right now.' })),
      section('Past campaigns', cards(past, campaignCard, { testid: 'past-campaigns', label: 'Past campaigns',
        empty: 'No past campaigns yet.' })),
    ];
  },
};
