// API tokens: list, create (the token is shown once), revoke.
import { api } from '../core/api.js';
import { boot } from '../core/boot.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { full } from '../core/time.js';
import { toast } from '../core/toast.js';
import { confirmDelete, secretBox, showProblem } from './common.js';

const table = document.querySelector('#token-table tbody');
const none = document.getElementById('no-tokens');
const form = document.getElementById('token-form');

function revoke(token) {
  return confirmDelete(t('Revoke “{name}”? Programs using it stop working at once.', { name: token.name }),
    `/tokens/${token.id}`, load);
}

async function load() {
  const tokens = await api('/tokens');
  clear(table);
  for (const token of tokens) {
    const revoked = Boolean(token.revoked_at);
    table.append(h('tr', { dataset: { testid: 'token-row' } },
      h('td', {}, token.name), h('td', {}, h('span', { class: 'code' }, `${token.prefix}…`)),
      h('td', { 'data-label': t('Created') }, full(token.created_at)),
      h('td', {}, h('span', { class: `chip ${revoked ? 'pill-danger' : 'pill-ok'}` },
        revoked ? t('Revoked on {when}', { when: full(token.revoked_at) }) : t('Active'))),
      h('td', {}, revoked || !boot.can_write ? null
        : h('button', { class: 'btn btn-sm btn-danger', type: 'button', onclick: () => revoke(token) }, t('Revoke')))));
  }
  none.hidden = tokens.length > 0;
}

form?.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = form.elements.namedItem('name').value.trim();
  try {
    const created = await api('/tokens', { method: 'POST', body: { name } });
    showProblem(form, document.getElementById('token-error'), null);
    form.reset();
    secretBox(document.getElementById('token-secret'), t('Your new token:'), created.token);
    await load();
  } catch (err) {
    showProblem(form, document.getElementById('token-error'), err);
  }
});

if (form) formReady(form);
load();
