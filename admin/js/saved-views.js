// "Saved views" of a list screen (GET/PUT/DELETE /staff/views): the person's named filters, each a link
// that applies them, with Delete; and "Save these filters as …". A screen reads its views with its list
// (one request) and passes them here with the filters it shows now and how it spells a hash for them.

import * as api from './api.js';
import { h } from './dom.js';
import { act, announce, button, errorSlot, field, input } from './ui.js';

/**
 * The panel: `views` (the screen's saved views, or an error), `filters` (the screen's current filters,
 * by query name; or a function answering them, for a screen that changes some without rendering again),
 * `hashFor(filters)` the hash that shows them, `reload()` to render the screen again.
 */
export function savedViews({ screen, views, filters, hashFor, reload }) {
  const headingId = `saved-views-${screen}`;
  const slot = errorSlot();
  const items = views && views.ok ? views.value.items : [];
  const list = items.length
    ? h('ul', { class: 'saved-view-list' }, items.map((v) => {
      const remove = button('Delete', { class: 'small', 'aria-label': `Delete saved view ${v.name}`,
        'data-testid': 'delete-view',
        onclick: () => act(remove, slot, async () => {
          await api.request('DELETE', `/staff/views/${screen}`, { query: { name: v.name } });
          announce(`Saved view ${v.name} deleted.`);
          reload();
        }) });
      return h('li', { 'data-id': `view-${v.name}` },
        h('a', { href: hashFor(v.filters), 'data-testid': 'saved-view' }, v.name), ' ', remove);
    }))
    : h('p', { class: 'muted' }, views && !views.ok ? 'Saved views could not be read.' : 'None yet.');

  const nameInput = input('name', { maxlength: 40, autocomplete: 'off', required: true, 'data-testid': 'view-name' });
  const save = h('button', { type: 'submit' }, 'Save view');
  const form = h('form', { class: 'form save-view', 'aria-label': 'Save these filters' },
    field('Save these filters as', nameInput), h('div', { class: 'actions' }, save), slot);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const current = typeof filters === 'function' ? filters() : filters;
    const chosen = Object.fromEntries(Object.entries(current).filter(([k, v]) => v && k !== 'cursor'));
    act(save, slot, async () => {
      await api.put(`/staff/views/${screen}`, { name: nameInput.value.trim(), filters: chosen });
      announce(`Saved as ${nameInput.value.trim()}.`);
      reload();
    });
  });
  // One line above the list: the views to apply; saving folds away (it is the rarer act).
  return h('section', { class: 'saved-views', 'aria-labelledby': headingId, 'data-testid': 'saved-views' },
    h('h2', { id: headingId }, 'Saved views'), list,
    h('details', { class: 'save-view-fold' }, h('summary', {}, 'Save these filters…'), form));
}
