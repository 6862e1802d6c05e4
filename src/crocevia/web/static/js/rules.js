// Automation rules (/ui/tickets/rules, admins): the list, and an editor with one line per condition
// and per action. Everything goes through /api/v1/ticket-rules; the API's problem names the field
// ("actions.1.template_id"), and the message goes next to that control.
import { api } from './core/api.js';
import { boot } from './core/boot.js';
import { clear, formReady, h } from './core/dom.js';
import { t } from './core/i18n.js';
import { toast } from './core/toast.js';

const ed = boot.rules_editor || {};
const table = document.querySelector('#rules-table tbody');
const none = document.getElementById('no-rules');
const form = document.getElementById('rule-form');
const errorBox = document.getElementById('rule-error');
const title = document.getElementById('rule-form-title');
const cancel = document.getElementById('rule-cancel');
const condBox = document.getElementById('rule-conditions');
const actBox = document.getElementById('rule-actions');
const eventSelect = form.elements.namedItem('event');

const EVENTS = {
  'ticket.created': t('A ticket is opened'),
  'ticket.updated': t('A ticket is changed'),
  'ticket.status_changed': t('A ticket changes status'),
  'ticket.note_added': t('A note is added to a ticket'),
  'ticket.sla_warning': t('A ticket is about to breach its SLA'),
  'ticket.sla_breached': t('A ticket breaches its SLA'),
  'ticket.csat': t('A customer rates a ticket'),
  'message.received': t('A customer writes'),
  'conversation.label_added': t('A label is added to a conversation'),
};
const FIELDS = {
  'ticket.priority': t('Ticket priority'), 'ticket.type': t('Ticket type'), 'ticket.status': t('Ticket status'),
  'ticket.subject': t('Ticket subject'), 'ticket.team_id': t('Ticket team (id)'),
  'ticket.assignee_id': t('Ticket assignee (id)'), 'status.from': t('Previous status'), 'status.to': t('New status'),
  'sla.target': t('SLA target'), 'contact.language': t('Customer language'),
  'conversation.channel_id': t('Inbox (id)'), 'conversation.labels': t('Conversation labels'),
  'message.text': t('Message text'), 'label.name': t('Label added'),
};
const OPS = { eq: t('is'), ne: t('is not'), in: t('is one of'), contains: t('contains') };
const ACTIONS = {
  set_priority: t('Set priority'), assign_team: t('Assign to team'), assign_user: t('Assign to user'),
  add_label: t('Add label'), notify: t('Notify the team'), open_ticket: t('Open a ticket'),
  send_template: t('Send a template'), webhook: t('Call a webhook'),
};
const PRIORITY = { low: t('Low'), normal: t('Normal'), high: t('High'), urgent: t('Urgent') };

function options(select, entries, selected) {
  clear(select);
  for (const [value, label] of entries) {
    select.append(h('option', { value, selected: String(value) === String(selected) }, label));
  }
  return select;
}

function select(field, label, entries, selected) {
  return options(h('select', { class: 'input', 'aria-label': label, dataset: { field } }), entries, selected);
}

function input(field, label, value, attrs = {}) {
  return h('input', { class: 'input', 'aria-label': label, value: value ?? '', dataset: { field }, ...attrs });
}

function removeButton(row, label) {
  return h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': label, onclick: () => { row.remove(); renumber(); } }, '×');
}

// Rows are numbered in the order they stand, so "conditions.1.value" finds the second row.
function renumber() {
  for (const [box, prefix] of [[condBox, 'conditions'], [actBox, 'actions']]) {
    [...box.children].forEach((row, i) => {
      row.dataset.index = String(i);
      for (const el of row.querySelectorAll('[data-field]')) {
        el.dataset.field = `${prefix}.${i}.${el.dataset.field.split('.').pop()}`;
      }
    });
  }
}

function conditionRow(c = { field: 'ticket.priority', op: 'eq', value: '' }) {
  const row = h('div', { class: 'rule-row', dataset: { testid: 'condition-row' } });
  const value = Array.isArray(c.value) ? c.value.join(', ') : c.value;
  row.append(
    select('x.field', t('Field'), Object.entries(FIELDS), c.field),
    select('x.op', t('Test'), Object.entries(OPS), c.op || 'eq'),
    input('x.value', t('Value'), value, { placeholder: t('a value; for "is one of", values separated by commas') }),
    removeButton(row, t('Remove the condition')));
  return row;
}

