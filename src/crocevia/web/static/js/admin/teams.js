// Teams: a name and its members, added, edited in place (rename, members) and deleted.
// Conversations are handed to a team from their header; deleting a team leaves them unassigned
// to any team (their agent, if any, keeps them).
import { api } from '../core/api.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast } from '../core/toast.js';
import { confirmDelete, showProblem } from './common.js';

const table = document.querySelector('#team-table tbody');
const none = document.getElementById('no-teams');
const form = document.getElementById('team-form');
const errorBox = document.getElementById('team-error');
const memberBox = document.getElementById('team-members');
const title = document.getElementById('team-form-title');
const submit = document.getElementById('team-submit');
const cancel = document.getElementById('team-cancel');
let users = [];

function edit(team) {
  form.elements.namedItem('id').value = team ? String(team.id) : '';
  form.elements.namedItem('name').value = team ? team.name : '';
  const members = new Set(team ? team.member_ids : []);
  for (const box of form.querySelectorAll('input[name=member]')) box.checked = members.has(Number(box.value));
  title.textContent = team ? t('Edit the team {name}', { name: team.name }) : t('Add a team');
  submit.textContent = team ? t('Save') : t('Add team');
  cancel.hidden = !team;
  showProblem(form, errorBox, null);
  if (team) form.elements.namedItem('name').focus();
}

function remove(team) {
  return confirmDelete(
    t('Delete the team {name}? Its conversations stay where they are, without a team.', { name: team.name }),
    `/teams/${team.id}`, async () => {
      if (form.elements.namedItem('id').value === String(team.id)) edit(null);
      toast(t('Team {name} deleted.', { name: team.name }));
      await load();
    });
}

async function load() {
  const [teams, people] = await Promise.all([api('/teams'), api('/users')]);
  const names = new Map(people.map((u) => [u.id, u.name]));
  const editing = form.elements.namedItem('id').value;
  // Members may be picked among active people who can answer; someone already in a team stays listed.
  const inTeams = new Set(teams.flatMap((team) => team.member_ids));
  users = people.filter((u) => (u.is_active && u.role !== 'viewer') || inTeams.has(u.id));
  clear(table);
  for (const team of teams) {
    table.append(h('tr', { dataset: { testid: 'team-row' } },
      h('td', {}, team.name),
      h('td', {}, team.member_ids.length
        ? team.member_ids.map((id) => h('span', { class: 'chip' }, names.get(id) || `#${id}`))
        : h('span', { class: 'hint' }, t('No members'))),
      h('td', {}, h('div', { class: 'row-actions' },
        h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': t('Edit the team {name}', { name: team.name }), onclick: () => edit(team) }, t('Edit')),
        h('button', { class: 'btn btn-sm btn-danger', type: 'button', 'aria-label': t('Delete the team {name}', { name: team.name }), onclick: () => remove(team) }, t('Delete'))))));
  }
  none.hidden = teams.length > 0;
  const checked = new Set([...form.querySelectorAll('input[name=member]:checked')].map((b) => Number(b.value)));
  clear(memberBox).append(...users.map((u) => h('label', {},
    h('input', { type: 'checkbox', name: 'member', value: String(u.id), checked: checked.has(u.id) }), ` ${u.name}`)));
  if (editing && !teams.some((team) => String(team.id) === editing)) edit(null);
}

form.addEventListener('reset', () => setTimeout(() => edit(null)));
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const id = form.elements.namedItem('id').value;
  const name = form.elements.namedItem('name').value.trim();
  const memberIds = [...form.querySelectorAll('input[name=member]:checked')].map((b) => Number(b.value));
  try {
    if (id) await api(`/teams/${id}`, { method: 'PATCH', body: { name, member_ids: memberIds } });
    else await api('/teams', { method: 'POST', body: { name, member_ids: memberIds } });
    toast(t('Saved.'));
    edit(null);
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
