// Channels: the connected inboxes (webhook URL, on/off, connection test) and a guided connect
// form generated from each platform's credentials schema (GET /api/v1/channels/kinds).
import { api } from '../core/api.js';
import { boot } from '../core/boot.js';
import { badge } from '../core/channels.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast } from '../core/toast.js';
import { copyButton, formValues, showProblem } from './common.js';

const table = document.querySelector('#channel-table tbody');
const none = document.getElementById('no-channels');
const kindsBox = document.getElementById('kinds');
const form = document.getElementById('connect-form');
const fields = document.getElementById('credential-fields');
const errorBox = document.getElementById('connect-error');
const result = document.getElementById('connected-result');
const SECRET = /secret|token|key|password/i;
let kinds = [];
let chosen = null;

function capabilities(kind) {
  const caps = kind.capabilities;
  const parts = [];
  if (caps.templates) parts.push(t('templates'));
  if (caps.buttons) parts.push(t('buttons'));
  if (caps.media) parts.push(t('media'));
  if (caps.reply_window_hours) parts.push(t('{hours} h reply window', { hours: caps.reply_window_hours }));
  return parts.join(' · ');
}

async function testConnection(channel, out) {
  out.textContent = t('Testing…');
  out.className = 'result-line hint';
  try {
    const answer = await api(`/channels/${channel.id}/test`, { method: 'POST' });
    out.textContent = `✓ ${answer.result}`;
    out.className = 'result-line pill-ok';
  } catch (err) {
    out.textContent = err.message;
    out.className = 'result-line error-text';
  }
}

function row(channel) {
  const kind = kinds.find((k) => k.kind === channel.kind);
  const display = { ...channel, display_name: kind ? kind.display_name : channel.kind };
  const out = h('div', { class: 'result-line', role: 'status' });
  const active = h('input', { type: 'checkbox', 'aria-label': t('Active'), checked: channel.is_active });
  active.addEventListener('change', async () => {
    try {
      await api(`/channels/${channel.id}`, { method: 'PATCH', body: { is_active: active.checked } });
      toast(active.checked ? t('Channel switched on') : t('Channel switched off'));
    } catch (err) {
      active.checked = !active.checked;
      toast(err.message, { error: true });
    }
  });
  return h('tr', { dataset: { testid: 'channel-row' } },
    h('td', {}, h('div', { class: 'plain-list' }, h('span', { class: 'grow' }, badge(display, { small: true }), ' ',
      h('strong', {}, channel.name), h('small', {}, display.display_name)))),
    h('td', { 'data-label': t('Webhook URL for the provider') }, h('span', { class: 'code' }, channel.webhook_url), ' ',
      copyButton(channel.webhook_url)),
    h('td', { 'data-label': t('Active') }, active),
    h('td', {}, h('div', { class: 'row-actions' },
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => testConnection(channel, out) }, t('Test connection')),
      h('button', {
        class: 'btn btn-sm', type: 'button', 'aria-label': t('Edit {name}', { name: channel.name }),
        onclick: (ev) => {
          const tr = ev.target.closest('tr');
          if (tr.nextElementSibling && tr.nextElementSibling.classList.contains('edit-row')) return;
          const edit = editRow(channel, kind);
          tr.after(edit);
          edit.querySelector('input').focus();
        },
      }, t('Edit'))), out));
}

// Editing a channel: its name, and optionally a new set of credentials (rotated keys). The old
// credentials are never shown: leaving every credential empty keeps them.
function editRow(channel, kind) {
  const schema = (kind && kind.credentials_schema) || { properties: {} };
  const errors = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'channel-edit', novalidate: true, 'aria-label': t('Edit {name}', { name: channel.name }) },
    errors,
    h('div', { class: 'form-grid' }, h('div', { class: 'field' },
      h('label', { for: `edit-name-${channel.id}` }, t('Name shown to agents')),
      h('input', { class: 'input', id: `edit-name-${channel.id}`, name: 'name', value: channel.name, required: true, maxlength: 200, autocomplete: 'off' }))),
    h('fieldset', { class: 'form-grid' }, h('legend', { class: 'label' }, t('New credentials (leave empty to keep the current ones)')),
      Object.entries(schema.properties || {}).map(([name, spec]) => {
        const flat = spec.anyOf ? { ...spec, ...spec.anyOf.find((x) => x.type === 'string') } : spec;
        const field = inputFor(name, { ...flat, default: undefined }, false);
        const input = field.querySelector('input, select');
        input.id = `edit-${channel.id}-${name}`;
        field.querySelector('label').setAttribute('for', input.id);
        if (input.tagName === 'SELECT') input.prepend(h('option', { value: '', selected: true }, '—'));
        return field;
      })),
    h('div', { class: 'row-actions' },
      h('button', { class: 'btn btn-primary btn-sm', type: 'submit' }, t('Save')),
      h('button', { class: 'btn btn-sm', type: 'button', onclick: () => loadChannels() }, t('Cancel'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const values = formValues(form);
    const credentials = {};
    for (const name of Object.keys(schema.properties || {})) if (values[name]) credentials[name] = values[name];
    const body = { name: values.name };
    if (Object.keys(credentials).length) body.credentials = credentials;
    try {
      await api(`/channels/${channel.id}`, { method: 'PATCH', body });
      toast(t('Saved.'));
      await loadChannels();
    } catch (err) {
      showProblem(form, errors, err);
    }
  });
  return h('tr', { class: 'edit-row' }, h('td', { colspan: 4 }, form));
}