function actionParams(row, a) {
  const box = row.querySelector('.params');
  clear(box);
  const idList = (items, name) => items.map((x) => [x.id, x[name]]);
  switch (a.type) {
    case 'set_priority':
      box.append(select('x.priority', t('Priority'), Object.entries(PRIORITY), a.priority || 'high'));
      break;
    case 'assign_team':
      box.append(select('x.team_id', t('Team'), idList(ed.teams || [], 'name'), a.team_id));
      break;
    case 'assign_user':
      box.append(select('x.user_id', t('User'), idList(ed.users || [], 'name'), a.user_id));
      break;
    case 'add_label':
      box.append(input('x.label', t('Label'), a.label, { maxlength: 40 }));
      break;
    case 'notify':
      box.append(input('x.text', t('Text for the team'), a.text, { maxlength: 500 }));
      break;
    case 'open_ticket':
      box.append(select('x.priority', t('Priority'), Object.entries(PRIORITY), a.priority || 'normal'),
        input('x.ticket_type', t('Ticket type'), a.ticket_type || 'question', { maxlength: 40 }));
      break;
    case 'send_template':
      box.append(select('x.template_id', t('Template'), (ed.templates || []).map((x) => [x.id,
        x.approval_status === 'approved' ? x.name : `${x.name} (${x.approval_status})`]), a.template_id));
      break;
    case 'webhook':
      box.append(select('x.webhook_id', t('Webhook'), idList(ed.webhooks || [], 'url'), a.webhook_id));
      break;
    default:
      break;
  }
}

function actionRow(a = { type: 'notify' }) {
  const row = h('div', { class: 'rule-row', dataset: { testid: 'action-row' } });
  const type = select('x.type', t('Action'), Object.entries(ACTIONS), a.type);
  type.addEventListener('change', () => { actionParams(row, { type: type.value }); renumber(); });
  row.append(type, h('span', { class: 'params rule-row' }), removeButton(row, t('Remove the action')));
  actionParams(row, a);
  return row;
}

function readRow(row) {
  const out = {};
  for (const el of row.querySelectorAll('[data-field]')) out[el.dataset.field.split('.').pop()] = el.value.trim();
  return out;
}

function collect() {
  const conditions = [...condBox.children].map((row) => {
    const c = readRow(row);
    let value = c.value;
    if (c.op === 'in') value = value.split(',').map((v) => v.trim()).filter(Boolean);
    else if (/^\d+$/.test(value) && /_id$/.test(c.field)) value = Number(value);
    return { field: c.field, op: c.op, value };
  });
  const actions = [...actBox.children].map((row) => {
    const a = readRow(row);
    for (const key of ['team_id', 'user_id', 'template_id', 'webhook_id']) {
      if (key in a) a[key] = a[key] ? Number(a[key]) : null;
    }
    return a;
  });
  return {
    name: form.elements.namedItem('name').value.trim(), event: eventSelect.value, conditions, actions,
    is_active: form.elements.namedItem('is_active').checked,
  };
}

function clearProblem() {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) {
    el.removeAttribute('aria-invalid');
    el.removeAttribute('aria-describedby');
  }
  for (const el of form.querySelectorAll('.field-error')) el.remove();
  errorBox.hidden = true;
}

// "actions.0.set_priority.priority" (pydantic names the action type too) → "actions.0.priority".
function controlFor(field) {
  const parts = (field || '').split('.').filter((p) => !(p in ACTIONS));
  while (parts.length) {
    const el = form.querySelector(`[data-field="${CSS.escape(parts.join('.'))}"]`);
    if (el) return el;
    parts.pop();
  }
  return null;
}

function showProblem(err) {
  clearProblem();
  const el = controlFor(err.field);
  if (!el) {
    errorBox.textContent = err.message;
    errorBox.hidden = false;
    errorBox.focus?.();
    return;
  }
  const id = `rule-error-${(err.field || 'x').replace(/\W/g, '-')}`;
  el.setAttribute('aria-invalid', 'true');
  el.setAttribute('aria-describedby', id);
  el.closest('.rule-row, .field').append(h('span', { class: 'error-text field-error', id, dataset: { testid: 'field-error' } }, err.message));
  el.focus();
}

