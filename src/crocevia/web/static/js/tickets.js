// A ticket's page: move its status (the server tells the customer in their app), change its
// priority, assignee or team, or add an internal note, through the REST API; then reload so the
// server-rendered history shows what happened. The live feed reloads the page when someone else
// (another agent, an SLA breach, an automation rule) changes this ticket.
import { api } from './core/api.js';
import { Live } from './core/live.js';
import { toast } from './core/toast.js';

const page = document.getElementById('ticket');
const id = page ? page.dataset.ticketId : null;

async function send(event, path, method, body) {
  event.preventDefault();
  try {
    await api(path, { method, body });
    location.reload();
  } catch (err) {
    toast(err.message, { error: true });
  }
}

const statusForm = document.getElementById('ticket-status-form');
if (statusForm) {
  statusForm.addEventListener('submit', (e) => send(e, `/tickets/${id}/status`, 'POST', { status: statusForm.status.value }));
}
const fieldsForm = document.getElementById('ticket-fields-form');
if (fieldsForm) {
  const idOrNull = (value) => (value ? Number(value) : null);
  fieldsForm.addEventListener('submit', (e) => send(e, `/tickets/${id}`, 'PATCH', {
    priority: fieldsForm.priority.value,
    assignee_id: idOrNull(fieldsForm.assignee_id.value),
    team_id: idOrNull(fieldsForm.team_id.value),
  }));
}
const noteForm = document.getElementById('ticket-note-form');
if (noteForm) {
  noteForm.addEventListener('submit', (e) => send(e, `/tickets/${id}/notes`, 'POST', { text: noteForm.text.value }));
}

if (page) {
  // Reload unless the agent is in the middle of writing a note (they would lose it).
  const refresh = () => {
    if (noteForm && noteForm.text.value.trim()) return;
    location.reload();
  };
  // Events from before the feed (re)started never reach us: compare the ticket with what we show.
  const catchUp = async () => {
    try {
      const ticket = await api(`/tickets/${id}`);
      if (Date.parse(ticket.updated_at) !== Date.parse(page.dataset.updatedAt)) refresh();
    } catch {
      // offline or gone: the next event or sync tries again
    }
  };
  new Live({
    onevent: (event) => {
      const ticket = event.data && event.data.ticket;
      if (event.type.startsWith('ticket.') && ticket && String(ticket.id) === id) refresh();
    },
    onsync: catchUp,
  }).start();
}
