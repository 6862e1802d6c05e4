// The inbox page: wires the list, the open conversation, the contact panel, the live feed,
// the URL (filters and the open conversation survive a reload) and the keyboard shortcuts.
import { boot } from '../core/boot.js';
import { isTyping } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { applyLabelEvent, setLabels } from '../core/labels.js';
import { Live } from '../core/live.js';
import { notify } from '../core/notify.js';
import { toast } from '../core/toast.js';
import { ContactPanel } from './contact.js';
import { ConversationList } from './list.js';
import { ThreadView } from './thread.js';

const channels = new Map((boot.channels || []).map((c) => [c.id, c]));
const users = new Map((boot.users || []).map((u) => [u.id, u]));
const teams = new Map((boot.teams || []).map((team) => [team.id, team]));
const me = boot.me;
setLabels(boot.labels);
const inbox = document.getElementById('inbox');
const search = document.getElementById('search');
const statusFilter = document.getElementById('filter-status');
const channelFilter = document.getElementById('filter-channel');
const labelFilter = document.getElementById('filter-label');
const teamFilter = document.getElementById('filter-team'); // only when the workspace has teams
const tabs = document.querySelectorAll('#assignee-tabs [data-assignee]');
const liveState = document.getElementById('live-state');
const baseTitle = document.title;

const list = new ConversationList({
  element: document.getElementById('conv-list'), empty: document.getElementById('list-empty'),
  more: document.getElementById('load-more'), labels: document.getElementById('known-labels'),
  channels, users, me,
  onopen: (id) => openConversation(id, { push: true }),
  ontitle: (unread) => {
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  },
});

const contactPanel = new ContactPanel({
  pane: document.getElementById('contact-pane'), channels,
  onopen: (id) => openConversation(id, { push: true }),
  onclose: () => toggleContact(false),
});

const thread = new ThreadView({
  pane: document.getElementById('thread-pane'), placeholder: document.getElementById('thread-empty'),
  template: document.getElementById('tpl-thread'), channels, users, teams, me, canWrite: boot.can_write,
  onchange: (conv) => list.upsert(conv),
  onback: () => closeConversation({ push: true }),
  oncontact: () => toggleContact(),
  ontyping: (conversationId, mode) => live.send({ type: 'typing', conversation_id: conversationId, mode }),
});

// -- URL <-> state ---------------------------------------------------------------------------
function filtersFromUrl() {
  const params = new URLSearchParams(location.search);
  return {
    assignee: ['mine', 'unassigned', 'all'].includes(params.get('assignee')) ? params.get('assignee') : 'all',
    status: params.has('status') ? params.get('status') : 'open',
    channel_id: params.get('channel') || '',
    team_id: params.get('team') || '',
    label: params.get('label') || '',
    q: params.get('q') || '',
  };
}

function urlFor(id) {
  const f = list.filters;
  const params = new URLSearchParams();
  if (f.assignee !== 'all') params.set('assignee', f.assignee);
  if (f.status !== 'open') params.set('status', f.status);
  if (f.channel_id) params.set('channel', f.channel_id);
  if (f.team_id) params.set('team', f.team_id);
  if (f.label) params.set('label', f.label);
  if (f.q) params.set('q', f.q);
  const qs = params.toString();
  return `${id ? `/ui/conversations/${id}` : '/'}${qs ? `?${qs}` : ''}`;
}

function showFilters(f) {
  for (const tab of tabs) tab.setAttribute('aria-pressed', String(tab.dataset.assignee === f.assignee));
  statusFilter.value = f.status;
  channelFilter.value = f.channel_id;
  if (teamFilter) teamFilter.value = f.team_id;
  labelFilter.value = f.label;
  search.value = f.q;
}

// The inputs already show what the agent typed: only the tabs and the URL follow. (Writing the
// inputs back after the fetch would wipe what was typed meanwhile.)
let searchTimer = null;
function applyFilters(change) {
  // A search still being typed (debounced) goes along with any other filter change, so the two
  // never land as separate reloads.
  if (searchTimer !== null) {
    clearTimeout(searchTimer);
    searchTimer = null;
    change = { q: search.value.trim(), ...change };
  }
  const loading = list.setFilters(change);
  for (const tab of tabs) tab.setAttribute('aria-pressed', String(tab.dataset.assignee === list.filters.assignee));
  history.replaceState(history.state, '', urlFor(list.selected));
  return loading;
}

// -- opening and closing conversations ------------------------------------------------------
async function openConversation(id, { push = false } = {}) {
  if (push) history.pushState({ id }, '', urlFor(id));
  list.select(id);
  list.focusSelected();
  inbox.classList.add('conv-open');
  const conv = await thread.open(id);
  if (conv) {
    const last = thread.messages[thread.messages.length - 1];
    if (last) list.lastDirection.set(conv.id, last.direction);
    contactPanel.load(conv).catch(() => contactPanel.clear());
    const row = list.get(id);
    if (row && row.unread_count) list.upsert({ ...row, unread_count: 0 });
  } else {
    contactPanel.clear();
  }
}

function closeConversation({ push = false } = {}) {
  if (push) history.pushState({ id: null }, '', urlFor(null));
  thread.close();
  contactPanel.clear();
  list.select(null);
  inbox.classList.remove('conv-open');
  toggleContact(false);
}