async function loadChannels() {
  const list = await api('/channels');
  clear(table);
  for (const channel of list) table.append(row(channel));
  none.hidden = list.length > 0;
}

function inputFor(name, spec, required) {
  const id = `cred-${name}`;
  const options = spec.enum || null;
  const description = spec.description || '';
  const control = options
    ? h('select', { class: 'input', id, name }, options.map((o) => h('option', { value: o, selected: o === spec.default }, o)))
    : h('input', {
      class: 'input', id, name, autocomplete: 'off', spellcheck: 'false', required,
      type: SECRET.test(name) ? 'password' : 'text',
      value: typeof spec.default === 'string' ? spec.default : null,
      minlength: spec.minLength || null, maxlength: spec.maxLength || null,
    });
  return h('div', { class: 'field' },
    h('label', { for: id }, spec.title || name, required ? '' : ` (${t('optional')})`),
    control, description ? h('span', { class: 'hint' }, description) : null);
}

function choose(kind) {
  chosen = kind;
  for (const button of kindsBox.querySelectorAll('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.kind === kind.kind));
  }
  const schema = kind.credentials_schema;
  const required = new Set(schema.required || []);
  for (const old of fields.querySelectorAll('.field')) old.remove();
  for (const [name, spec] of Object.entries(schema.properties || {})) {
    const flat = spec.anyOf ? { ...spec, ...spec.anyOf.find((s) => s.type === 'string') } : spec;
    fields.append(inputFor(name, flat, required.has(name)));
  }
  const nameInput = document.getElementById('channel-name');
  nameInput.value = nameInput.value || kind.display_name;
  showProblem(form, errorBox, null);
  form.hidden = false;
  result.hidden = true;
  form.querySelector('#channel-name').focus();
}

async function loadKinds() {
  kinds = await api('/channels/kinds');
  clear(kindsBox);
  for (const kind of kinds) {
    kindsBox.append(h('button', {
      class: 'kind-option', type: 'button', 'aria-pressed': 'false', dataset: { kind: kind.kind },
      onclick: () => choose(kind),
    }, badge({ kind: kind.kind, name: kind.display_name, display_name: kind.display_name }),
    h('span', {}, kind.display_name, h('small', {}, capabilities(kind)))));
  }
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!chosen) return;
  const values = formValues(form);
  const credentials = {};
  for (const name of Object.keys(chosen.credentials_schema.properties || {})) {
    if (values[name] !== '') credentials[name] = values[name];
  }
  const body = { kind: chosen.kind, name: values.name, credentials, settings: {} };
  if (values.api_base) body.settings.api_base = values.api_base;
  try {
    const channel = await api('/channels', { method: 'POST', body });
    showProblem(form, errorBox, null);
    form.reset();
    form.hidden = true;
    const out = h('div', { class: 'result-line', role: 'status' });
    clear(result).append(h('div', { class: 'alert alert-info', role: 'status' },
      h('div', {},
        h('strong', {}, t('{name} is connected.', { name: channel.name })), ' ',
        t('Paste this webhook URL into the platform’s developer console:'),
        h('div', {}, h('span', { class: 'code' }, channel.webhook_url), ' ', copyButton(channel.webhook_url)),
        h('button', { class: 'btn btn-sm', type: 'button', onclick: () => testConnection(channel, out) }, t('Test connection')),
        out)));
    result.hidden = false;
    await loadChannels();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);

if (boot.is_admin) {
  loadKinds().then(loadChannels);
}
