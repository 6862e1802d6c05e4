// The contacts page: search the address book (keyset "load more"), open a contact to see and edit
// its profile, where we know them from (identities per channel), consent per channel (recorded
// with the agent as source) and their conversations. /ui/contacts/{id} opens one directly.
import { api, query } from './core/api.js';
import { boot } from './core/boot.js';
import { badge } from './core/channels.js';
import { clear, h, initials } from './core/dom.js';
import { t } from './core/i18n.js';
import { full, short } from './core/time.js';
import { toast } from './core/toast.js';
import { preview, statusName } from './inbox/list.js';
import { showProblem } from './admin/common.js';

const channels = new Map((boot.channels || []).map((c) => [c.id, c]));
const listEl = document.getElementById('contact-list');
const none = document.getElementById('no-contacts');
const more = document.getElementById('contacts-more');
const search = document.getElementById('contact-search');
const detail = document.getElementById('contact-detail');
const page = document.getElementById('contacts');
const FIELDS = [['name', t('Name')], ['phone', t('Phone')], ['email', t('E-mail')], ['country', t('Country')], ['language', t('Language')]];
let cursor = null;
let generation = 0;
let openId = boot.open_id || null;

function row(c) {
  const name = c.name || c.phone || c.email || t('Unknown contact');
  return h('li', {}, h('a', {
    class: 'contact-row', href: `/ui/contacts/${c.id}`, dataset: { testid: 'contact-row', id: c.id },
    'aria-current': c.id === openId ? 'true' : null,
    onclick: (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
      ev.preventDefault();
      open(c.id, true);
    },
  }, h('span', { class: 'avatar', 'aria-hidden': 'true' }, initials(name)),
  h('span', { class: 'grow' }, name, h('small', {}, [c.phone, c.email].filter(Boolean).join(' · ')))));
}

async function load(append) {
  const mine = append ? generation : ++generation;
  listEl.setAttribute('aria-busy', 'true');
  const result = await api(`/contacts${query({ q: search.value.trim(), limit: 50, cursor: append ? cursor : null })}`);
  if (mine !== generation) return;
  if (!append) clear(listEl);
  listEl.append(...result.items.map(row));
  cursor = result.next_cursor;
  more.hidden = !cursor;
  none.hidden = listEl.children.length > 0;
  listEl.setAttribute('aria-busy', 'false');
}

function consentChip(consent) {
  if (!consent) return h('span', { class: 'chip' }, t('Not recorded'));
  return consent.status === 'opted_in' ? h('span', { class: 'chip pill-ok' }, t('Opted in'))
    : h('span', { class: 'chip pill-danger' }, t('Opted out'));
}

async function setConsent(contactId, channelId, status) {
  try {
    await api(`/contacts/${contactId}/consents`, { method: 'POST', body: { channel_id: channelId, status, source: 'agent' } });
    toast(t('Consent recorded.'));
    await open(contactId, false);
  } catch (err) {
    toast(err.message, { error: true });
  }
}

function render(contact, conversations) {
  const name = contact.name || contact.phone || t('Unknown contact');
  const form = h('form', { id: 'contact-form', novalidate: true },
    h('div', { class: 'alert alert-error', id: 'contact-error', role: 'alert', hidden: true }),
    h('div', { class: 'form-grid' }, FIELDS.map(([key, label]) => h('div', { class: 'field' },
      h('label', { for: `contact-${key}` }, label),
      h('input', { class: 'input', id: `contact-${key}`, name: key, value: contact[key] || '', autocomplete: 'off', disabled: !boot.can_write })))),
    h('div', { class: 'field' }, h('label', { for: 'contact-tags' }, t('Tags (comma separated)')),
      h('input', { class: 'input', id: 'contact-tags', name: 'tags', value: (contact.tags || []).join(', '), autocomplete: 'off', disabled: !boot.can_write })),
    boot.can_write ? h('button', { class: 'btn btn-primary', type: 'submit' }, t('Save')) : null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    for (const [key] of FIELDS) {
      const value = form.elements.namedItem(key).value.trim();
      if (value !== (contact[key] || '')) body[key] = value || null;
    }
    body.tags = form.elements.namedItem('tags').value.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      await api(`/contacts/${contact.id}`, { method: 'PATCH', body });
      toast(t('Saved.'));
      await open(contact.id, false);
      await load(false);
    } catch (err) {
      showProblem(form, form.querySelector('#contact-error'), err);
    }
  });

  const consents = new Map((contact.consents || []).map((c) => [c.channel_id, c]));
  const channelIds = [...new Set([...(contact.identities || []).map((i) => i.channel_id), ...consents.keys()])];
  const attributes = Object.entries(contact.attributes || {});
  clear(detail).append(h('div', { class: 'contact-card', dataset: { testid: 'contact-detail' } },
    h('div', { class: 'contact-top' }, h('span', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(name)),
      h('h2', {}, name)),
    form,
    attributes.length ? h('section', { class: 'panel-section' }, h('h3', {}, t('Attributes')),
      h('dl', { class: 'kv' }, attributes.map(([k, v]) => [h('dt', {}, k), h('dd', {}, typeof v === 'string' ? v : JSON.stringify(v))]))) : null,
    h('section', { class: 'panel-section' }, h('h3', {}, t('On these channels')),
      h('ul', { class: 'plain-list', dataset: { testid: 'identities' } }, (contact.identities || []).map((i) => h('li', {},
        badge(channels.get(i.channel_id) || { kind: i.channel_kind, name: i.channel_name }, { small: true }),
        h('span', { class: 'grow' }, i.channel_name, h('small', { class: 'code' }, i.external_id)))))),
    h('section', { class: 'panel-section' }, h('h3', {}, t('Marketing consent')),
      h('ul', { class: 'plain-list', dataset: { testid: 'consents' } }, channelIds.map((id) => {
        const channelName = (channels.get(id) || {}).name || `#${id}`;
        const consent = consents.get(id);
        return h('li', {}, h('span', { class: 'grow' }, channelName,
          consent ? h('small', {}, t('{source}, {when}', { source: consent.source, when: full(consent.changed_at) })) : null),
        consentChip(consent),
        boot.can_write ? h('button', {
          class: 'btn btn-sm', type: 'button',
          onclick: () => setConsent(contact.id, id, consent && consent.status === 'opted_in' ? 'opted_out' : 'opted_in'),
        }, consent && consent.status === 'opted_in'
          ? t('Record opt-out on {channel}', { channel: channelName })
          : t('Record opt-in on {channel}', { channel: channelName })) : null);
      }))),
    boot.can_write ? mergeSection(contact) : null,
    h('section', { class: 'panel-section' }, h('h3', {}, t('Conversations')),
      conversations.length ? h('ul', { class: 'plain-list' }, conversations.map((c) => h('li', {},
        badge(channels.get(c.channel_id), { small: true }),
        h('a', { class: 'grow', href: `/ui/conversations/${c.id}` }, preview(c.last_message_preview) || `#${c.id}`,
          h('small', {}, `${statusName(c.status)} · ${short(c.last_activity_at)}`)))))
        : h('p', { class: 'hint' }, t('No conversation yet.')))));
}

