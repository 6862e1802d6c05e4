// Canned responses: the workspace's saved replies (shortcut + text with variables), edited in place.
import { api } from '../core/api.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast } from '../core/toast.js';
import { confirmDelete, formValues, showProblem } from './common.js';

const table = document.querySelector('#canned-table tbody');
const none = document.getElementById('no-canned');
const form = document.getElementById('canned-form');
const errorBox = document.getElementById('canned-error');
const title = document.getElementById('canned-form-title');
const cancel = document.getElementById('canned-cancel');

function edit(item) {
  form.elements.namedItem('id').value = item ? String(item.id) : '';
  form.elements.namedItem('shortcut').value = item ? item.shortcut : '';
  form.elements.namedItem('text').value = item ? item.text : '';
  title.textContent = item ? t('Edit /{shortcut}', { shortcut: item.shortcut }) : t('Add a canned response');
  cancel.hidden = !item;
  showProblem(form, errorBox, null);
  if (item) form.elements.namedItem('text').focus();
}

function remove(item) {
  return confirmDelete(t('Delete the canned response /{shortcut}?', { shortcut: item.shortcut }),
    `/canned-responses/${item.id}`, load);
}

async function load() {
  const items = await api('/canned-responses');
  clear(table);
  for (const item of items) {
    table.append(h('tr', { dataset: { testid: 'canned-row' } },
      h('td', {}, h('span', { class: 'code' }, `/${item.shortcut}`)),
      h('td', { class: 'pre-wrap' }, item.text),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': t('Edit /{shortcut}', { shortcut: item.shortcut }), onclick: () => edit(item) }, t('Edit')),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', 'aria-label': t('Delete /{shortcut}', { shortcut: item.shortcut }), onclick: () => remove(item) }, t('Delete'))))));
  }
  none.hidden = items.length > 0;
}

form.addEventListener('reset', () => setTimeout(() => edit(null)));
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const { id, shortcut, text } = formValues(form);
  try {
    if (id) await api(`/canned-responses/${id}`, { method: 'PATCH', body: { shortcut, text } });
    else await api('/canned-responses', { method: 'POST', body: { shortcut, text } });
    toast(t('Saved.'));
    edit(null);
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
