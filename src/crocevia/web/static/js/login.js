// Sign-in: POST the credentials to the API, which sets the session cookie; then go where the
// user was heading. The server only ever hands us a local path as `next`.
import { api } from './core/api.js';
import { formReady } from './core/dom.js';
import { t } from './core/i18n.js';

const form = document.getElementById('login-form');
const errorBox = document.getElementById('login-error');

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  errorBox.hidden = true;
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    showError(t('Enter your e-mail and password.'));
    (email ? form.password : form.email).focus();
    return;
  }
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    await api('/auth/login', { method: 'POST', body: { email, password } });
    const next = form.dataset.next || '/';
    location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/');
  } catch (err) {
    showError(err.status === 401 ? t('Wrong e-mail or password.') : err.message);
    form.password.select();
    button.disabled = false;
  }
});

formReady(form);
