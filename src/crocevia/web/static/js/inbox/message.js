// One message (or private note) of a thread, as an element. Everything the customer wrote goes
// in as text; attachments are fetched from our own API, never from the provider's URLs.
import { h, icon } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { clock, full } from '../core/time.js';

const STATUS_LABELS = () => ({
  queued: t('Queued'), sent: t('Sent'), delivered: t('Delivered'), read: t('Read'), failed: t('Failed'),
  received: t('Received'),
});

export function statusLabel(status) {
  return STATUS_LABELS()[status] || status;
}

export function statusElement(m) {
  const label = statusLabel(m.status);
  const when = { sent: m.sent_at, delivered: m.delivered_at, read: m.read_at }[m.status];
  const marks = {
    queued: icon('clock', 'icon icon-sm'), sent: h('span', { class: 'ticks', 'aria-hidden': 'true' }, '✓'),
    delivered: h('span', { class: 'ticks', 'aria-hidden': 'true' }, '✓✓'),
    read: h('span', { class: 'ticks', 'aria-hidden': 'true' }, '✓✓'), failed: icon('alert', 'icon icon-sm'),
  }[m.status];
  return h('span', {
    class: 'msg-status', dataset: { status: m.status, testid: 'message-status' },
    title: when ? `${label} · ${full(when)}` : label,
  }, marks || null, label);
}

function attachmentUrl(id) {
  return `/api/v1/attachments/${encodeURIComponent(id)}`;
}

function mediaElement(item, direction) {
  if (!item.attachment_id) {
    return h('div', { class: 'media-pending' },
      direction === 'in' ? t('Downloading the attachment…') : t('Attachment'));
  }
  const url = attachmentUrl(item.attachment_id);
  const type = item.mime_type || '';
  const label = item.caption || item.filename || t('Attachment');
  if (type.startsWith('image/')) {
    return h('a', { href: url, target: '_blank', rel: 'noopener' }, h('img', { src: url, alt: label, loading: 'lazy' }));
  }
  if (type.startsWith('video/')) return h('video', { src: url, controls: true, preload: 'metadata' });
  if (type.startsWith('audio/')) return h('audio', { src: url, controls: true, preload: 'metadata' });
  return h('a', { class: 'media-file', href: url, target: '_blank', rel: 'noopener' },
    icon('file', 'icon icon-sm'), item.filename || type || t('Attachment'));
}

function locationElement(c, text) {
  const lat = Number(c.latitude);
  const lon = Number(c.longitude);
  const known = Number.isFinite(lat) && Number.isFinite(lon);
  const map = known
    ? `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}` : null;
  return h('div', { class: 'location-card' }, icon('pin'),
    h('div', {},
      h('strong', {}, c.name || text || t('Location')),
      c.address ? h('small', {}, c.address) : null,
      known ? h('small', {}, `${lat.toFixed(5)}, ${lon.toFixed(5)}`) : null,
      map ? h('a', { href: map, target: '_blank', rel: 'noopener noreferrer' }, t('Open the map')) : null));
}

function contactsElement(cards) {
  return h('ul', { class: 'plain-list' }, (cards || []).map((card) => {
    const name = (card.name && (card.name.formatted_name || card.name.first_name))
      || [card.first_name, card.last_name].filter(Boolean).join(' ') || t('Contact');
    const phones = (card.phones || []).map((p) => p.phone || p.wa_id).filter(Boolean);
    if (card.phone_number) phones.push(card.phone_number);
    return h('li', {}, icon('contact', 'icon icon-sm'),
      h('span', { class: 'grow' }, name, phones.length ? h('small', {}, phones.join(', ')) : null));
  }));
}

