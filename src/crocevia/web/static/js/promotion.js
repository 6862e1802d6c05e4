// The promotion page: the segment builder counts on the server (a plain GET form); this saves the
// counted filter as a named segment through the REST API, then reloads to list it.
import { api } from './core/api.js';
import { boot } from './core/boot.js';
import { t } from './core/i18n.js';
import { toast } from './core/toast.js';

const save = document.getElementById('segment-save');
if (save) {
  save.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = new FormData(save).get('name');
    try {
      await api('/segments', { method: 'POST', body: { name, filter: boot.segment_filter || {} } });
      toast(t('Segment saved'));
      location.reload();
    } catch (err) {
      toast(err.message, { error: true });
    }
  });
}

// While a campaign is sending, the page refreshes its numbers every few seconds (unless the
// marketer is typing in the segment builder).
if (boot.sending) {
  setInterval(() => {
    const typing = document.activeElement && document.activeElement.tagName === 'INPUT';
    if (!typing && !document.hidden) location.reload();
  }, 4000);
}
