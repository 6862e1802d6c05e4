// Channel badges: our own letters on the platform's colour (see .ch-* in app.css), no icon CDN.
import { h } from './dom.js';

const LETTERS = {
  whatsapp: 'WA', telegram: 'TG', sms: 'SMS', messenger: 'FB', instagram: 'IG',
  wechat: 'WX', qq: 'QQ', webchat: 'WEB', sandbox: 'SB',
};

export function badge(channel, { small = false } = {}) {
  const kind = channel ? channel.kind : '';
  const letters = LETTERS[kind] || (kind || '?').slice(0, 2).toUpperCase();
  const label = channel ? `${channel.display_name || kind} · ${channel.name}` : kind;
  return h('span', {
    class: `ch-badge ch-${kind}${small ? ' sm' : ''}`, role: 'img', 'aria-label': label, title: label,
    dataset: { kind },
  }, letters);
}