function toggleContact(force) {
  const show = force === undefined ? !inbox.classList.contains('show-contact') : force;
  inbox.classList.toggle('show-contact', show);
  document.querySelector('[data-action="contact"]')?.setAttribute('aria-expanded', String(show));
}

window.addEventListener('popstate', () => {
  const match = location.pathname.match(/^\/ui\/conversations\/(\d+)$/);
  showFilters(filtersFromUrl());
  list.setFilters(filtersFromUrl());
  if (match) openConversation(Number(match[1]));
  else closeConversation();
});

// -- filters ----------------------------------------------------------------------------------
for (const tab of tabs) tab.addEventListener('click', () => applyFilters({ assignee: tab.dataset.assignee }));
statusFilter.addEventListener('change', () => applyFilters({ status: statusFilter.value }));
channelFilter.addEventListener('change', () => applyFilters({ channel_id: channelFilter.value }));
teamFilter?.addEventListener('change', () => applyFilters({ team_id: teamFilter.value }));
const applyLabel = () => applyFilters({ label: labelFilter.value.trim().toLowerCase() });
labelFilter.addEventListener('change', applyLabel);
labelFilter.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter') applyLabel();
});
search.addEventListener('input', () => {
  clearTimeout(searchTimer);
  // What is listed no longer answers what is typed: say so until the debounced reload lands.
  document.getElementById('conv-list').setAttribute('aria-busy', 'true');
  searchTimer = setTimeout(() => {
    searchTimer = null;
    applyFilters({ q: search.value.trim() });
  }, 250);
});
document.getElementById('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  applyFilters({ q: search.value.trim() });
});

// -- live events -------------------------------------------------------------------------------
function onEvent(event) {
  const data = event.data || {};
  switch (event.type) {
    case 'message.created':
      list.upsert(data.conversation, { direction: data.message.direction });
      thread.addMessage(data.message);
      break;
    case 'message.status':
      thread.updateStatus(data);
      break;
    case 'message.updated':
      thread.updateMessage(data.message);
      break;
    case 'conversation.created':
    case 'conversation.updated':
      if (event.type === 'conversation.created') {
        const channel = channels.get(data.channel_id);
        const body = [data.last_message_preview, channel && t('On {channel}', { channel: channel.name })].filter(Boolean).join(' · ');
        notify(t('New conversation'), body, `/ui/conversations/${data.id}`);
      }
      list.upsert(data);
      thread.updateConversation(data);
      if (data.change === 'assignment' && data.assignee_id === me.id && data.by_user_id !== me.id) {
        toast(t('A conversation was assigned to you.'), { link: { href: `/ui/conversations/${data.id}`, text: t('Show') } });
      }
      break;
    case 'contact.created':
      list.learnContact(data);
      break;
    case 'typing':
      thread.showTyping(data);
      break;
    case 'label.created':
    case 'label.updated':
    case 'label.deleted': {
      const renamed = applyLabelEvent(event.type, data);
      const oldName = event.type === 'label.deleted' ? data.name : (renamed ? data.old_name : null);
      const newName = event.type === 'label.deleted' ? null : data.name;
      if (oldName && labelFilter.value.trim().toLowerCase() === oldName) {
        labelFilter.value = newName || '';
        applyFilters({ label: labelFilter.value });
      }
      list.relabel(oldName, newName);
      thread.relabel(oldName, newName);
      break;
    }
    case 'note.created':
      thread.addNote(data);
      break;
    case 'user.mentioned':
      if (data.user_id === me.id && data.by_user_id !== me.id) {
        const who = (users.get(data.by_user_id) || {}).name || t('Someone');
        notify(t('{name} mentioned you in a note.', { name: who }), '', `/ui/conversations/${data.conversation_id}`);
        toast(t('{name} mentioned you in a note.', { name: who }),
          { link: { href: `/ui/conversations/${data.conversation_id}`, text: t('Show') } });
      }
      break;
    default:
      break;
  }
}

const live = new Live({
  onevent: onEvent,
  onstate: (state) => {
    liveState.dataset.state = state;
    liveState.textContent = { live: t('Live'), offline: t('Offline, reconnecting…'), connecting: t('Connecting…') }[state];
  },
  // Whatever happened before the feed (re)started did not reach us: reload what is on screen.
  onsync: () => {
    list.reload();
    thread.refresh();
  },
});

// -- keyboard shortcuts ---------------------------------------------------------------------------
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (isTyping(ev.target)) {
    if (ev.key === 'Escape') ev.target.blur();
    return;
  }
  if (document.querySelector('dialog[open]')) return;
  const step = { j: 1, k: -1 }[ev.key];
  if (step) {
    const next = list.neighbour(step);
    if (next !== null) {
      ev.preventDefault();
      openConversation(next, { push: true });
    }
    return;
  }
  const actions = {
    r: () => thread.composer && thread.composer.focus('reply'),
    n: () => thread.composer && thread.composer.focus('note'),
    e: () => thread.toggleResolve(),
    '/': () => {
      search.focus();
      search.select();
    },
    Escape: () => toggleContact(false),
  };
  if (actions[ev.key]) {
    ev.preventDefault();
    actions[ev.key]();
  }
});

// -- start ------------------------------------------------------------------------------------------
const initial = filtersFromUrl();
showFilters(initial);
list.setFilters(initial);
if (boot.open_id) openConversation(boot.open_id);
history.replaceState({ id: boot.open_id || null }, '', location.href);
live.start();
