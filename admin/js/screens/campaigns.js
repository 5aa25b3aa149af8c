// Campaigns: GET /staff/campaigns?status=... and GET /staff/suppliers at the same time; for
// catalogue.manage, create a draft campaign with products (POST /staff/campaigns) and create
// suppliers (POST /staff/suppliers).

import * as api from '../api.js';
import { CAMPAIGN_STATUSES } from '../constants.js';
import { h, replace } from '../dom.js';
import { label, minorDigits, toMinor, when } from '../format.js';
import {
  act, badge, button, errorSlot, field, heading, input, link, notice, pager, section, select, table,
} from '../ui.js';

const cursorStacks = new Map();

/** Rows of product inputs (sku, name, supplier, unit price, unit cost) that grow and shrink. */
export function productRows(suppliers, currency = () => 'EUR') {
  const body = h('div', { class: 'product-rows', 'data-testid': 'product-rows' });
  let n = 0;
  const addRow = () => {
    n += 1;
    const supplier = suppliers.length
      ? select('supplier_id', suppliers.map((s) => [s.id, `${s.name} (${s.id})`]))
      : input('supplier_id', { required: true, autocomplete: 'off' });
    const row = h('fieldset', { class: 'product-row', 'data-testid': 'product-row' },
      h('legend', {}, `Product ${n}`),
      field('SKU', input('sku', { required: true, autocomplete: 'off', pattern: '[A-Za-z0-9_.-]{1,64}' })),
      field('Product name', input('name', { required: true, autocomplete: 'off' })),
      field('Supplier', supplier),
      field(`Unit price`, input('unit_price', { inputmode: 'decimal', required: true, autocomplete: 'off' }), { hint: 'What the customer pays, e.g. 12.50' }),
      field(`Unit cost`, input('unit_cost', { inputmode: 'decimal', required: true, autocomplete: 'off' }), { hint: 'What the supplier is paid' }),
      button('Remove product', { class: 'link-button', onclick: () => { row.remove(); } }));
    body.append(row);
    row.querySelector('input').focus();
  };
  const add = button('Add product row', { onclick: addRow });
  return {
    element: h('div', {}, body, add),
    addRow,
    /** The rows as ProductIn objects; prices in minor units (NaN stays NaN: the API says what is wrong). */
    values() {
      return [...body.querySelectorAll('.product-row')].map((row) => {
        const v = (name) => row.querySelector(`[name="${name}"]`).value.trim();
        const cur = currency();
        const price = toMinor(v('unit_price'), cur);
        const cost = toMinor(v('unit_cost'), cur);
        return {
          sku: v('sku'), name: v('name'), supplier_id: v('supplier_id'),
          unit_price_cents: Number.isNaN(price) ? v('unit_price') : price,
          unit_cost_cents: Number.isNaN(cost) ? v('unit_cost') : cost,
        };
      });
    },
    clear() { body.replaceChildren(); n = 0; },
  };
}

