// The bots page: enable or disable a flow through the REST API (PUT with its own definition), then
// reload to show the new state.
import { api } from './core/api.js';
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
