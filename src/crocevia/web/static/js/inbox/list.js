// The conversation list: filters, keyset "load more", and live updates that insert, move or
// drop rows as events arrive, without reloading the page.
import { api, query } from '../core/api.js';
import { badge } from '../core/channels.js';
import { clear, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { labelChip, labelNames, relabel } from '../core/labels.js';
import { duration, short } from '../core/time.js';

const PAGE = 25;
// Rows on the page before "load more": live conversations arriving on top push the oldest ones
// past it (still listed, one click away). Chromium's work per frame grows with the rows in the page:
// at 200 msgs/s, 400 rows kept the page's thread busy enough to delay the next event by 25 ms
// (p50) where 50 rows delayed it by 1 ms (bench/inbox_latency.py).
const SHOWN = 50;
const LONG_WAIT_MS = 60 * 60 * 1000;

// Parsed once per conversation object: the list compares activity times on every live event.
const parsedTimes = new WeakMap();
function activityTime(conv) {
  let time = parsedTimes.get(conv);
  if (time === undefined) {
    time = Date.parse(conv.last_activity_at);
    parsedTimes.set(conv, time);
  }
  return time;
}

function newer(a, b) {
  const ta = activityTime(a);
  const tb = activityTime(b);
  return ta !== tb ? ta > tb : a.id > b.id;
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
    this.limit = SHOWN; // how many of them are on the page
    this.contacts = new Map(); // contact id -> {name, phone}
    this.lastDirection = new Map(); // conversation id -> 'in' | 'out', learnt from live events
    this.cursor = null;
    this.selected = null;
    this.generation = 0;
    this.knownLabels = new Set();
    this.labelsStale = true; // the label suggestions must be looked at again
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
        this.limit = SHOWN;
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
      if (this.items.length > this.limit) { // rows already listed come first
        this.limit = Math.min(this.items.length, this.limit + PAGE);
        this.render();
        return;
      }
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
    this.limit = Math.max(this.limit, this.items.length); // what the server sent is all shown
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

  // A conversation changed (live event or our own action): move it, update it, or drop it, and
  // draw that one row now. No timer and no request stand between an event and the screen: the
  // event carries the conversation as the server sends it to this agent (the live feed only
  // carries the inboxes the agent may see), and the browser folds the DOM changes of a burst into
  // its next frame anyway (bench/inbox_latency.py: a 16 ms timer, a full pass over the list and an
  // HTTP lookup per new contact were what separated "the page got it" from "shown"; drawing once per
  // animation frame instead was measured, and was slower).
  // Updates of one conversation stay in arrival order: only while one waits for a lookup (see
  // `needsLookup`) do its later updates queue behind it.
  upsert(conv, options = {}) {
    const chains = this.chains || (this.chains = new Map());
    const pending = chains.get(conv.id);
    if (!pending && !this.needsLookup(conv)) {
      this.apply(conv, options);
      return Promise.resolve();
    }
    const next = (pending || Promise.resolve()).then(async () => {
      if (this.needsLookup(conv)) {
        try {
          await this.lookupContact(conv);
        } catch {
          return; // not visible to us after all
        }
      }
      this.apply(conv, options);
    }).catch(() => {});
    chains.set(conv.id, next);
    next.then(() => { if (chains.get(conv.id) === next) chains.delete(conv.id); });
    return next;
  }

  // Only a search needs the contact before the row can be judged (its name and phone are searched);
  // otherwise a row whose contact is not known yet is drawn at once and named when the lookup lands.
  needsLookup(conv) {
    if (!this.filters.q) return false;
    const contact = this.contacts.get(conv.contact_id);
    return !contact || contact.partial;
  }

  // A new customer: the live feed announces the contact (contact.created) just before their first
  // conversation, so the row can be named without asking the server. The phone is not in the
  // announcement (`partial`): a search, which matches phones, still looks the contact up.
  learnContact(contact) {
    if (!contact || !contact.name || this.contacts.has(contact.id)) return;
    this.contacts.set(contact.id, { id: contact.id, name: contact.name, phone: null, partial: true });
  }

  // One request per unknown contact, however many of its messages arrive meanwhile. Every row of
  // that contact is redrawn when it lands; a conversation the server no longer shows us is dropped.
  lookupContact(conv) {
    const lookups = this.lookups || (this.lookups = new Map());
    let pending = lookups.get(conv.contact_id);
    if (!pending) {
      pending = api(`/conversations/${conv.id}`).then((full) => {
        this.contacts.set(full.contact_id, { id: full.contact.id, name: full.contact.name, phone: full.contact.phone });
        for (const item of this.items) if (item.contact_id === full.contact_id) this.draw(item.id);
      }, (err) => {
        // 404: the server does not show us this conversation (any more). Any other failure keeps
        // the row, named "unknown contact" until the list next reloads.
        if (err.status === 404 && this.items.some((c) => c.id === conv.id)) {
          this.items = this.items.filter((c) => c.id !== conv.id);
          this.draw(conv.id);
        }
        throw err;
      }).finally(() => {
        lookups.delete(conv.contact_id);
        if (!this.contacts.has(conv.contact_id)) for (const item of this.items) if (item.contact_id === conv.contact_id) this.draw(item.id);
      });
      lookups.set(conv.contact_id, pending);
    }
    return pending;
  }

  apply(conv, { direction } = {}) {
    if (direction) this.lastDirection.set(conv.id, direction);
    if (!this.contacts.has(conv.contact_id)) this.lookupContact(conv).catch(() => {});
    const index = this.items.findIndex((c) => c.id === conv.id);
    const existing = index >= 0 ? this.items[index] : null;
    if (existing && newer(existing, conv)) return; // a late event: we already show something newer
    if (index >= 0) this.items.splice(index, 1);
    if (this.matches(conv)) {
      const last = this.items[this.items.length - 1];
      // Beyond the last loaded row (with more pages to come) it belongs to a later page.
      if (!this.cursor || !last || newer(conv, last)) {
        // The list is kept in order: the row goes in before the first older one (usually the top).
        const row = { ...conv, contact: this.contacts.get(conv.contact_id) };
        const at = this.items.findIndex((other) => newer(row, other));
        this.items.splice(at < 0 ? this.items.length : at, 0, row);
      }
    }
    this.draw(conv.id);
  }

  // Draw one conversation's change: its row rebuilt only if what it shows changed, put in its
  // place (before the next row in the list) or taken away. Everything else on screen stays as is.
  draw(id) {
    if (!this.rows) {
      this.render();
      return;
    }
    const index = this.items.findIndex((c) => c.id === id);
    const cached = this.rows.get(id);
    const focused = Boolean(cached && document.activeElement && cached.el.contains(document.activeElement));
    if (index < 0 || index >= this.limit) {
      if (cached) {
        cached.el.remove();
        this.rows.delete(id);
      }
    } else {
      const conv = this.items[index];
      const labels = this.knownLabels.size;
      for (const label of conv.labels || []) this.knownLabels.add(label);
      const el = this.rowFor(conv);
      // Before the next row if that one is on the page; else this is the last row shown.
      const next = this.items[index + 1];
      const before = next ? this.rows.get(next.id) : null;
      const ref = before && before.el.parentNode === this.el ? before.el : null;
      if (el.parentNode !== this.el || el.nextSibling !== ref) this.el.insertBefore(el, ref);
      // Moving or rebuilding a row takes the keyboard focus away from it: a keyboard user's focus
      // stays on the same conversation.
      if (focused && !el.contains(document.activeElement)) el.querySelector('a.conv-row')?.focus();
      if (this.knownLabels.size !== labels) this.labelsStale = true;
    }
    // The page shows the first `limit` conversations: a row pushed past it leaves, one pulled
    // within it comes.
    const want = Math.min(this.limit, this.items.length);
    while (this.el.children.length > want) this.el.lastElementChild.remove();
    for (let n = this.el.children.length; n < want; n++) {
      const el = this.rowFor(this.items[n]);
      if (el.parentNode === this.el) { // the page is not what `items` says: draw it all
        this.render();
        return;
      }
      this.el.append(el);
    }
    this.drawAround();
  }

  // An admin renamed (newName) or deleted (null) a label, or changed colours: the server already
  // rewrote the conversations; do the same to what is on screen, and redraw every row.
  relabel(oldName, newName) {
    if (oldName) {
      this.knownLabels.delete(oldName);
      for (const conv of this.items) conv.labels = relabel(conv.labels, oldName, newName);
    }
    this.rows = new Map();
    this.render();
  }

  updateContact(contact) {
    this.contacts.set(contact.id, { id: contact.id, name: contact.name, phone: contact.phone });
    this.render();
  }

  select(id) {
    this.selected = id;
    const index = this.items.findIndex((c) => c.id === id);
    if (index >= this.limit) { // j / k went past the rows shown
      this.limit = index + 1;
      this.render();
    }
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
    // A contact being looked up (see `lookupContact`) is named a moment later, not "unknown".
    const lookingUp = !this.contacts.has(conv.contact_id) && this.lookups?.has(conv.contact_id);
    const name = contact.name || contact.phone || (lookingUp ? '…' : t('Unknown contact'));
    const unread = conv.unread_count > 0;
    const waiting = this.waitingMs(conv);
    const meta = h('div', { class: 'conv-meta' });
    if (waiting !== null) {
      meta.append(h('span', { class: waiting > LONG_WAIT_MS ? 'waiting long' : 'waiting', dataset: { testid: 'waiting' } },
        t('Waiting {time}', { time: duration(waiting) })));
    }
    if (!this.filters.status) meta.append(h('span', { class: 'status-tag' }, statusName(conv.status)));
    for (const label of (conv.labels || []).slice(0, 3)) {
      const chip = labelChip(label);
      chip.dataset.testid = 'row-label'; // the open conversation's chips are the "label" ones
      meta.append(chip);
    }
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
    return link;
  }

  // A row is rebuilt only when what it shows changed; unchanged rows are moved, not redrawn. Its
  // <li> stays the same element for the conversation's whole life on screen, only its content is
  // replaced: taking list items out of the page cost more than building them (a profile of the
  // live inbox at 200 msgs/s).
  rowFor(conv) {
    const cached = this.rows.get(conv.id);
    const contact = this.contacts.get(conv.contact_id) || {};
    const waiting = this.waitingMs(conv);
    const key = JSON.stringify([conv, contact.name, contact.phone, conv.id === this.selected,
      waiting === null ? null : duration(waiting), Boolean(this.filters.status), this.lastDirection.get(conv.id),
      !this.contacts.has(conv.contact_id) && Boolean(this.lookups?.has(conv.contact_id))]);
    if (cached && cached.key === key) return cached.el;
    const el = cached ? cached.el : h('li');
    el.replaceChildren(this.rowElement(conv));
    this.rows.set(conv.id, { key, el });
    return el;
  }

  // The whole list: after a page from the server, a contact renamed, a label renamed, the clock.
  render() {
    this.rows = this.rows || new Map(); // conversation id -> {key, el}
    // A keyboard user's focus stays on the same conversation.
    const focused = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest('a.conv-row') : null;
    const focusedId = focused && this.el.contains(focused) ? focused.dataset.id : null;
    const shown = new Set();
    const nodes = this.items.slice(0, this.limit).map((conv) => {
      shown.add(conv.id);
      for (const label of conv.labels || []) this.knownLabels.add(label);
      return this.rowFor(conv);
    });
    for (const id of [...this.rows.keys()]) if (!shown.has(id)) this.rows.delete(id);
    // Put the rows in order touching only those out of place: a new message moves one row to
    // the top instead of re-inserting the whole list.
    const keep = new Set(nodes);
    for (const child of [...this.el.children]) if (!keep.has(child)) child.remove(); // rows redrawn or gone
    let at = this.el.firstChild;
    for (const node of nodes) {
      if (node === at) at = at.nextSibling;
      else this.el.insertBefore(node, at);
    }
    this.labelsStale = true; // labels may have been renamed or added: look again
    this.drawAround();
    if (focusedId) this.el.querySelector(`a.conv-row[data-id="${focusedId}"]`)?.focus();
  }

  // What the list's rows decide around it: the empty state, "load more", the label suggestions,
  // the unread count in the title.
  // Each is written only when it changes: even an unchanged document.title costs a trip to the
  // browser, and live events come by the hundred a second.
  drawAround() {
    if (this.empty.hidden !== this.items.length > 0) this.empty.hidden = this.items.length > 0;
    const more = Boolean(this.cursor) || this.items.length > this.limit;
    if (this.more.hidden !== !more) this.more.hidden = !more;
    if (this.labelsStale) {
      this.labelsStale = false;
      const options = [...new Set([...this.knownLabels, ...labelNames()])].sort();
      if (options.join('\n') !== this.shownOptions) {
        this.shownOptions = options.join('\n');
        clear(this.labelList).append(...options.map((label) => h('option', { value: label })));
      }
    }
    const unread = this.items.filter((c) => c.unread_count > 0).length;
    if (unread !== this.shownUnread) {
      this.shownUnread = unread;
      this.ontitle(unread);
    }
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
