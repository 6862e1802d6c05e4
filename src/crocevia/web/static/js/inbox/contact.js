// The contact panel: who the customer is, where we know them from (identities per channel),
// their consent on each channel, and their other conversations.
import { api, query } from '../core/api.js';
import { badge } from '../core/channels.js';
import { clear, h, icon, initials } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { full, short } from '../core/time.js';
import { preview, statusName } from './list.js';

export class ContactPanel {
  constructor({ pane, channels, onopen, onclose }) {
    this.pane = pane;
    this.channels = channels;
    this.onopen = onopen;
    this.onclose = onclose;
    this.generation = 0;
  }

  clear() {
    this.generation += 1;
    clear(this.pane);
  }

  async load(conv) {
    const generation = ++this.generation;
    const [contact, others] = await Promise.all([
      api(`/contacts/${conv.contact_id}`),
      api(`/conversations${query({ contact_id: conv.contact_id, assignee: 'all', limit: 10 })}`),
    ]);
    if (generation !== this.generation) return;
    this.render(contact, others.items.filter((c) => c.id !== conv.id));
  }

  render(contact, others) {
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
          }, preview(c.last_message_preview) || `#${c.id}`, h('small', {}, `${statusName(c.status)} · ${short(c.last_activity_at)}`)))))) : null));
  }
}