export default {
  name: 'campaigns',
  title: 'Campaigns',
  async render({ query, signal, can, navigate }) {
    const status = query.get('status') || 'any';  // every campaign, newest first; a status narrows it
    const cursor = query.get('cursor') || '';
    const stack = cursorStacks.get(status) || [];
    cursorStacks.set(status, stack);
    const r = await api.parallel({
      campaigns: api.get('/staff/campaigns', { status, limit: 50, cursor }, { signal }),
      suppliers: api.get('/staff/suppliers', { limit: 100 }, { signal }),
    });
    const suppliers = r.suppliers.ok ? r.suppliers.value.items : [];
    const hashFor = (extra) => {
      const params = new URLSearchParams({ status, ...extra });
      for (const [k, v] of [...params]) if (!v) params.delete(k);
      return `#/campaigns?${params}`;
    };

    // -------------------------------------------------------------- list
    const statusSelect = select('status', [['any', 'Any status'], ...CAMPAIGN_STATUSES.map((s) => [s, label(s)])], status);
    statusSelect.addEventListener('change', () => navigate(`#/campaigns?status=${statusSelect.value}`));
    const listSlot = errorSlot();
    let list = null;
    let pages = null;
    if (r.campaigns.ok) {
      const page = r.campaigns.value;
      list = table({
        caption: status === 'any' ? 'Campaigns' : `${label(status)} campaigns`, testid: 'campaigns-table',
        empty: status === 'any' ? 'No campaigns yet.' : `No ${status} campaigns.`,
        columns: [
          { label: 'Campaign', cell: (c) => link(`#/campaigns/${encodeURIComponent(c.id)}`, c.name) },
          { label: 'Status', cell: (c) => badge(c.status, { testid: 'campaign-status' }) },
          { label: 'Products', class: 'num', cell: (c) => c.product_count },
          { label: 'Suppliers', cell: (c) => c.supplier_ids.join(', ') || '—' },
          { label: 'Starts', cell: (c) => when(c.starts_at) },
          { label: 'Ends', cell: (c) => when(c.ends_at) },
          { label: 'Buyer', cell: (c) => c.buyer_email || c.buyer_id },
        ],
        rows: page.items,
        rowAttrs: (c) => ({ 'data-testid': 'campaign-row', 'data-id': c.id }),
      });
      pages = pager({
        hasPrevious: Boolean(cursor),
        nextCursor: page.next_cursor,
        onPrevious: () => navigate(hashFor({ cursor: stack.pop() || '' })),
        onNext: () => { stack.push(cursor); navigate(hashFor({ cursor: page.next_cursor })); },
      });
    } else {
      listSlot.show(r.campaigns.error);
    }

    // -------------------------------------------------------------- create a campaign
    let createSection = null;
    if (can('catalogue.manage')) {
      const name = input('name', { required: true, autocomplete: 'off' });
      const currency = input('currency', { value: 'EUR', required: true, maxlength: 3, pattern: '[A-Z]{3}', autocomplete: 'off', class: 'short' });
      const products = productRows(suppliers, () => currency.value.trim().toUpperCase() || 'EUR');
      const submit = h('button', { type: 'submit', class: 'primary' }, 'Create campaign');
      const slot = errorSlot();
      const form = h('form', { class: 'form', 'aria-label': 'New campaign', novalidate: true },
        h('div', { class: 'form-row' }, field('Name', name), field('Currency', currency, { hint: `Three letters, e.g. EUR (${minorDigits('EUR')} decimals)` })),
        h('h3', {}, 'Products'),
        products.element,
        h('div', { class: 'actions' }, submit),
        slot);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        const body = { name: name.value, currency: currency.value.trim().toUpperCase(), products: products.values() };
        const created = await act(submit, slot, () => api.post('/staff/campaigns', body), { success: 'Campaign created.' });
        if (created) navigate(`#/campaigns/${encodeURIComponent(created.id)}`);
      });
      createSection = h('details', { class: 'panel panel-details', 'data-testid': 'create-campaign' },
        h('summary', {}, h('h2', { class: 'inline-heading' }, 'New campaign')), form);
    }

    // -------------------------------------------------------------- suppliers
    const supplierList = h('div');
    const renderSuppliers = (items) => replace(supplierList, table({
      caption: 'Suppliers', testid: 'suppliers-table', empty: 'No suppliers yet.',
      columns: [
        { label: 'Supplier', cell: (s) => s.name },
        { label: 'Id', cell: (s) => h('code', {}, s.id) },
        { label: 'Contacts', cell: (s) => s.contact_emails.join(', ') },
        { label: 'Active', cell: (s) => (s.active ? 'yes' : 'no') },
        { label: 'Created', cell: (s) => when(s.created_at) },
      ],
      rows: items,
    }));
    const supplierItems = [...suppliers];
    if (r.suppliers.ok) renderSuppliers(supplierItems);
    else { const s = errorSlot(); s.show(r.suppliers.error); supplierList.append(s); }
    let supplierForm = null;
    if (can('catalogue.manage')) {
      const sName = input('name', { required: true, autocomplete: 'off' });
      const sId = input('id', { autocomplete: 'off', pattern: '[A-Za-z0-9_.-]{1,64}' });
      const sEmails = input('contact_emails', { required: true, autocomplete: 'off' });
      const submit = h('button', { type: 'submit' }, 'Create supplier');
      const slot = errorSlot();
      const done = h('div');
      supplierForm = h('form', { class: 'form', 'aria-label': 'New supplier', novalidate: true },
        h('div', { class: 'form-row' },
          field('Supplier name', sName),
          field('Supplier id (optional)', sId, { hint: 'Letters, digits, . _ -; generated when empty.' }),
          field('Contact e-mails', sEmails, { hint: 'Comma-separated.' })),
        h('div', { class: 'actions' }, submit), slot, done);
      supplierForm.addEventListener('submit', async (event) => {
        event.preventDefault();
        done.replaceChildren();
        const body = { name: sName.value, contact_emails: sEmails.value.split(',').map((e) => e.trim()).filter(Boolean) };
        if (sId.value.trim()) body.id = sId.value.trim();
        const created = await act(submit, slot, () => api.post('/staff/suppliers', body));
        if (created) {
          supplierItems.push(created);
          renderSuppliers(supplierItems);
          replace(done, notice(`Supplier ${created.name} (${created.id}) created.`));
          sName.value = ''; sId.value = ''; sEmails.value = '';
        }
      });
    }

    return [
      heading('Campaigns'),
      h('div', { class: 'toolbar' }, field('Status', statusSelect, { class: 'inline' })),
      listSlot,
      list,
      pages,
      createSection,
      section('Suppliers', supplierList,
        supplierForm ? h('details', { class: 'panel-details' }, h('summary', {}, 'New supplier'), supplierForm) : null),
    ];
  },
};