// Duplicates (the same person on two channels, or typed twice): find the other record and fold
// it into this one. Its identities, consent and conversations move here; it then disappears.
function mergeSection(contact) {
  const results = h('ul', { class: 'plain-list', dataset: { testid: 'merge-candidates' } });
  const input = h('input', { class: 'input', id: 'merge-search', type: 'search', autocomplete: 'off', placeholder: t('Name, phone or e-mail') });
  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = input.value.trim();
      clear(results);
      if (!q) return;
      const found = (await api(`/contacts${query({ q, limit: 6 })}`)).items.filter((c) => c.id !== contact.id).slice(0, 5);
      if (!found.length) results.append(h('li', { class: 'hint' }, t('No contact matches.')));
      for (const other of found) {
        const name = other.name || other.phone || other.email || `#${other.id}`;
        results.append(h('li', {}, h('span', { class: 'grow' }, name, h('small', {}, [other.phone, other.email].filter(Boolean).join(' · '))),
          h('button', {
            class: 'btn btn-sm', type: 'button',
            onclick: async () => {
              if (!window.confirm(t('Merge {other} into {name}? This cannot be undone.', { other: name, name: contact.name || contact.phone || '' }))) return;
              try {
                await api(`/contacts/${contact.id}/merge`, { method: 'POST', body: { merge_id: other.id } });
                toast(t('Contacts merged.'));
                await open(contact.id, false);
                await load(false);
              } catch (err) {
                toast(err.message, { error: true });
              }
            },
          }, t('Merge into this contact'))));
      }
    }, 250);
  });
  return h('section', { class: 'panel-section' }, h('h3', {}, t('Merge a duplicate')),
    h('label', { class: 'sr-only', for: 'merge-search' }, t('Find the duplicate')), input, results);
}

async function open(id, push) {
  openId = id;
  if (push) history.pushState({ id }, '', `/ui/contacts/${id}`);
  for (const link of listEl.querySelectorAll('a.contact-row')) {
    if (Number(link.dataset.id) === id) link.setAttribute('aria-current', 'true');
    else link.removeAttribute('aria-current');
  }
  page.classList.add('contact-open');
  try {
    const [contact, convs] = await Promise.all([api(`/contacts/${id}`),
      api(`/conversations${query({ contact_id: id, assignee: 'all', limit: 20 })}`)]);
    if (openId !== id) return;
    render(contact, convs.items);
    if (push) detail.focus();
  } catch (err) {
    toast(err.message, { error: true });
  }
}

let timer = null;
search.addEventListener('input', () => {
  clearTimeout(timer);
  listEl.setAttribute('aria-busy', 'true');
  timer = setTimeout(() => load(false), 250);
});
document.getElementById('contact-search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearTimeout(timer);
  load(false);
});
more.addEventListener('click', () => load(true));
window.addEventListener('popstate', () => {
  const match = location.pathname.match(/^\/ui\/contacts\/(\d+)$/);
  if (match) open(Number(match[1]), false);
});

load(false);
if (openId) open(openId, false);
