// The open conversation: header (assignee, status, resolve), labels, the thread with delivery
// statuses and private notes, and the composer. Live events update it in place.
import { api } from '../core/api.js';
import { badge } from '../core/channels.js';
import { clear, h, icon } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { labelChip, relabel } from '../core/labels.js';
import { announce, toast } from '../core/toast.js';
import { dayLabel, sameDay } from '../core/time.js';
import { Composer } from './composer.js';
import { statusName } from './list.js';
import { messageElement, noteElement } from './message.js';

const RANK = { received: 0, queued: 1, sent: 2, delivered: 3, read: 4, failed: 5 };
const PAGE = 50;

function tomorrowAtNine() {
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d;
}

// Whether the workspace has a bot (any flow): only then can a conversation be handed back to it.
let botCheck = null;
function hasBot() {
  if (!botCheck) botCheck = api('/bot/flows').then((flows) => flows.length > 0).catch(() => false);
  return botCheck;
}

export class ThreadView {
  constructor({ pane, placeholder, template, channels, users, teams, me, canWrite, onchange, onback, oncontact, ontyping }) {
    this.pane = pane;
    this.placeholder = placeholder;
    this.template = template;
    this.channels = channels;
    this.users = users;
    this.teams = teams || new Map();
    this.ontyping = ontyping || (() => {});
    this.typers = new Map(); // user id -> {mode, until} for the open conversation
    this.me = me;
    this.canWrite = canWrite;
    this.onchange = onchange;
    this.onback = onback;
    this.oncontact = oncontact;
    this.generation = 0;
    this.members = new Map(); // channel id -> member user ids (for the assignee list)
    this.conv = null;
  }

  get id() {
    return this.conv ? this.conv.id : null;
  }

  close() {
    this.generation += 1;
    this.conv = null;
    this.loading = null;
    clear(this.pane).append(this.placeholder);
  }

  async open(id) {
    const generation = ++this.generation;
    this.typers.clear();
    // Live events for this conversation that arrive while it loads are replayed once it is shown:
    // the fetched history may predate them.
    this.loading = { id, events: [] };
    let conv;
    let page;
    let notes;
    try {
      [conv, page, notes] = await Promise.all([
        api(`/conversations/${id}`), api(`/conversations/${id}/messages?limit=${PAGE}`), api(`/conversations/${id}/notes`),
      ]);
    } catch (err) {
      if (generation !== this.generation) return null;
      this.loading = null;
      if (err.status === 404) {
        this.conv = null;
        this.renderNotFound();
        return null;
      }
      throw err;
    }
    if (generation !== this.generation) return null;
    this.conv = conv;
    this.messages = page.items.slice().reverse();
    this.cursor = page.next_cursor;
    this.notes = notes;
    this.mount();
    this.renderHeader();
    this.renderLabels();
    this.renderTimeline({ toBottom: true });
    this.composer.setConversation(conv, this.channel());
    if (conv.unread_count > 0) this.markRead();
    const { events } = this.loading;
    this.loading = null;
    for (const [method, payload] of events) this[method](payload);
    return conv;
  }

  // True when the event was kept for after the load.
  deferred(method, conversationId, payload) {
    if (!this.loading || this.loading.id !== conversationId) return false;
    this.loading.events.push([method, payload]);
    return true;
  }

  // Reload what is shown (after the live feed reconnects) without losing the composer's draft.
  async refresh() {
    const conv = this.conv;
    if (!conv) return;
    const generation = this.generation;
    const [fresh, page, notes] = await Promise.all([
      api(`/conversations/${conv.id}`), api(`/conversations/${conv.id}/messages?limit=${PAGE}`),
      api(`/conversations/${conv.id}/notes`),
    ]);
    if (generation !== this.generation) return;
    this.conv = fresh;
    this.messages = page.items.slice().reverse();
    this.cursor = page.next_cursor;
    this.notes = notes;
    this.renderHeader();
    this.renderLabels();
    this.renderTimeline();
    this.composer.setWindow(fresh.window);
  }

