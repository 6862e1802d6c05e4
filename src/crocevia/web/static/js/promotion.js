// The promotion page. The segment builder counts live as the marketer types (the "Count" button
// still works without JS, as a plain GET form) and saves the filter on screen as a named segment;
// the campaign form creates and launches a campaign through the REST API, showing any refusal next
// to the field it names; progress bars of scheduled and running campaigns follow the fan-out.
import { api } from './core/api.js';
import { t } from './core/i18n.js';
import { toast } from './core/toast.js';

const segmentForm = document.getElementById('segment-form');
const live = document.getElementById('segment-live');

// The builder's fields as a segment filter, the way the server reads the GET form (lists are
// comma-separated; numbers go as typed so the server names a bad one: "filter.age_min").
function currentFilter() {
  const data = new FormData(segmentForm);
  const out = {};
  for (const key of ['countries', 'languages', 'tags_any']) {
    const items = String(data.get(key) || '').split(',').map((x) => x.trim()).filter(Boolean);
    if (items.length) out[key] = items;
  }
  for (const key of ['age_min', 'age_max', 'active_within_days']) {
    const value = String(data.get(key) || '').trim();
    if (value) out[key] = value;
  }
  return out;
}

function problemText(err) {
  const msg = err.message || '';
  return err.field && !msg.startsWith(err.field) ? `${err.field}: ${msg}` : msg;
}

let countTimer = null;
let countSeq = 0;
async function liveCount() {
  const seq = ++countSeq;
  const filter = currentFilter();
  live.hidden = false;
  live.setAttribute('aria-busy', 'true');
  try {
    const res = await api('/segments/preview', { method: 'POST', body: { filter } });
    if (seq !== countSeq) return; // a newer count is on its way
    live.classList.remove('alert', 'alert-error');
    live.dataset.count = String(res.count);
    live.textContent = t('Contacts matching: {n}', { n: res.count });
  } catch (err) {
    if (seq !== countSeq) return;
    live.classList.add('alert', 'alert-error');
    delete live.dataset.count;
    live.textContent = problemText(err);
  } finally {
    if (seq === countSeq) live.setAttribute('aria-busy', 'false');
  }
}

if (segmentForm && live) {
  segmentForm.addEventListener('input', () => {
    clearTimeout(countTimer);
    countTimer = setTimeout(liveCount, 300);
  });
}

const save = document.getElementById('segment-save');
if (save) {
  save.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = new FormData(save).get('name');
    try {
      await api('/segments', { method: 'POST', body: { name, filter: currentFilter() } });
      toast(t('Segment saved'));
      location.reload();
    } catch (err) {
      toast(problemText(err), { error: true });
    }
  });
}

// -- the campaign form ---------------------------------------------------------------------------
const campaignForm = document.getElementById('campaign-form');
const campaignError = document.getElementById('campaign-error');
const audience = document.getElementById('c-audience');

async function audienceCount() {
  const id = campaignForm.segment_id.value;
  if (!id) return;
  audience.textContent = t('Counting…');
  try {
    const res = await api(`/segments/${id}/count`);
    audience.dataset.count = String(res.count);
    audience.textContent = t('{n} contacts', { n: res.count });
  } catch (err) {
    audience.textContent = problemText(err);
  }
}

function campaignBody() {
  const f = campaignForm;
  const num = (value) => (String(value).trim() === '' ? null : Number(value));
  const body = {
    name: document.getElementById('c-name').value.trim(), // f.name is the form's own name
    segment_id: num(f.segment_id.value),
    template_id: num(f.template_id.value),
    channel_ids: [f.channel_0.value, f.channel_1.value, f.channel_2.value].filter(Boolean).map(Number),
  };
  if (f.variant_b_template_id.value) {
    body.variant_b_template_id = Number(f.variant_b_template_id.value);
    body.winner_metric = f.winner_metric.value;
  }
  const split = String(f.split_b_percent.value).trim();
  if (split && split !== '0') body.split_b_percent = Number(split);
  if (String(f.cap_count.value).trim()) body.cap_count = Number(f.cap_count.value);
  if (f.scheduled_at.value) body.scheduled_at = new Date(f.scheduled_at.value).toISOString();
  if (f.local_time.value) body.local_time = f.local_time.value;
  if (f.quiet_start.value || f.quiet_end.value) {
    body.quiet_start = f.quiet_start.value || null;
    body.quiet_end = f.quiet_end.value || null;
  }
  return body;
}

function showCampaignError(err) {
  for (const el of campaignForm.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  if (!err) {
    campaignError.hidden = true;
    campaignError.textContent = '';
    return;
  }
  campaignError.hidden = false;
  campaignError.textContent = problemText(err);
  // "channel_ids.1" (pydantic) and "channel_ids[1]" (services) name the same select.
  const field = (err.field || '').replace(/\.(\d+)$/, '[$1]');
  const input = field && campaignForm.querySelector(`[data-field="${CSS.escape(field)}"]`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

if (campaignForm) {
  campaignForm.segment_id.addEventListener('change', audienceCount);
  audienceCount();
  campaignForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = campaignForm.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      showCampaignError(null);
      const created = await api('/campaigns', { method: 'POST', body: campaignBody() });
      try {
        await api(`/campaigns/${created.id}/start`, { method: 'POST' });
      } catch (err) {
        // Refused at launch (e.g. a template the platform has not approved): the draft would only
        // confuse, so it is cancelled and the reason shown.
        await api(`/campaigns/${created.id}/cancel`, { method: 'POST' }).catch(() => {});
        throw err;
      }
      toast(t('Campaign launched'));
      location.reload(); // the new campaign's row, whose bar then follows the fan-out
    } catch (err) {
      showCampaignError(err);
    } finally {
      button.disabled = false;
    }
  });
}

// -- live progress ---------------------------------------------------------------------------------
const LIVE = new Set(['scheduled', 'running']);

function paint(row, p) {
  const set = (key, text) => {
    const cell = row.querySelector(`[data-k="${key}"]`);
    if (cell) cell.textContent = text;
  };
  row.dataset.status = p.status;
  set('status', p.status);
  set('sent', p.recipients.sent);
  set('skipped', p.recipients.skipped);
  set('pending', p.recipients.pending);
  set('percent', `${p.percent}%`);
  set('reasons', Object.entries(p.skipped_reasons).map(([reason, n]) => `${reason} ×${n}`).join('; '));
  const bar = row.querySelector('progress');
  if (bar) bar.value = p.percent;
}

async function follow() {
  const rows = [...document.querySelectorAll('tr[data-campaign-id]')].filter((r) => LIVE.has(r.dataset.status));
  if (!rows.length || document.hidden) return rows.length > 0;
  await Promise.all(rows.map(async (row) => {
    try {
      paint(row, await api(`/campaigns/${row.dataset.campaignId}/progress`));
    } catch {
      // a missed poll is retried at the next tick
    }
  }));
  return true;
}

async function tick() {
  if (await follow()) setTimeout(tick, 1000);
}
tick();
