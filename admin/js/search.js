// Staff's search box in the header (GET /staff/search?q=): a combobox whose results list (a listbox)
// opens under it as one types. The start of an order reference, a tracking number, a customer's e-mail
// or name, a supplier's or a campaign's id or name is enough; case and accents do not matter.
// Keyboard: Down/Up move through the results (aria-activedescendant), Enter opens the chosen one (or the
// first), Escape closes the list (and, closed, clears the box). Each keystroke aborts the previous search.

import * as api from './api.js';
import { h, replace, uid } from './dom.js';

const KINDS = { order: 'Order', customer: 'Customer', shipment: 'Parcel', supplier: 'Supplier', campaign: 'Campaign' };
const WAIT_MS = 180; // typing pauses this long before a search is sent

/** Mount the box once into the header (before who is signed in); `enabled` false hides it. */
export function mountSearch(topbar, { enabled, navigate }) {
  const mounted = topbar.querySelector('.header-search');
  if (mounted) {
    mounted.hidden = !enabled;
    return;
  }
  if (!enabled) return;
  const box = build(navigate);
  topbar.insertBefore(box, topbar.querySelector('.whoami'));
}

function build(navigate) {
  const listId = uid('search-results');
  const input = h('input', {
    type: 'search', id: uid('search'), name: 'q', role: 'combobox', autocomplete: 'off', spellcheck: 'false',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
    placeholder: 'Find reference, e-mail, tracking…', 'data-testid': 'header-search', maxlength: 100,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'search-results', 'aria-label': 'Search results', hidden: true,
    'data-testid': 'search-results' });
  const status = h('p', { class: 'search-status', role: 'status', 'aria-live': 'polite', 'data-testid': 'search-status' });
  const form = h('form', { class: 'header-search', role: 'search', 'aria-label': 'Find' },
    h('label', { for: input.id, class: 'visually-hidden' }, 'Find an order, customer, parcel, supplier or campaign'),
    input, list, status);

  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const options = () => Array.from(list.querySelectorAll('[role="option"]'));
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const highlight = (index) => {
    const all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    all.forEach((o, i) => o.setAttribute('aria-selected', String(i === active)));
    input.setAttribute('aria-activedescendant', all[active].id);
    all[active].scrollIntoView({ block: 'nearest' });
  };
  const open = (result) => {
    close();
    status.textContent = '';
    navigate(result.link);
  };
  const show = (q, items) => {
    results = items;
    replace(list, items.map((r, i) => h('li', {
      role: 'option', id: `${list.id}-${i}`, 'aria-selected': 'false', 'data-kind': r.kind, 'data-testid': 'search-result',
      onmousedown: (event) => event.preventDefault(), // keep focus in the box
      onclick: () => open(r),
    }, h('span', { class: 'kind' }, KINDS[r.kind] || r.kind), h('span', { class: 'label' }, r.label))));
    active = -1;
    input.removeAttribute('aria-activedescendant');
    if (items.length) {
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      status.textContent = `${items.length} result${items.length === 1 ? '' : 's'}: use the arrow keys to choose.`;
      status.classList.add('visually-hidden');
    } else {
      close();
      status.textContent = `Nothing starts with “${q}”.`;
      status.classList.remove('visually-hidden');
    }
  };
  const run = async (q) => {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const page = await api.get('/staff/search', { q }, { signal: controller.signal });
      if (input.value.trim() === q) show(q, page.items || []);
    } catch (error) {
      if (error.name === 'AbortError') return;
      close();
      status.textContent = error.message;
      status.classList.remove('visually-hidden');
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) {
      if (controller) controller.abort();
      close();
      status.textContent = '';
      return;
    }
    timer = setTimeout(() => run(q), WAIT_MS);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (list.hidden && results.length) { list.hidden = false; input.setAttribute('aria-expanded', 'true'); }
      if (!list.hidden) {
        event.preventDefault();
        highlight(active + (event.key === 'ArrowDown' ? 1 : -1) + (active < 0 && event.key === 'ArrowUp' ? 1 : 0));
      }
    } else if (event.key === 'Escape') {
      if (!list.hidden) close();
      else { input.value = ''; status.textContent = ''; results = []; }
      event.preventDefault();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = results[active >= 0 ? active : 0];
    if (chosen && !list.hidden) open(chosen);
    else if (input.value.trim().length >= 2) run(input.value.trim());
  });
  input.addEventListener('blur', () => setTimeout(close, 120));
  return form;
}
