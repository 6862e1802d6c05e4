// Behaviour shared by every signed-in page: the user menu (language, sign out), the mobile
// navigation drawer and the keyboard-shortcut help.
import { api } from './core/api.js';
import { boot } from './core/boot.js';
import { isTyping } from './core/dom.js';
import { enableNotifications } from './core/notify.js';
import { t } from './core/i18n.js';
import { toast } from './core/toast.js';

function setupMenu(button, menu) {
  const close = () => {
    menu.hidden = true;
    button.setAttribute('aria-expanded', 'false');
  };
  button.addEventListener('click', () => {
    const opening = menu.hidden;
    menu.hidden = !opening;
    button.setAttribute('aria-expanded', String(opening));
    if (opening) (menu.querySelector('select, button') || menu).focus();
  });
  document.addEventListener('click', (ev) => {
    if (!menu.hidden && !menu.contains(ev.target) && !button.contains(ev.target)) close();
  });
  menu.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      close();
      button.focus();
    }
  });
}

async function signOut() {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch (err) {
    if (err.status !== 401) {
      toast(err.message, { error: true });
      return;
    }
  }
  location.assign('/ui/login');
}

async function changeLanguage(ev) {
  try {
    await api(`/users/${boot.me.id}`, { method: 'PATCH', body: { language: ev.target.value } });
    location.reload();
  } catch (err) {
    toast(err.message, { error: true });
  }
}

async function changeNotifications(ev) {
  const on = ev.target.checked;
  try {
    await api(`/users/${boot.me.id}`, { method: 'PATCH', body: { settings: { notifications: on } } });
    await enableNotifications(on);
    toast(on ? t('Notifications on.') : t('Notifications off.'));
  } catch (err) {
    ev.target.checked = !on;
    toast(err.message, { error: true });
  }
}

function showShortcuts() {
  const dialog = document.getElementById('shortcuts-dialog');
  if (dialog && !dialog.open) dialog.showModal();
}

function init() {
  const button = document.getElementById('usermenu-button');
  const menu = document.getElementById('usermenu');
  if (button && menu) setupMenu(button, menu);
  document.getElementById('logout-button')?.addEventListener('click', signOut);
  document.getElementById('language-select')?.addEventListener('change', changeLanguage);
  document.getElementById('notify-toggle')?.addEventListener('change', changeNotifications);
  document.getElementById('shortcuts-button')?.addEventListener('click', showShortcuts);

  const navToggle = document.getElementById('nav-toggle');
  navToggle?.addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    navToggle.setAttribute('aria-expanded', String(open));
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key === '?' && !isTyping(ev.target) && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      showShortcuts();
    } else if (ev.key === 'Escape') {
      document.body.classList.remove('nav-open');
    }
  });
  window.addEventListener('unhandledrejection', (ev) => {
    // An API error nobody caught still tells the agent what went wrong.
    if (ev.reason && ev.reason.message) toast(ev.reason.message, { error: true });
  });
  if (!boot.me) toast(t('Your session has ended. Please sign in again.'), { error: true });
}

init();