function edit(rule) {
  form.elements.namedItem('id').value = rule ? String(rule.id) : '';
  form.elements.namedItem('name').value = rule ? rule.name : '';
  eventSelect.value = rule ? rule.event : 'ticket.created';
  form.elements.namedItem('is_active').checked = rule ? rule.is_active : true;
  clear(condBox).append(...(rule ? rule.conditions.map(conditionRow) : []));
  clear(actBox).append(...(rule ? rule.actions.map(actionRow) : [actionRow()]));
  renumber();
  title.textContent = rule ? t('Edit the rule “{name}”', { name: rule.name }) : t('Add a rule');
  cancel.hidden = !rule;
  clearProblem();
  if (rule) form.elements.namedItem('name').focus();
}

function describeCondition(c) {
  const value = Array.isArray(c.value) ? c.value.join(', ') : String(c.value ?? '');
  return `${FIELDS[c.field] || c.field} ${OPS[c.op] || c.op} ${value}`;
}

function describeAction(a) {
  const name = (items, id, key) => (items || []).find((x) => x.id === id)?.[key] ?? `#${id}`;
  const detail = {
    set_priority: PRIORITY[a.priority], assign_team: name(ed.teams, a.team_id, 'name'),
    assign_user: name(ed.users, a.user_id, 'name'), add_label: a.label, notify: a.text,
    open_ticket: `${PRIORITY[a.priority] || ''} · ${a.ticket_type || ''}`,
    send_template: name(ed.templates, a.template_id, 'name'), webhook: name(ed.webhooks, a.webhook_id, 'url'),
  }[a.type];
  return detail ? `${ACTIONS[a.type] || a.type}: ${detail}` : (ACTIONS[a.type] || a.type);
}

async function save(rule, changes) {
  await api(`/ticket-rules/${rule.id}`, { method: 'PATCH', body: changes });
}

async function remove(rule) {
  if (!window.confirm(t('Delete the rule “{name}”?', { name: rule.name }))) return;
  try {
    await api(`/ticket-rules/${rule.id}`, { method: 'DELETE' });
    if (form.elements.namedItem('id').value === String(rule.id)) edit(null);
    await load();
  } catch (err) {
    toast(err.message, { error: true });
  }
}

async function load() {
  const rules = await api('/ticket-rules');
  clear(table);
  for (const rule of rules) {
    const toggle = h('button', { class: 'btn btn-sm', type: 'button' }, rule.is_active ? t('Disable') : t('Enable'));
    toggle.addEventListener('click', async () => {
      try {
        await save(rule, { is_active: !rule.is_active });
        await load();
      } catch (err) {
        toast(err.message, { error: true });
      }
    });
    table.append(h('tr', { dataset: { testid: 'rule-row', rule: rule.name } },
      h('td', {}, rule.name),
      h('td', {}, EVENTS[rule.event] || rule.event),
      h('td', {}, rule.conditions.length
        ? h('ul', { class: 'rule-summary' }, rule.conditions.map((c) => h('li', {}, describeCondition(c))))
        : t('Always')),
      h('td', {}, h('ul', { class: 'rule-summary' }, rule.actions.map((a) => h('li', {}, describeAction(a))))),
      h('td', { dataset: { testid: 'rule-status' } }, rule.is_active ? t('Enabled') : t('Disabled')),
      h('td', {}, h('div', { class: 'row-actions' }, toggle,
        h('button', { class: 'btn btn-sm', type: 'button', onclick: () => edit(rule) }, t('Edit')),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', onclick: () => remove(rule) }, t('Delete'))))));
  }
  none.hidden = rules.length > 0;
}

options(eventSelect, (ed.events || Object.keys(EVENTS)).map((e) => [e, EVENTS[e] || e]), 'ticket.created');
document.getElementById('add-condition').addEventListener('click', () => {
  condBox.append(conditionRow());
  renumber();
  condBox.lastElementChild.querySelector('select').focus();
});
document.getElementById('add-action').addEventListener('click', () => {
  actBox.append(actionRow());
  renumber();
  actBox.lastElementChild.querySelector('select').focus();
});
cancel.addEventListener('click', () => edit(null));
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = form.elements.namedItem('id').value;
  const body = collect();
  try {
    if (id) await api(`/ticket-rules/${id}`, { method: 'PATCH', body });
    else await api('/ticket-rules', { method: 'POST', body });
    toast(t('Saved.'));
    edit(null);
    await load();
  } catch (err) {
    showProblem(err);
  }
});

edit(null);
formReady(form);
load();
