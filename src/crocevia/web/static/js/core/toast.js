// Short, polite notices in an aria-live region (screen readers hear them without losing focus).
import { h } from './dom.js';

export function toast(message, { error = false, link = null, timeout = 5000 } = {}) {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: error ? 'toast toast-error' : 'toast', role: error ? 'alert' : null },
    message, link ? [' ', h('a', { href: link.href }, link.text)] : null);
  box.append(el);
  setTimeout(() => el.remove(), error ? timeout * 2 : timeout);
}

// Said to screen readers only (a visually hidden live region): e.g. a new message in the open chat,
// without re-reading the whole thread each time it is redrawn.
export function announce(message) {
  let region = document.getElementById('announcer');
  if (!region) {
    region = h('div', { id: 'announcer', class: 'sr-only', 'aria-live': 'polite' });
    document.body.append(region);
  }
  region.textContent = '';
  setTimeout(() => { region.textContent = message; }, 50);
}
