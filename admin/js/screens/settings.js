// Settings: who is signed in, the business settings (business-settings.js: deadlines, thresholds,
// escalation; admins change them), the runtime configuration, my notification preferences
// (GET/PUT /me/notification-preferences) and, for preferences.manage, anyone's
// (GET/PUT /staff/notification-preferences/{email}).

import * as api from '../api.js';
import { config } from '../config.js';
import { h, replace } from '../dom.js';
import { label, when } from '../format.js';
import { act, checkbox, code, errorSlot, facts, field, heading, input, notice, section, select } from '../ui.js';
import { businessSettings } from './business-settings.js';

/** A preferences form for one address; `path` is where it is read and saved. */
function preferencesForm(prefs, path, title) {
  const optOut = checkbox('Opt out of alert and digest e-mail', { name: 'opt_out', checked: prefs.opt_out });
  const alerts = select('alerts', [['immediate', 'Immediately, one e-mail each'], ['daily_digest', 'In one daily digest']], prefs.alerts);
  const save = h('button', { type: 'submit', class: 'primary' }, 'Save preferences');
  const slot = errorSlot();
  const done = h('div');
  const meta = h('p', { class: 'hint' });
  const showMeta = (p) => replace(meta, p.updated_at ? ['Last changed ', when(p.updated_at), p.updated_by ? ` by ${p.updated_by}` : '', '. '] : 'Never changed: the defaults apply. ',
    'Transactional e-mail (your orders, purchase orders, prompts to act) is always sent.');
  showMeta(prefs);
  const form = h('form', { class: 'form', 'aria-label': title, 'data-testid': 'preferences-form' },
    h('p', {}, 'For ', code(prefs.email)),
    optOut,
    field('Alerts', alerts),
    meta,
    h('div', { class: 'actions' }, save), slot, done);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    done.replaceChildren();
    const saved = await act(save, slot, () => api.put(path, { opt_out: optOut.input.checked, alerts: alerts.value }));
    if (saved) {
      showMeta(saved);
      replace(done, notice(`Saved: ${saved.opt_out ? 'no alert e-mail' : label(saved.alerts).toLowerCase()} for ${saved.email}.`));
    }
  });
  return form;
}

export default {
  name: 'settings',
  title: 'Settings',
  async render({ signal, me, can }) {
    const mineSlot = errorSlot();
    let mine = null;
    try {
      mine = await api.get('/me/notification-preferences', undefined, { signal });
    } catch (error) {
      if (error.name === 'AbortError' || error.status === 401) throw error;
      mineSlot.show(error);
    }

    const business = can('staff') ? await businessSettings({ signal, can }) : null;

    let others = null;
    if (can('preferences.manage')) {
      const email = input('email', { type: 'email', required: true, autocomplete: 'off', placeholder: 'logistics@waybill.example' });
      const find = h('button', { type: 'submit' }, 'Look up');
      const slot = errorSlot();
      const result = h('div');
      const lookup = h('form', { class: 'form inline-form', 'aria-label': 'Look up an address' }, field('E-mail address', email), find, slot);
      lookup.addEventListener('submit', async (event) => {
        event.preventDefault();
        result.replaceChildren();
        const path = `/staff/notification-preferences/${encodeURIComponent(email.value.trim())}`;
        const prefs = await act(find, slot, () => api.get(path));
        if (prefs) replace(result, preferencesForm(prefs, path, `Preferences of ${prefs.email}`));
      });
      others = section('Someone else\'s preferences', h('p', {}, 'Team mailboxes and colleagues: look up an address, then change it.'), lookup, result);
    }

    return [
      heading('Settings'),
      section('Signed in', facts([
        ['Name', me.name || '—'],
        ['E-mail', me.email || '—'],
        ['Subject', code(me.sub)],
        ['Roles', (me.roles || []).map(label).join(', ')],
        ['May', h('ul', { class: 'plain-list', 'data-testid': 'capabilities' }, (me.capabilities || []).map((c) => h('li', {}, code(c))))],
      ], { testid: 'whoami-facts' })),
      business ? section('Business settings', business) : null,
      section('My notification preferences', mineSlot, mine ? preferencesForm(mine, '/me/notification-preferences', 'My notification preferences') : null),
      others,
      section('This console', facts([
        ['API base', code(config.apiBase)],
        ['Sign-in', config.auth.mode === 'cognito' ? `Cognito hosted UI (${config.auth.domain})` : 'Local dev issuer'],
      ], { testid: 'runtime-config' })),
    ];
  },
};
