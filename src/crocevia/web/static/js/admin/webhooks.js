// Outgoing webhooks: subscriptions (URL + events), their signing secret (shown once) and the
// latest deliveries with the answer each one got.
import { api } from '../core/api.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { full } from '../core/time.js';
import { toast } from '../core/toast.js';
import { confirmDelete, secretBox, showProblem } from './common.js';

const table = document.querySelector('#webhook-table tbody');
const none = document.getElementById('no-webhooks');
const deliveriesBox = document.getElementById('deliveries');
const form = document.getElementById('webhook-form');
const errorBox = document.getElementById('webhook-error');

async function showDeliveries(sub) {
  const rows = await api(`/webhooks/${sub.id}/deliveries`);
  clear(deliveriesBox).append(h('h3', {}, t('Latest deliveries to {url}', { url: sub.url })),
    rows.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, [t('Event'), t('Status'), t('Attempts'), t('Answer'), t('When')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((d) => h('tr', {},
        h('td', {}, h('span', { class: 'code' }, d.event_type)),
        h('td', {}, h('span', { class: `chip ${d.status === 'done' ? 'pill-ok' : d.status === 'failed' ? 'pill-danger' : 'pill-warn'}` }, d.status)),
        h('td', {}, String(d.attempts)), h('td', {}, d.response_status ? `HTTP ${d.response_status}` : (d.last_error || '—')),
        h('td', {}, full(d.created_at)))))))
      : h('p', { class: 'hint' }, t('Nothing sent yet.')));
}

function remove(sub) {
  return confirmDelete(t('Stop sending events to {url}?', { url: sub.url }), `/webhooks/${sub.id}`, async () => {
    clear(deliveriesBox);
    await load();
  });
}

async function load() {
  const subs = await api('/webhooks');
  clear(table);
  for (const sub of subs) {
    table.append(h('tr', {},
      h('td', {}, h('span', { class: 'code' }, sub.url)),
      h('td', {}, sub.events.map((e) => h('span', { class: 'chip' }, e === '*' ? t('All events') : e))),
      h('td', { 'data-label': t('Created') }, full(sub.created_at)),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { class: 'btn btn-sm', type: 'button', onclick: () => showDeliveries(sub) }, t('Deliveries')),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', onclick: () => remove(sub) }, t('Delete'))))));
  }
  none.hidden = subs.length > 0;
}

// "All events" and single events exclude each other.
form.addEventListener('change', (ev) => {
  if (ev.target.name !== 'events') return;
  const all = form.querySelector('input[value="*"]');
  if (ev.target === all && all.checked) {
    for (const box of form.querySelectorAll('input[name=events]')) if (box !== all) box.checked = false;
  } else if (ev.target.checked) {
    all.checked = false;
  }
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const events = [...form.querySelectorAll('input[name=events]:checked')].map((b) => b.value);
  try {
    const sub = await api('/webhooks', { method: 'POST', body: { url: form.elements.namedItem('url').value.trim(), events: events.length ? events : ['*'] } });
    showProblem(form, errorBox, null);
    form.reset();
    secretBox(document.getElementById('webhook-secret'), t('Signing secret:'), sub.secret);
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
