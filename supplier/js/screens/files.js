// Product description files, per campaign (GET/POST /supplier/campaigns/{id}/files): download what
// is there (staff publish theirs to the same list), upload yours through a presigned POST.

import * as api from '../../../admin/js/api.js';
import { h } from '../../../admin/js/dom.js';
import { when } from '../../../admin/js/format.js';
import { act, announce, errorSlot, field, heading, link, section } from '../../../admin/js/ui.js';
import { apiSpec, cards, enumOf, size, uploadTo } from '../common.js';

/** A file name the API accepts (letters, digits, . _ -), from what the person's file is called. */
function safeName(name) {
  const cleaned = String(name || 'file').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '');
  return (cleaned || 'file').slice(-100);
}

/** The files panel of one campaign: the list and an upload form. `reload` re-renders the screen. */
export async function filesPanel(campaignId, { signal, reload, title = 'Product files' }) {
  const path = `/supplier/campaigns/${encodeURIComponent(campaignId)}/files`;
  const [list, doc] = await Promise.all([api.get(path, undefined, { signal }), apiSpec(signal)]);
  const types = enumOf(doc, 'CampaignFileUploadRequest', 'content_type');
  const chooser = h('input', { type: 'file', name: 'file', required: true, accept: types.join(',') });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload file');
  const slot = errorSlot();
  const form = h('form', { class: 'form', 'aria-label': `Upload a product file for ${campaignId}`, 'data-testid': 'file-upload' },
    field('File', chooser, { hint: `Accepted: ${types.join(', ') || 'see the API'}.` }),
    h('div', { class: 'actions' }, submit), slot);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = chooser.files && chooser.files[0];
    if (!file) { slot.show({ message: 'Choose a file first.' }); return; }
    const done = await act(submit, slot, async () => {
      const presigned = await api.post(path, { content_type: file.type, filename: safeName(file.name) });
      await uploadTo(presigned, file);
      return true;
    });
    if (done) { announce(`${file.name} uploaded.`); reload(); }
  });
  return section(title,
    cards(list.items, (f) => h('li', { class: 'card', 'data-testid': 'file-card', 'data-key': f.key },
      h('h3', {}, link(f.url, f.name, { 'data-testid': 'file-download', rel: 'noopener', download: f.name })),
      h('p', { class: 'sub' }, size(f.size), ' · ', when(f.last_modified))),
    { testid: 'files', label: 'Files', empty: 'No product files for this campaign yet.' }),
    form);
}

export default {
  name: 'files',
  title: 'Product files',
  async render({ signal, reload }) {
    const { items } = await api.get('/supplier/campaigns', undefined, { signal });
    const campaigns = [...new Map(items.map((c) => [c.campaign_id, c])).values()];
    const panels = await Promise.all(campaigns.map((c) => filesPanel(c.campaign_id, {
      signal, reload, title: `${c.name || c.campaign_id}`,
    })));
    return [
      heading('Product files'),
      h('p', { class: 'lede' }, 'Product descriptions, photos and data sheets per campaign: download what Waybill publishes, upload yours.'),
      panels.length ? panels : h('p', { class: 'empty' }, 'You have no campaigns yet.'),
    ];
  },
};