  channel() {
    return this.channels.get(this.conv.channel_id) || { id: this.conv.channel_id, kind: '', name: '', caps: {} };
  }

  renderNotFound() {
    clear(this.pane).append(h('section', { class: 'not-found', dataset: { testid: 'not-found' } },
      h('h2', {}, t('Conversation not found')),
      h('p', {}, t('It does not exist, or it belongs to an inbox you are not a member of.')),
      h('button', { class: 'btn', type: 'button', onclick: () => this.onback() }, icon('back', 'icon icon-sm'), t('Back to the list'))));
  }

  mount() {
    const root = this.template.content.cloneNode(true);
    clear(this.pane).append(root);
    const slot = (name) => this.pane.querySelector(`[data-slot="${name}"]`);
    this.el = {
      badge: slot('badge'), name: slot('name'), sub: slot('sub'), assignee: slot('assignee'), team: slot('team'), typing: slot('typing'), status: slot('status'),
      labels: slot('labels'), labelInput: slot('label-input'), messages: slot('messages'),
      resolve: this.pane.querySelector('[data-action="resolve"]'), contact: this.pane.querySelector('[data-action="contact"]'),
    };
    this.pane.querySelector('[data-action="back"]').addEventListener('click', () => this.onback());
    this.el.contact.addEventListener('click', () => this.oncontact());
    this.el.resolve.addEventListener('click', () => this.toggleResolve());
    this.el.bot = this.pane.querySelector('[data-action="bot"]');
    this.el.bot.addEventListener('click', () => this.handBackToBot());
    this.el.ticket = this.pane.querySelector('[data-action="ticket"]');
    this.el.ticket.hidden = !this.canWrite;
    this.el.ticket.addEventListener('click', () => this.openTicket());
    if (this.canWrite) {
      hasBot().then((yes) => {
        if (this.el && this.el.bot) this.el.bot.hidden = !yes;
      });
    }
    this.el.status.addEventListener('change', () => this.changeStatus(this.el.status.value));
    this.el.assignee.addEventListener('change', () => this.assign(this.el.assignee.value));
    this.el.team.addEventListener('change', () => this.assignTeam(this.el.team.value));
    this.el.labelInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        const label = this.el.labelInput.value.trim().toLowerCase();
        if (label) this.setLabels([...new Set([...(this.conv.labels || []), label])]);
        this.el.labelInput.value = '';
      }
    });
    for (const control of [this.el.assignee, this.el.team, this.el.status, this.el.resolve, this.el.labelInput]) {
      control.disabled = !this.canWrite;
    }
    this.composer = new Composer(slot('composer'), {
      users: this.users, me: this.me, canWrite: this.canWrite,
      onsent: (message) => this.addMessage(message),
      onnote: (note) => this.addNote(note),
      onpolicy: () => this.refreshWindow(),
      ontyping: (conversationId, mode) => this.ontyping(conversationId, mode),
    });
  }

  renderHeader() {
    const conv = this.conv;
    const channel = this.channel();
    const contact = conv.contact || {};
    clear(this.el.badge).append(badge(channel));
    this.el.name.textContent = contact.name || contact.phone || t('Unknown contact');
    this.el.sub.textContent = [channel.name, contact.phone].filter(Boolean).join(' · ');
    this.el.resolve.textContent = '';
    this.el.resolve.append(icon('check', 'icon icon-sm'), conv.status === 'resolved' ? t('Reopen') : t('Resolve'));
    this.el.resolve.classList.toggle('btn-primary', conv.status !== 'resolved');
    this.el.status.value = conv.status;
    this.el.status.setAttribute('aria-label', t('Status: {status}', { status: statusName(conv.status) }));
    this.renderAssignees();
    this.renderTeam();
  }

  // Teams exist only in some workspaces: the select shows when there is one to pick.
  renderTeam() {
    const select = this.el.team;
    select.hidden = this.teams.size === 0;
    if (select.hidden) return;
    clear(select).append(h('option', { value: '', disabled: true }, t('No team')));
    for (const team of this.teams.values()) select.append(h('option', { value: team.id }, t('Team: {name}', { name: team.name })));
    select.value = this.conv.team_id ? String(this.conv.team_id) : '';
  }

  async renderAssignees() {
    // Staleness is judged by the generation (bumped when another conversation opens): this.conv is
    // replaced by every update of the same conversation.
    const generation = this.generation;
    const select = this.el.assignee;
    const channelId = this.conv.channel_id;
    let members = this.members.get(channelId);
    if (!members) {
      try {
        members = new Set((await api(`/channels/${channelId}/members`)).user_ids);
      } catch {
        members = null;
      }
      this.members.set(channelId, members);
    }
    if (generation !== this.generation) return;
    const conv = this.conv; // the latest version, after the wait
    // Only people who may take it: active, not viewers, and members of its inbox (or admins).
    const eligible = [...this.users.values()].filter((u) => u.is_active && u.role !== 'viewer'
      && (u.role === 'owner' || u.role === 'admin' || !members || members.has(u.id)));
    clear(select).append(h('option', { value: '' }, t('No assignee')));
    const mine = eligible.find((u) => u.id === this.me.id);
    if (mine) select.append(h('option', { value: mine.id }, t('Me ({name})', { name: mine.name })));
    for (const u of eligible) if (u.id !== this.me.id) select.append(h('option', { value: u.id }, u.name));
    if (conv.assignee_id && !eligible.some((u) => u.id === conv.assignee_id)) {
      const u = this.users.get(conv.assignee_id);
      select.append(h('option', { value: conv.assignee_id }, u ? u.name : `#${conv.assignee_id}`));
    }
    select.value = conv.assignee_id ? String(conv.assignee_id) : '';
  }

  // A label renamed (newName) or deleted (null) by an admin, or recoloured: redraw the chips.
  relabel(oldName, newName) {
    if (!this.conv || !this.el) return;
    if (oldName) this.conv.labels = relabel(this.conv.labels, oldName, newName);
    this.renderLabels();
  }

  renderLabels() {
    const box = clear(this.el.labels);
    for (const label of this.conv.labels || []) {
      box.append(labelChip(label,
        this.canWrite ? h('button', {
          type: 'button', 'aria-label': t('Remove the label {label}', { label }),
          onclick: () => this.setLabels((this.conv.labels || []).filter((l) => l !== label)),
        }, '×') : null));
    }
  }

  // -- the thread ---------------------------------------------------------------------------
  timeline() {
    const entries = [
      ...this.messages.map((m) => ({ at: m.created_at, kind: 'message', item: m })),
      ...this.notes.map((n) => ({ at: n.created_at, kind: 'note', item: n })),
    ];
    // Older history not loaded yet: notes from then would sit out of place, so they wait too.
    const oldest = this.cursor && this.messages.length ? Date.parse(this.messages[0].created_at) : null;
    return entries
      .filter((e) => oldest === null || Date.parse(e.at) >= oldest)
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.item.id - b.item.id);
  }

  renderTimeline({ toBottom = false, keepOffset = false } = {}) {
    const box = this.el.messages;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const fromBottom = box.scrollHeight - box.scrollTop;
    clear(box);
    if (this.cursor) {
      box.append(h('button', { class: 'btn btn-sm load-older', type: 'button', onclick: () => this.loadOlder() },
        t('Load older messages')));
    }
    let previous = null;
    const ctx = { users: this.users, showSender: Boolean(this.conv.thread_key) };
    for (const entry of this.timeline()) {
      if (!previous || !sameDay(previous, entry.at)) box.append(h('div', { class: 'day-sep' }, dayLabel(entry.at)));
      previous = entry.at;
      box.append(entry.kind === 'note' ? noteElement(entry.item, ctx) : messageElement(entry.item, ctx));
    }
    if (!this.messages.length && !this.notes.length) {
      box.append(h('div', { class: 'empty-state' }, t('No messages yet.')));
    }
    if (keepOffset) box.scrollTop = box.scrollHeight - fromBottom;
    else if (toBottom || nearBottom) box.scrollTop = box.scrollHeight;
  }

  async loadOlder() {
    const generation = this.generation;
    const page = await api(`/conversations/${this.conv.id}/messages?limit=${PAGE}&before=${this.cursor}`);
    if (generation !== this.generation) return;
    this.messages = [...page.items.slice().reverse(), ...this.messages];
    this.cursor = page.next_cursor;
    this.renderTimeline({ keepOffset: true });
  }

  addMessage(message) {
    if (this.deferred('addMessage', message.conversation_id, message)) return;
    if (!this.conv || message.conversation_id !== this.conv.id) return;
    if (message.author_user_id && this.typers.delete(message.author_user_id)) this.renderTyping();
    const index = this.messages.findIndex((m) => m.id === message.id);
    if (index >= 0) {
      // The live event and our own POST's answer race; keep whichever status is further along.
      const current = this.messages[index];
      if ((RANK[current.status] || 0) > (RANK[message.status] || 0)) {
        message = {
          ...message, status: current.status, failure_reason: current.failure_reason,
          sent_at: current.sent_at || message.sent_at, delivered_at: current.delivered_at || message.delivered_at,
          read_at: current.read_at || message.read_at,
        };
      }
      this.messages[index] = { ...current, ...message };
    } else {
      this.messages.push(message);
    }
    this.renderTimeline();
    if (message.direction === 'in' && index < 0) {
      const contact = this.conv.contact || {};
      announce(t('New message from {name}: {text}', { name: contact.name || contact.phone || '', text: message.text }));
    }
    if (message.direction === 'in') {
      this.refreshWindow(); // the customer wrote: the reply window has just reopened
      if (document.visibilityState === 'visible') this.markRead();
    }
  }

  updateMessage(message) {
    if (this.deferred('updateMessage', message.conversation_id, message)) return;
    if (!this.conv || message.conversation_id !== this.conv.id) return;
    if (this.messages.some((m) => m.id === message.id)) this.addMessage(message);
  }

  updateStatus(event) {
    if (this.deferred('updateStatus', event.conversation_id, event)) return;
    const { message_id: id, status, failure_reason: reason } = event;
    if (!this.conv) return;
    const message = this.messages.find((m) => m.id === id);
    if (!message) return;
    if (status !== 'failed' && (RANK[status] || 0) <= (RANK[message.status] || 0)) return;
    message.status = status;
    message.failure_reason = reason;
    const now = new Date().toISOString();
    if (status === 'sent') message.sent_at = message.sent_at || now;
    if (status === 'delivered') message.delivered_at = message.delivered_at || now;
    if (status === 'read') message.read_at = message.read_at || now;
    const old = this.el.messages.querySelector(`[data-message-id="${id}"]`);
    if (old) old.replaceWith(messageElement(message, { users: this.users, showSender: Boolean(this.conv.thread_key) }));
  }

  addNote(note) {
    if (this.deferred('addNote', note.conversation_id, note)) return;
    if (!this.conv || note.conversation_id !== this.conv.id) return;
    if (note.author_user_id && this.typers.delete(note.author_user_id)) this.renderTyping();
    if (this.notes.some((n) => n.id === note.id)) return;
    this.notes.push(note);
    this.renderTimeline({ toBottom: note.author_user_id === this.me.id });
  }

  // -- conversation state -------------------------------------------------------------------
  updateConversation(conv) {
    if (this.deferred('updateConversation', conv.id, conv)) return;
    if (!this.conv || conv.id !== this.conv.id) return;
    this.conv = { ...this.conv, ...conv, contact: this.conv.contact, window: this.conv.window };
    this.renderHeader();
    this.renderLabels();
  }

  async refreshWindow() {
    if (!this.conv) return;
    const generation = this.generation;
    const fresh = await api(`/conversations/${this.conv.id}`);
    if (generation !== this.generation) return;
    this.conv.window = fresh.window;
    this.composer.setWindow(fresh.window);
  }

  markRead() {
    clearTimeout(this.readTimer);
    const id = this.conv.id;
    this.readTimer = setTimeout(() => api(`/conversations/${id}/read`, { method: 'POST' }).catch(() => {}), 400);
  }

  async act(path, body) {
    try {
      const conv = await api(`/conversations/${this.conv.id}/${path}`, { method: path === 'labels' ? 'PUT' : 'POST', body });
      this.updateConversation(conv);
      this.onchange(conv);
      return conv;
    } catch (err) {
      toast(err.message, { error: true });
      this.renderHeader();
      return null;
    }
  }

  toggleResolve() {
    if (!this.conv || !this.canWrite) return null;
    const resolving = this.conv.status !== 'resolved';
    return this.act('status', { status: resolving ? 'resolved' : 'open' }).then((conv) => {
      if (conv) toast(resolving ? t('Conversation resolved') : t('Conversation reopened'));
    });
  }

  changeStatus(value) {
    if (value === 'snooze:1h') return this.act('status', { status: 'snoozed', snoozed_until: new Date(Date.now() + 3600_000).toISOString() });
    if (value === 'snooze:tomorrow') return this.act('status', { status: 'snoozed', snoozed_until: tomorrowAtNine().toISOString() });
    return this.act('status', { status: value });
  }

  assign(value) {
    return this.act('assign', { assignee_id: value ? Number(value) : null });
  }

  // Another agent types in this conversation: "Anna is replying…" above the composer, until they
  // stop (signals come every 3 s while typing; 6 s of silence clears it) or their message lands.
  showTyping({ conversation_id: conversationId, user_id: userId, mode }) {
    if (!this.conv || conversationId !== this.conv.id || userId === this.me.id || !this.el) return;
    this.typers.set(userId, { mode, until: Date.now() + 6000 });
    this.renderTyping();
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.renderTyping(), 6100);
  }

  renderTyping() {
    const box = this.el && this.el.typing;
    if (!box) return;
    const now = Date.now();
    for (const [id, typer] of this.typers) if (typer.until <= now) this.typers.delete(id);
    const parts = [...this.typers].map(([id, typer]) => {
      const name = (this.users.get(id) || {}).name || t('Someone');
      return typer.mode === 'note' ? t('{name} is writing a note…', { name }) : t('{name} is replying…', { name });
    });
    box.textContent = parts.join(' ');
    box.hidden = parts.length === 0;
  }

  // The bot takes the conversation again (its flows answer the next message); it leaves the agent.
  async handBackToBot() {
    if (!this.conv) return;
    try {
      await api(`/conversations/${this.conv.id}/bot`, { method: 'PUT', body: { active: true } });
      const conv = await api(`/conversations/${this.conv.id}`);
      this.updateConversation(conv);
      this.onchange(conv);
      toast(t('Handed back to the bot.'));
    } catch (err) {
      toast(err.message, { error: true });
    }
  }

  // A ticket from this conversation (issue 8's tickets): the subject is asked, the customer is
  // told its number in their app by the server, and the agent gets a link to it.
  async openTicket() {
    if (!this.conv) return;
    const subject = window.prompt(t('Subject of the ticket'), (this.conv.last_message_preview || '').slice(0, 120));
    if (subject === null) return;
    try {
      const ticket = await api(`/conversations/${this.conv.id}/ticket`, { method: 'POST', body: { subject: subject.trim() } });
      toast(t('Ticket #{number} opened.', { number: ticket.number }),
        { link: { href: `/ui/tickets/${ticket.id}`, text: t('Show') } });
    } catch (err) {
      toast(err.message, { error: true });
    }
  }

  // Keeps the assignee: a team is handed the conversation alongside (or instead of) a person.
  assignTeam(value) {
    if (!value) return null;
    return this.act('assign', { assignee_id: this.conv.assignee_id, team_id: Number(value) });
  }

  setLabels(labels) {
    return this.act('labels', { labels });
  }
}
