// The conversation list: filters, keyset "load more", and live updates that insert, move or
// drop rows as events arrive, without reloading the page.
import { api, query } from '../core/api.js';
import { badge } from '../core/channels.js';
import { clear, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { duration, short } from '../core/time.js';

const PAGE = 25;
const LONG_WAIT_MS = 60 * 60 * 1000;

function activityKey(conv) {
  return [Date.parse(conv.last_activity_at), conv.id];
}

function newer(a, b) {
  const [ta, ia] = activityKey(a);
  const [tb, ib] = activityKey(b);
  return ta !== tb ? ta > tb : ia > ib;
}

export class ConversationList {
  constructor({ element, empty, more, labels, channels, users, me, onopen, ontitle }) {
    this.el = element;
    this.empty = empty;
    this.more = more;
    this.labelList = labels;
    this.channels = channels;
    this.users = users;
    this.me = me;
    this.onopen = onopen;
    this.ontitle = ontitle || (() => {});
    this.filters = { assignee: 'all', status: 'open', channel_id: '', team_id: '', label: '', q: '' };
    this.items = []; // conversations in display order
    this.contacts = new Map(); // contact id -> {name, phone}
    this.lastDirection = new Map(); // conversation id -> 'in' | 'out', learnt from live events
    this.cursor = null;
    this.selected = null;
    this.generation = 0;
    this.knownLabels = new Set();
    this.more.addEventListener('click', () => this.loadMore());
    this.el.addEventListener('click', (ev) => {
      const link = ev.target.closest('a.conv-row');
      if (!link || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      this.onopen(Number(link.dataset.id));
    });
    // Waiting times and "5 min" labels age while the page stays open.
    setInterval(() => this.render(), 30_000);
  }

  setFilters(filters) {
    this.filters = { ...this.filters, ...filters };
    return this.reload();
  }

  // Every filter change (and each time the live feed restarts) reloads the first page. Only the
  // latest reload may draw; a "load more" waits for it, so it never appends to a page that is
  // about to be replaced (or asks with the cursor of a list that no longer is). `aria-busy` stays
  // true until the list on screen is the answer to the current filters.
  reload() {
    const generation = ++this.generation;
    this.el.setAttribute('aria-busy', 'true');
    this.loading = (async () => {
      try {
        const page = await api(`/conversations${query({ ...this.apiFilters(), limit: PAGE })}`);
        if (generation !== this.generation) return; // a newer filter change won the race
        this.items = [];
        this.absorb(page);
      } finally {
        if (generation === this.generation) this.el.setAttribute('aria-busy', 'false');
      }
    })();
    return this.loading;
  }

  async loadMore() {
    this.more.disabled = true;
    try {
      await this.loading?.catch(() => {});
      if (!this.cursor) return;
      const generation = this.generation;
      this.el.setAttribute('aria-busy', 'true');
      try {
        const page = await api(`/conversations${query({ ...this.apiFilters(), limit: PAGE, cursor: this.cursor })}`);
        if (generation === this.generation) this.absorb(page);
      } finally {
        if (generation === this.generation) this.el.setAttribute('aria-busy', 'false');
      }
    } finally {
      this.more.disabled = false;
    }
  }

  apiFilters() {
    const f = this.filters;
    return { assignee: f.assignee, status: f.status, channel_id: f.channel_id, team_id: f.team_id, label: f.label, q: f.q };
  }

  absorb(page) {
    for (const item of page.items) {
      this.contacts.set(item.contact_id, item.contact);
      if (item.last_message_direction) this.lastDirection.set(item.id, item.last_message_direction);
      if (!this.items.some((c) => c.id === item.id)) this.items.push(item);
    }
    this.cursor = page.next_cursor;
    this.render();
  }

  // Does a conversation belong in the list under the current filters? The server decides for
  // pages; live events are checked here with the same rules.
  matches(conv) {
    const f = this.filters;
    if (f.assignee === 'mine' && conv.assignee_id !== this.me.id) return false;
    if (f.assignee === 'unassigned' && conv.assignee_id !== null) return false;
    if (f.status && conv.status !== f.status) return false;
    if (f.channel_id && String(conv.channel_id) !== String(f.channel_id)) return false;
    if (f.team_id && String(conv.team_id) !== String(f.team_id)) return false;
    if (f.label && !(conv.labels || []).includes(f.label.toLowerCase())) return false;
    if (f.q) {
      const contact = this.contacts.get(conv.contact_id) || {};
      const hay = `${contact.name || ''} ${contact.phone || ''} ${conv.last_message_preview || ''}`.toLowerCase();
      if (!hay.includes(f.q.toLowerCase())) return false;
    }
    return true;
  }

  get(id) {
    return this.items.find((c) => c.id === id) || null;
  }

  // A conversation changed (live event or our own action): move it, update it, or drop it.
  // Updates run one after another, in arrival order: a slow contact lookup for an early event
  // must not let it overwrite a later one.
  upsert(conv, options = {}) {
    this.queue = (this.queue || Promise.resolve()).then(() => this.apply(conv, options)).catch(() => {});
    return this.queue;
  }

  async apply(conv, { direction } = {}) {
    if (direction) this.lastDirection.set(conv.id, direction);
    if (!this.contacts.has(conv.contact_id)) {
      try {
        const full = await api(`/conversations/${conv.id}`);
        this.contacts.set(full.contact_id, { id: full.contact.id, name: full.contact.name, phone: full.contact.phone });
      } catch {
        return; // not visible to us after all
      }
    }
    const index = this.items.findIndex((c) => c.id === conv.id);
    const existing = index >= 0 ? this.items[index] : null;
    if (existing && newer(existing, conv)) return; // a late event: we already show something newer
    if (index >= 0) this.items.splice(index, 1);
    if (this.matches(conv)) {
      const last = this.items[this.items.length - 1];
      // Beyond the last loaded row (with more pages to come) it belongs to a later page.
      if (!this.cursor || !last || newer(conv, last)) this.items.push({ ...conv, contact: this.contacts.get(conv.contact_id) });
    }
    this.items.sort((a, b) => (newer(a, b) ? -1 : 1));
    this.render();
  }

  updateContact(contact) {
    this.contacts.set(contact.id, { id: contact.id, name: contact.name, phone: contact.phone });
    this.render();
  }

  select(id) {
    this.selected = id;
    for (const link of this.el.querySelectorAll('a.conv-row')) {
      if (Number(link.dataset.id) === id) link.setAttribute('aria-current', 'true');
      else link.removeAttribute('aria-current');
    }
  }

  // j / k: the next or previous conversation, from the selected one.
  neighbour(step) {
    if (!this.items.length) return null;
    const index = this.items.findIndex((c) => c.id === this.selected);
    const next = index < 0 ? (step > 0 ? 0 : this.items.length - 1) : index + step;
    if (next < 0 || next >= this.items.length) return null;
    return this.items[next].id;
  }

  focusSelected() {
    this.el.querySelector('a.conv-row[aria-current="true"]')?.scrollIntoView({ block: 'nearest' });
  }

  waitingMs(conv) {
    if (conv.status !== 'open' || !conv.last_inbound_at) return null;
    const direction = this.lastDirection.get(conv.id);
    const inbound = Date.parse(conv.last_inbound_at);
    // The list API and live events say who wrote last; a conversation with no messages yet falls
    // back to its unread count.
    const customerLast = direction ? direction === 'in' : conv.unread_count > 0;
    return customerLast ? Date.now() - inbound : null;
  }

  rowElement(conv) {
    const contact = this.contacts.get(conv.contact_id) || {};
    const channel = this.channels.get(conv.channel_id);
    const name = contact.name || contact.phone || t('Unknown contact');
    const unread = conv.unread_count > 0;
    const waiting = this.waitingMs(conv);
    const meta = h('div', { class: 'conv-meta' });
    if (waiting !== null) {
      meta.append(h('span', { class: waiting > LONG_WAIT_MS ? 'waiting long' : 'waiting', dataset: { testid: 'waiting' } },
        t('Waiting {time}', { time: duration(waiting) })));
    }
    if (!this.filters.status) meta.append(h('span', { class: 'status-tag' }, statusName(conv.status)));
    for (const label of (conv.labels || []).slice(0, 3)) meta.append(h('span', { class: 'chip' }, label));
    if (conv.assignee_id) {
      const who = conv.assignee_id === this.me.id ? t('you') : (this.users.get(conv.assignee_id) || {}).name || '?';
      meta.append(h('span', { class: 'assignee-tag' }, t('Assigned to {name}', { name: who })));
    }
    const link = h('a', {
      class: `conv-row${unread ? ' unread' : ''}`, href: `/ui/conversations/${conv.id}`,
      dataset: { id: conv.id, testid: 'conversation-row' },
      'aria-current': conv.id === this.selected ? 'true' : null,
    },
    badge(channel),
    h('span', { class: 'conv-name' }, name),
    h('time', { class: 'conv-time', datetime: conv.last_activity_at }, short(conv.last_activity_at)),
    h('span', { class: 'conv-preview' }, preview(conv.last_message_preview)),
    unread ? h('span', { class: 'unread-badge', 'aria-label': t('{count} unread', { count: conv.unread_count }) },
      String(conv.unread_count)) : h('span'),
    meta);
    return h('li', {}, link);
  }

  render() {
    // Rows are rebuilt; a keyboard user's focus stays on the same conversation.
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest('a.conv-row') : null;
    const focusedId = focused && this.el.contains(focused) ? focused.dataset.id : null;
    clear(this.el);
    for (const conv of this.items) {
      this.el.append(this.rowElement(conv));
      for (const label of conv.labels || []) this.knownLabels.add(label);
    }
    this.empty.hidden = this.items.length > 0;
    this.more.hidden = !this.cursor;
    clear(this.labelList);
    for (const label of [...this.knownLabels].sort()) this.labelList.append(h('option', { value: label }));
    this.ontitle(this.items.filter((c) => c.unread_count > 0).length);
    if (focusedId) this.el.querySelector(`a.conv-row[data-id="${focusedId}"]`)?.focus();
  }
}

// Messages without text are previewed by the server as "[kind]": say what they are, in words.
export function preview(text) {
  const kind = /^\[(\w+)\]$/.exec(text || '');
  if (!kind) return text || '';
  return {
    media: t('Attachment'), location: t('Location'), contacts: t('Contact card'), button_reply: t('Tapped a button'),
    template: t('Template'), buttons: t('Buttons'), list: t('List'), reaction: t('Reaction'),
  }[kind[1]] || text;
}

export function statusName(status) {
  return { open: t('Open'), pending: t('Pending'), snoozed: t('Snoozed'), resolved: t('Resolved') }[status] || status;
}
