// The contact panel: who the customer is, where we know them from (identities per channel),
// their consent on each channel, their other conversations, bookings and orders.
import { api, query } from '../core/api.js';
import { badge } from '../core/channels.js';
import { clear, h, icon, initials } from '../core/dom.js';
import { lang, t } from '../core/i18n.js';
import { full, short } from '../core/time.js';
import { preview, statusName } from './list.js';

export class ContactPanel {
  constructor({ pane, channels, onopen, onclose }) {
    this.pane = pane;
    this.channels = channels;
    this.onopen = onopen;
    this.onclose = onclose;
    this.generation = 0;
    this.resources = null; // booking resources by id, read once (names and time zones)
  }

  clear() {
    this.generation += 1;
    clear(this.pane);
  }

  async load(conv) {
    const generation = ++this.generation;
    // Bookings and orders are extras: a workspace without them (or a failed read) shows the rest.
    const optional = (path) => api(path).catch(() => []);
    const [contact, others, bookings, orders, resources] = await Promise.all([
      api(`/contacts/${conv.contact_id}`),
      api(`/conversations${query({ contact_id: conv.contact_id, assignee: 'all', limit: 10 })}`),
      optional(`/bookings${query({ contact_id: conv.contact_id })}`),
      optional(`/orders${query({ contact_id: conv.contact_id })}`),
      this.resources ? Promise.resolve(null) : optional('/booking/resources'),
    ]);
    if (resources) this.resources = new Map(resources.map((r) => [r.id, r]));
    if (generation !== this.generation) return;
    this.render(contact, others.items.filter((c) => c.id !== conv.id), bookings, orders);
  }

  bookingsSection(bookings) {
    if (!bookings.length) return null;
    // Newest slot first; a handful is enough beside a conversation.
    const shown = [...bookings].sort((a, b) => b.starts_at.localeCompare(a.starts_at)).slice(0, PANEL_ROWS);
    return h('section', { class: 'panel-section' }, h('h3', {}, t('Bookings')),
      h('ul', { class: 'plain-list', dataset: { testid: 'contact-bookings' } }, shown.map((b) => {
        const res = (this.resources && this.resources.get(b.resource_id)) || {};
        const when = slotTime(b.starts_at, res.timezone);
        return h('li', {},
          h('span', { class: 'grow' }, when,
            h('small', {}, [res.name || `#${b.resource_id}`, t('{count} people', { count: b.party_size })].join(' · '))),
          h('span', { class: `chip ${b.status === 'confirmed' ? 'pill-ok' : ''}` },
            b.status === 'confirmed' ? t('Confirmed') : t('Cancelled')));
      })));
  }

  ordersSection(orders) {
    if (!orders.length) return null;
    return h('section', { class: 'panel-section' }, h('h3', {}, t('Orders')),
      h('ul', { class: 'plain-list', dataset: { testid: 'contact-orders' } }, orders.slice(0, PANEL_ROWS).map((o) => {
        const [text, cls] = ORDER_STATUS[o.status] || ORDER_STATUS.cancelled;
        const lines = (o.items || []).map((i) => `${i.quantity}× ${i.name}`).join(', ');
        return h('li', {},
          h('span', { class: 'grow' }, `#${o.id} · ${money(o.total_minor, o.currency)}`,
            h('small', {}, [lines, short(o.created_at)].filter(Boolean).join(' · '))),
          h('span', { class: `chip ${cls}` }, text));
      })));
  }

  render(contact, others, bookings = [], orders = []) {
    const rows = [
      [t('Phone'), contact.phone], [t('E-mail'), contact.email], [t('Country'), contact.country],
      [t('Language'), contact.language], [t('Time zone'), contact.timezone],
      [t('Last seen'), contact.last_seen_at ? full(contact.last_seen_at) : null],
    ].filter(([, value]) => value);
    const consents = new Map((contact.consents || []).map((c) => [c.channel_id, c]));
    const channelIds = [...new Set([...(contact.identities || []).map((i) => i.channel_id), ...consents.keys()])];
    const name = contact.name || contact.phone || t('Unknown contact');

    clear(this.pane).append(h('div', { class: 'contact-card', dataset: { testid: 'contact-panel' } },
      h('div', { class: 'contact-top' },
        h('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(name)),
        h('h2', {}, name),
        h('button', { class: 'btn btn-ghost btn-icon contact-close', type: 'button', onclick: () => this.onclose() },
          icon('close'), h('span', { class: 'sr-only' }, t('Close')))),
      rows.length ? h('dl', { class: 'kv' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])) : null,
      (contact.tags || []).length ? h('div', {}, contact.tags.map((tag) => h('span', { class: 'chip' }, tag))) : null,

      h('section', { class: 'panel-section' }, h('h3', {}, t('On these channels')),
        h('ul', { class: 'plain-list' }, (contact.identities || []).map((i) => h('li', {},
          badge(this.channels.get(i.channel_id) || { kind: i.channel_kind, name: i.channel_name }, { small: true }),
          h('span', { class: 'grow' }, i.channel_name, h('small', { class: 'code' }, i.external_id)))))),

      h('section', { class: 'panel-section' }, h('h3', {}, t('Marketing consent')),
        h('ul', { class: 'plain-list', dataset: { testid: 'consents' } }, channelIds.map((id) => {
          const identity = (contact.identities || []).find((i) => i.channel_id === id) || {};
          const channelName = (this.channels.get(id) || {}).name || identity.channel_name || `#${id}`;
          const consent = consents.get(id);
          const [text, cls] = !consent ? [t('Not recorded'), ''] : consent.status === 'opted_in'
            ? [t('Opted in'), 'pill-ok'] : [t('Opted out'), 'pill-danger'];
          return h('li', {}, h('span', { class: 'grow' }, channelName,
            consent ? h('small', {}, t('{source}, {when}', { source: consent.source, when: full(consent.changed_at) })) : null),
          h('span', { class: `chip ${cls}` }, text));
        }))),

      others.length ? h('section', { class: 'panel-section' }, h('h3', {}, t('Other conversations')),
        h('ul', { class: 'plain-list' }, others.map((c) => h('li', {},
          badge(this.channels.get(c.channel_id), { small: true }),
          h('a', {
            class: 'grow', href: `/ui/conversations/${c.id}`,
            onclick: (ev) => {
              ev.preventDefault();
              this.onopen(c.id);
            },
          }, preview(c.last_message_preview) || `#${c.id}`, h('small', {}, `${statusName(c.status)} · ${short(c.last_activity_at)}`)))))) : null,

      this.bookingsSection(bookings),
      this.ordersSection(orders)));
  }
}

const PANEL_ROWS = 5;
// t() literals here so that the catalogue extraction finds them.
const ORDER_STATUS = {
  pending: [t('Awaiting payment'), ''],
  paid: [t('Paid'), 'pill-ok'],
  refunded: [t('Refunded'), ''],
  cancelled: [t('Cancelled'), 'pill-danger'],
};

// Amounts are integers in the currency's minor unit (cents); Intl knows how many decimals it has.
function money(minor, currency) {
  try {
    const fmt = new Intl.NumberFormat(lang, { style: 'currency', currency });
    return fmt.format(minor / 10 ** fmt.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${minor} ${currency}`;
  }
}

// A slot in its resource's own time zone (the restaurant's evening, wherever the agent sits).
function slotTime(iso, timeZone) {
  const options = { dateStyle: 'medium', timeStyle: 'short' };
  try {
    return new Intl.DateTimeFormat(lang, timeZone ? { ...options, timeZone } : options).format(new Date(iso));
  } catch {
    return full(iso);
  }
}
