// Labels: the workspace's catalogue (name, colour, description), added, edited in place and
// deleted. The server rewrites every conversation carrying a renamed or deleted label.
import { api } from '../core/api.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { labelDot } from '../core/labels.js';
import { toast } from '../core/toast.js';
import { confirmDelete, formValues, showProblem } from './common.js';

const table = document.querySelector('#label-table tbody');
const none = document.getElementById('no-labels');
const form = document.getElementById('label-form');
const errorBox = document.getElementById('label-error');
const title = document.getElementById('label-form-title');
const submit = document.getElementById('label-submit');
const cancel = document.getElementById('label-cancel');
const DEFAULT_COLOR = '#2563eb';

function edit(label) {
  form.elements.namedItem('id').value = label ? String(label.id) : '';
  form.elements.namedItem('name').value = label ? label.name : '';
  form.elements.namedItem('color').value = label ? label.color : DEFAULT_COLOR;
  form.elements.namedItem('description').value = label ? label.description : '';
  title.textContent = label ? t('Edit the label {name}', { name: label.name }) : t('Add a label');
  submit.textContent = label ? t('Save') : t('Add label');
  cancel.hidden = !label;
  showProblem(form, errorBox, null);
  if (label) form.elements.namedItem('name').focus();
}

function remove(label) {
  const question = label.conversations
    ? t('Delete the label {name}? It is removed from {count} conversations.', { name: label.name, count: label.conversations })
    : t('Delete the label {name}?', { name: label.name });
  return confirmDelete(question, `/labels/${label.id}`, async () => {
    if (form.elements.namedItem('id').value === String(label.id)) edit(null);
    toast(t('Label {name} deleted.', { name: label.name }));
    await load();
  });
}

async function load() {
  const labels = await api('/labels?with_counts=true');
  clear(table);
  for (const label of labels) {
    table.append(h('tr', { dataset: { testid: 'label-row' } },
      h('td', {}, h('span', { class: 'chip label-chip' }, labelDot(label.name, label.color), label.name)),
      h('td', {}, label.description || ''),
      h('td', { 'data-label': t('Conversations') }, String(label.conversations ?? '')),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': t('Edit the label {name}', { name: label.name }), onclick: () => edit(label) }, t('Edit')),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', 'aria-label': t('Delete the label {name}', { name: label.name }), onclick: () => remove(label) }, t('Delete'))))));
  }
  none.hidden = labels.length > 0;
}

form.addEventListener('reset', () => setTimeout(() => edit(null)));
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const { id, name, color, description } = formValues(form);
  try {
    if (id) await api(`/labels/${id}`, { method: 'PATCH', body: { name, color, description } });
    else await api('/labels', { method: 'POST', body: { name, color, description } });
    toast(t('Saved.'));
    edit(null);
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
