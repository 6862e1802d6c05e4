// Teams: a name and its members. Conversations are assigned to a team from their header.
import { api } from '../core/api.js';
import { clear, formReady, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { showProblem } from './common.js';

const table = document.querySelector('#team-table tbody');
const none = document.getElementById('no-teams');
const form = document.getElementById('team-form');
const errorBox = document.getElementById('team-error');
const memberBox = document.getElementById('team-members');
let users = [];

async function load() {
  const [teams, people] = await Promise.all([api('/teams'), api('/users')]);
  users = people.filter((u) => u.is_active && u.role !== 'viewer');
  const names = new Map(people.map((u) => [u.id, u.name]));
  clear(table);
  for (const team of teams) {
    table.append(h('tr', { dataset: { testid: 'team-row' } },
      h('td', {}, team.name),
      h('td', {}, team.member_ids.length
        ? team.member_ids.map((id) => h('span', { class: 'chip' }, names.get(id) || `#${id}`))
        : h('span', { class: 'hint' }, t('No members')))));
  }
  none.hidden = teams.length > 0;
  clear(memberBox).append(...users.map((u) => h('label', {},
    h('input', { type: 'checkbox', name: 'member', value: String(u.id) }), ` ${u.name}`)));
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = form.elements.namedItem('name').value.trim();
  const memberIds = [...form.querySelectorAll('input[name=member]:checked')].map((b) => Number(b.value));
  try {
    await api('/teams', { method: 'POST', body: { name, member_ids: memberIds } });
    showProblem(form, errorBox, null);
    form.reset();
    await load();
  } catch (err) {
    showProblem(form, errorBox, err);
  }
});

formReady(form);
load();
