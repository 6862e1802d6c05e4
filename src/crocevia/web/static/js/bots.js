// The bots page: enable or disable a flow, edit a flow's YAML/JSON (saved as a new version through the
// REST API, so the same validation answers), create a flow; then reload to show the new state.
// A rejected definition names the line: the message shows that line as written, and the cursor goes there.
import { api } from './core/api.js';
import { t } from './core/i18n.js';
import { toast } from './core/toast.js';

for (const btn of document.querySelectorAll('[data-toggle-flow]')) {
  btn.addEventListener('click', async () => {
    const id = btn.dataset.toggleFlow;
    btn.disabled = true;
    try {
      const flow = await api(`/bot/flows/${id}`);
      await api(`/bot/flows/${id}`, { method: 'PUT',
        body: { definition: flow.definition, is_active: btn.dataset.active !== 'true' } });
      location.reload();
    } catch (err) {
      btn.disabled = false;
      toast(err.message, { error: true });
    }
  });
}

// JSON is YAML too, but the JSON parser's messages are the clearer ones for JSON text.
function formatOf(source) {
  return source.trimStart().startsWith('{') ? 'json' : 'yaml';
}

function showError(form, textarea, err) {
  const box = form.querySelector('[data-testid="flow-error"]');
  const line = Number(err.problem && err.problem.line) || 0;
  const lines = textarea.value.split('\n');
  let text = err.message;
  if (line >= 1 && line <= lines.length) {
    const where = t('Line {line}', { line });
    text = `${where}: ${err.message}\n${line} | ${lines[line - 1]}`;
    // Put the cursor on that line, selected, so the author sees what to fix.
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    textarea.focus();
    textarea.setSelectionRange(start, start + lines[line - 1].length);
    const lineHeight = textarea.scrollHeight / Math.max(lines.length, 1);
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }
  box.textContent = text;
  box.hidden = false;
  textarea.setAttribute('aria-invalid', 'true');
}

for (const form of document.querySelectorAll('form.flow-editor')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const textarea = form.querySelector('textarea');
    const button = form.querySelector('button[type="submit"]');
    const box = form.querySelector('[data-testid="flow-error"]');
    box.hidden = true;
    textarea.removeAttribute('aria-invalid');
    button.disabled = true;
    const source = textarea.value;
    try {
      if (form.dataset.editFlow) {
        await api(`/bot/flows/${form.dataset.editFlow}`, { method: 'PUT',
          body: { source, format: formatOf(source), is_active: form.dataset.active === 'true' } });
      } else {
        await api('/bot/flows', { method: 'POST', body: { source, format: formatOf(source) } });
      }
      location.reload();
    } catch (err) {
      button.disabled = false;
      showError(form, textarea, err);
    }
  });
}
