// Small helpers the admin pages share: show a problem next to its field, copy a secret.
import { api } from '../core/api.js';
import { clear, h } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { toast } from '../core/toast.js';

export function showProblem(form, box, err) {
  for (const old of form.querySelectorAll('[aria-invalid="true"]')) {
    old.removeAttribute('aria-invalid');
    old.removeAttribute('aria-describedby');
  }
  for (const old of form.querySelectorAll('.field-error')) old.remove();
  box.hidden = true;
  if (!err) return;
  // The API names the field ("credentials.bot_token", "email"): put the message beside it.
  const name = (err.field || '').split('.').pop();
  const input = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  if (input) {
    const id = `${input.id || name}-error`;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.closest('.field')?.append(h('span', { class: 'error-text field-error', id }, err.message));
    input.focus();
  } else {
    box.textContent = err.message;
    box.hidden = false;
  }
}

export function copyButton(text) {
  const button = h('button', { class: 'btn btn-sm', type: 'button' }, t('Copy'));
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = t('Copied');
    } catch {
      // No clipboard API outside secure contexts: select the text so Ctrl+C works.
      const code = button.previousElementSibling;
      if (code) window.getSelection().selectAllChildren(code);
    }
  });
  return button;
}

// "Shown once": a secret the server will never show again.
export function secretBox(container, label, secret) {
  clear(container).append(h('div', { class: 'secret-box', role: 'status' },
    h('strong', {}, label), h('span', { class: 'code', dataset: { testid: 'secret' } }, secret), copyButton(secret),
    h('span', { class: 'hint' }, t('Copy it now: it will not be shown again.'))));
}

export function formValues(form) {
  const values = {};
  for (const el of form.elements) {
    if (!el.name || el.type === 'submit' || el.type === 'checkbox') continue;
    values[el.name] = el.value.trim();
  }
  return values;
}

export function roleName(role) {
  return { owner: t('Owner'), admin: t('Admin'), agent: t('Agent'), viewer: t('Viewer') }[role] || role;
}

// Delete after the person confirms: `question` asked, `path` deleted, then `after` (tidy the
// form, say so, reload the table). A refusal from the server is shown as a toast.
export async function confirmDelete(question, path, after) {
  if (!window.confirm(question)) return;
  try {
    await api(path, { method: 'DELETE' });
    await after();
  } catch (err) {
    toast(err.message, { error: true });
  }
}
