// Users and roles: the team, each one's role, which inboxes agents belong to, and new users.
import { api } from '../core/api.js';
import { boot } from '../core/boot.js';
import { badge } from '../core/channels.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast } from '../core/toast.js';
import { formValues, roleName, showProblem } from './common.js';

const table = document.querySelector('#user-table tbody');
const form = document.getElementById('user-form');
const errorBox = document.getElementById('user-error');
const ROLES = ['owner', 'admin', 'agent', 'viewer'];
let channels = [];
const members = new Map(); // channel id -> Set of user ids

async function patch(user, body, undo) {
  try {
    await api(`/users/${user.id}`, { method: 'PATCH', body });
    toast(t('Saved'));
    await load();
  } catch (err) {
    undo();
    toast(err.message, { error: true });
  }
}

async function setMember(channel, user, on, box) {
  const ids = new Set(members.get(channel.id));
  if (on) ids.add(user.id);
  else ids.delete(user.id);
  try {
    await api(`/channels/${channel.id}/members`, { method: 'PUT', body: { user_ids: [...ids] } });
    members.set(channel.id, ids);
    toast(on ? t('{user} now sees {inbox}', { user: user.name, inbox: channel.name })
      : t('{user} no longer sees {inbox}', { user: user.name, inbox: channel.name }));
  } catch (err) {
    box.checked = !on;
    toast(err.message, { error: true });
  }
}

function inboxes(user) {
  if (user.role === 'owner' || user.role === 'admin') return h('span', { class: 'hint' }, t('All inboxes'));
  if (!channels.length) return h('span', { class: 'hint' }, t('No channels yet'));
  return h('div', { class: 'members' }, channels.map((channel) => {
    const box = h('input', { type: 'checkbox', checked: members.get(channel.id).has(user.id) });
    box.addEventListener('change', () => setMember(channel, user, box.checked, box));
    return h('label', {}, box, badge(channel, { small: true }), channel.name);
  }));
}

function row(user) {
  const self = user.id === boot.me.id;
  const role = h('select', { class: 'input', 'aria-label': t('Role of {name}', { name: user.name }), disabled: self },
    ROLES.filter((r) => r !== 'owner' || boot.me.role === 'owner' || user.role === 'owner')
      .map((r) => h('option', { value: r, selected: r === user.role }, roleName(r))));
  role.addEventListener('change', () => patch(user, { role: role.value }, () => { role.value = user.role; }));
  const active = h('input', { type: 'checkbox', checked: user.is_active, disabled: self,
    'aria-label': t('{name} may sign in', { name: user.name }) });
  active.addEventListener('change', () => patch(user, { is_active: active.checked }, () => { active.checked = user.is_active; }));
  return h('tr', { dataset: { testid: 'user-row' } },
    h('td', {}, h('strong', {}, user.name), self ? h('small', { class: 'hint' }, ` (${t('you')})`) : null),
    h('td', {}, user.email), h('td', { 'data-label': t('Role') }, role),
    h('td', { 'data-label': t('Inboxes') }, inboxes(user)), h('td', { 'data-label': t('Active') }, active),
    h('td', {}, self ? null : h('button', {
      class: 'btn btn-sm', type: 'button', 'aria-label': t('Reset the password of {name}', { name: user.name }),
      onclick: () => askPassword(user),
    }, t('Reset password'))));
}

// Password reset by an admin: a new password for someone who forgot theirs (owners' passwords
// only by an owner: the server says so). The server signs them out everywhere.
const dialog = document.getElementById('password-dialog');
const passwordForm = document.getElementById('password-form');
const passwordError = document.getElementById('password-error');
let resetting = null;

function askPassword(user) {
  resetting = user;
  passwordForm.reset();
  showProblem(passwordForm, passwordError, null);
  document.getElementById('password-title').textContent = t('New password for {name}', { name: user.name });
  dialog.showModal();
}

document.getElementById('password-cancel').addEventListener('click', () => dialog.close());
passwordForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const password = passwordForm.elements.namedItem('password').value;
  try {
    await api(`/users/${resetting.id}`, { method: 'PATCH', body: { password } });
    dialog.close();
    toast(t('{name} has a new password.', { name: resetting.name }));
  } catch (err) {
    showProblem(passwordForm, passwordError, err);
  }
});

async function load() {
  const [users, list] = await Promise.all([api('/users'), api('/channels')]);
  channels = list;
  await Promise.all(channels.map(async (c) => members.set(c.id, new Set((await api(`/channels/${c.id}/members`)).user_ids))));
  clear(table);
  for (const user of users) table.append(row(user));
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const values = formValues(form);
  const body = { name: values.name, email: values.email, role: values.role, password: values.password };
  if (values.language) body.language = values.language;
  try {
    const user = await api('/users', { method: 'POST', body });
    showProblem(form, errorBox, null);
    form.reset();
    toast(t('{name} can now sign in.', { name: user.name }));
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