function bodyElement(m) {
  const c = m.content || {};
  const parts = [];
  if (c.template) {
    const lang = typeof c.template.language === 'object' ? c.template.language.code : c.template.language;
    parts.push(h('div', { class: 'template-tag' }, icon('template', 'icon icon-sm'),
      t('Template “{name}”', { name: c.template.name }), lang ? ` (${lang})` : ''));
  }
  if (Array.isArray(c.media)) {
    parts.push(h('div', { class: 'media' }, c.media.map((item) => mediaElement(item, m.direction))));
  }
  switch (m.kind) {
    case 'location':
      parts.push(locationElement(c, m.text));
      return parts;
    case 'button_reply':
      parts.push(h('div', { class: 'hint' }, t('Tapped a button')), h('span', { class: 'tapped' }, c.title || m.text));
      return parts;
    case 'contacts':
      parts.push(contactsElement(c.contacts));
      return parts;
    case 'unsupported':
      parts.push(h('em', {}, m.text || t('A message this channel could not show ({type})', { type: c.type || c.telegram_type || '?' })));
      return parts;
    default:
      break;
  }
  if (m.text) parts.push(h('span', { class: 'text' }, m.text));
  else if (c.template && Array.isArray(c.template.parameters) && c.template.parameters.length) {
    parts.push(h('span', { class: 'hint' }, c.template.parameters.map(String).join(' · ')));
  }
  if (Array.isArray(c.buttons) && c.buttons.length) {
    parts.push(h('div', { class: 'sent-buttons' }, c.buttons.map((b) => h('span', {}, b.title))));
  }
  if (c.tag) parts.push(h('div', { class: 'hint' }, t('Sent with the {tag} tag', { tag: c.tag })));
  if (!parts.length) parts.push(h('em', {}, t('Empty message')));
  return parts;
}

export function messageElement(m, { users, showSender }) {
  const c = m.content || {};
  const classes = ['msg', m.direction === 'out' ? 'out' : 'in'];
  if (m.status === 'failed') classes.push('failed');
  const el = h('div', { class: classes.join(' '), dataset: { messageId: m.id, testid: 'message' } });
  if (showSender && m.direction === 'in' && c.sender && c.sender.name) {
    el.append(h('div', { class: 'msg-meta' }, h('strong', {}, c.sender.name)));
  }
  el.append(h('div', { class: 'bubble' }, bodyElement(m)));
  const reactions = Object.values(c.reactions || {});
  if (reactions.length) el.append(h('div', { class: 'reactions', 'aria-label': t('Reactions') }, reactions.map((e) => h('span', {}, e))));
  const meta = h('div', { class: 'msg-meta' });
  if (m.direction === 'out') {
    const author = m.author_type === 'bot' ? t('Bot')
      : (users.get(m.author_user_id) || {}).name || (m.author_type === 'system' ? t('System') : '');
    if (author) meta.append(h('span', {}, author), '·');
  }
  meta.append(h('time', { datetime: m.created_at, title: full(m.created_at) }, clock(m.created_at)));
  if (c.edited) meta.append('·', h('span', { class: 'edited', title: c.original_text || '' }, t('edited')));
  if (m.direction === 'out') meta.append('·', statusElement(m));
  el.append(meta);
  if (m.status === 'failed' && m.failure_reason) {
    el.append(h('div', { class: 'failure', role: 'note' }, t('Not delivered: {reason}', { reason: m.failure_reason })));
  }
  return el;
}

const MENTION = /(@[\w.+-]+(?:@[\w-]+\.[\w.]+)?)/g;

export function noteElement(n, { users }) {
  const author = (users.get(n.author_user_id) || {}).name || t('Someone');
  const text = h('div', {});
  for (const piece of String(n.text).split(MENTION)) {
    if (!piece) continue;
    text.append(piece.startsWith('@') ? h('span', { class: 'mention' }, piece) : piece);
  }
  return h('div', { class: 'note', dataset: { noteId: n.id, testid: 'note' } },
    h('div', { class: 'note-head' }, icon('lock', 'icon icon-sm'),
      h('span', {}, t('Private note by {name}', { name: author })), h('span', { 'aria-hidden': 'true' }, '·'),
      h('time', { datetime: n.created_at, title: full(n.created_at) }, clock(n.created_at))),
    text);
}
