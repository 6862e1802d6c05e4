// The composer knows its channel: what it can send, how long, and whether the platform's reply
// window is open. When it is closed it says why (the rule) and offers what is still allowed:
// an approved template (WhatsApp, WeChat) or the HUMAN_AGENT tag (Messenger, Instagram).
import { api, query } from '../core/api.js';
import { clear, h, icon } from '../core/dom.js';
import { t } from '../core/i18n.js';
import { duration, full, span } from '../core/time.js';

const TAG_RULES = new Set(['messenger_24h', 'instagram_24h']);
const drafts = new Map(); // "conversation:mode" -> text, kept while the page lives

function newKey() {
  // Not crypto.randomUUID(): that needs a secure context, and the hub may be served on a LAN over http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `ui-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// The workspace's canned responses, fetched once per page on the first "/" (admins edit them on
// their own page; a reload picks up changes).
let cannedCache = null;
function cannedResponses() {
  if (!cannedCache) cannedCache = api('/canned-responses').catch((err) => {
    cannedCache = null;
    throw err;
  });
  return cannedCache;
}

// {{contact.name}}, {{contact.first_name}}, {{contact.phone}}, {{contact.email}}, {{agent.name}},
// {{agent.first_name}}, {{conversation.id}}. An unknown or empty variable stays visible as typed,
// so the agent sees it needs filling before sending.
export function fillVariables(text, conv, me) {
  const contact = (conv && conv.contact) || {};
  const first = (name) => (name || '').trim().split(/\s+/)[0] || '';
  const values = {
    'contact.name': contact.name, 'contact.first_name': first(contact.name), 'contact.phone': contact.phone,
    'contact.email': contact.email, 'agent.name': me && me.name, 'agent.first_name': first(me && me.name),
    'conversation.id': conv && conv.id,
  };
  return text.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, name) => {
    const value = values[name];
    return value === undefined || value === null || value === '' ? whole : String(value);
  });
}

let templatesCache = null;
function approvedTemplates() {
  if (!templatesCache) templatesCache = api('/templates').catch((err) => {
    templatesCache = null;
    throw err;
  });
  return templatesCache;
}

export class Composer {
  constructor(root, { users, me, canWrite, onsent, onnote, onpolicy, ontyping }) {
    this.root = root;
    this.users = users;
    this.me = me;
    this.onsent = onsent;
    this.onnote = onnote;
    this.onpolicy = onpolicy;
    this.ontyping = ontyping || (() => {});
    this.typingSentAt = 0;
    this.mode = 'reply';
    this.useTemplate = false;
    this.attachment = null;
    this.key = null;
    this.sending = false;
    const slot = (name) => root.querySelector(`[data-slot="${name}"]`);
    this.el = {
      tabs: root.querySelectorAll('[data-mode]'), banner: slot('window'), bannerTitle: slot('window-title'),
      bannerDetail: slot('window-detail'), error: slot('send-error'), free: slot('free'), text: slot('text'),
      textLabel: slot('text-label'), mentions: slot('mentions'), template: slot('template'), tagOption: slot('tag-option'),
      tag: slot('tag'), file: slot('file'), attach: root.querySelector('[data-action="attach"]'),
      attachmentChip: slot('attachment'), hint: slot('window-hint'), count: slot('count'),
      send: root.querySelector('[data-action="send"]'), sendLabel: slot('send-label'),
    };
    if (!canWrite) {
      clear(root).append(h('p', { class: 'readonly-note' }, t('Viewers can read conversations but not reply.')));
      this.readonly = true;
      return;
    }
    this.templateToggle = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', hidden: true },
      icon('template', 'icon icon-sm'), t('Use a template'));
    this.el.attach.after(this.templateToggle);
    this.bind();
  }

  bind() {
    const { el } = this;
    for (const tab of el.tabs) tab.addEventListener('click', () => this.setMode(tab.dataset.mode, true));
    el.text.addEventListener('input', () => {
      drafts.set(this.draftKey(), el.text.value);
      this.key = null; // new words, new message
      this.updateCount();
      this.updateMentions();
      // Teammates see "… is replying" while this agent types; at most one signal every 3 s.
      if (el.text.value && Date.now() - this.typingSentAt > 3000 && this.conv) {
        this.typingSentAt = Date.now();
        this.ontyping(this.conv.id, this.mode);
      }
    });
    el.text.addEventListener('keydown', (ev) => this.onKey(ev));
    el.text.addEventListener('blur', () => setTimeout(() => this.hideMentions(), 150));
    el.send.addEventListener('click', () => this.send());
    el.attach.addEventListener('click', () => el.file.click());
    el.file.addEventListener('change', () => this.upload());
    el.tag.addEventListener('change', () => this.update());
    el.template.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.send();
    });
    this.root.querySelector('[data-slot="tpl-pick"]').addEventListener('change', (ev) => this.pickTemplate(ev.target.value));
    this.templateToggle.addEventListener('click', () => {
      this.useTemplate = !this.useTemplate;
      this.update();
    });
  }

  setConversation(conv, channel) {
    this.conv = conv;
    this.channel = channel || { caps: {}, kind: '', name: '' };
    this.window = conv.window || { open: true };
    if (this.readonly) return;
    this.setMode('reply', false);
  }

  setWindow(window) {
    this.window = window || { open: true };
    if (!this.readonly) this.update();
  }

  draftKey() {
    return `${this.conv ? this.conv.id : 0}:${this.mode}`;
  }

  setMode(mode, focus) {
    this.mode = mode;
    for (const tab of this.el.tabs) tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
    this.el.text.value = drafts.get(this.draftKey()) || '';
    this.key = null;
    this.el.error.hidden = true;
    this.update();
    if (focus) this.focus();
  }

  focus(mode) {
    if (this.readonly) return;
    if (mode && mode !== this.mode) this.setMode(mode, false);
    const target = this.templateMode() ? this.root.querySelector('#tpl-name') : this.el.text;
    if (target && !target.disabled) target.focus();
  }

  caps() {
    return this.channel.caps || {};
  }

  windowClosed() {
    return this.mode === 'reply' && this.window && this.window.open === false;
  }

  templateMode() {
    const templates = Boolean(this.caps().templates || (this.window && this.window.templates));
    return this.mode === 'reply' && templates && (this.windowClosed() || this.useTemplate);
  }

  tagAllowed() {
    return this.windowClosed() && TAG_RULES.has(this.window.rule || this.caps().reply_window_rule);
  }

  update() {
    const { el } = this;
    const note = this.mode === 'note';
    const closed = this.windowClosed();
    const templateMode = this.templateMode();
    const tagAllowed = this.tagAllowed();
    const caps = this.caps();
    this.root.classList.toggle('note-mode', note);

    el.banner.hidden = !closed;
    if (closed) el.bannerDetail.textContent = ` ${this.windowExplanation(templateMode, tagAllowed)}`;
    el.template.hidden = !templateMode;
    if (templateMode) this.loadTemplates();
    el.free.hidden = templateMode;
    el.tagOption.hidden = !tagAllowed;
    const blocked = closed && !templateMode && !(tagAllowed && el.tag.checked);
    el.text.disabled = blocked;
    el.attach.hidden = note || templateMode || !caps.media;
    el.attachmentChip.hidden = note || templateMode;
    this.templateToggle.hidden = note || closed || !caps.templates;
    this.templateToggle.setAttribute('aria-pressed', String(this.useTemplate));

    if (note) {
      el.text.placeholder = t('Write a private note. Mention a teammate with @name.');
      el.textLabel.textContent = t('Private note');
      el.sendLabel.textContent = t('Add note');
    } else {
      el.text.placeholder = blocked ? t('Free-form replies are not allowed right now.') : t('Write a reply…');
      el.textLabel.textContent = t('Reply');
      el.sendLabel.textContent = templateMode ? t('Send template') : t('Send');
    }
    el.hint.textContent = '';
    if (!note && !closed && this.window && this.window.closes_at) {
      const left = Date.parse(this.window.closes_at) - Date.now();
      if (left > 0) el.hint.textContent = t('Reply window closes in {time}', { time: duration(left) });
    }
    this.updateCount();
    el.send.disabled = this.sending || blocked || this.over();
    this.scheduleWindowCheck();
  }

  // The workspace's approved templates (GET /templates), offered when the window is closed:
  // picking one fills the provider's name, the language closest to the customer's, and the
  // parameters from the contact's data, all still editable before sending.
  async loadTemplates() {
    if (this.templates) return; // once per page: the list is the workspace's, not the conversation's
    const field = this.root.querySelector('[data-slot="tpl-pick-field"]');
    const select = this.root.querySelector('[data-slot="tpl-pick"]');
    let all;
    try {
      all = await approvedTemplates();
    } catch {
      field.hidden = true; // typed by hand, as before
      return;
    }
    if (this.templates) return;
    this.templates = all.filter((tpl) => tpl.approval_status === 'approved');
    field.hidden = this.templates.length === 0;
    const chosen = select.value;
    clear(select).append(h('option', { value: '' }, t('Choose a template…')),
      ...this.templates.map((tpl) => h('option', { value: tpl.id }, tpl.name)));
    select.value = chosen;
  }

  // The server renders the template as this customer would get it: their language (else the
  // workspace's), and the parameters from their profile.
  async pickTemplate(id) {
    const tpl = (this.templates || []).find((x) => String(x.id) === String(id));
    const preview = this.root.querySelector('[data-slot="tpl-preview"]');
    preview.textContent = '';
    if (!tpl || !this.conv) return;
    const convId = this.conv.id;
    let rendered;
    try {
      rendered = await api(`/templates/${tpl.id}/preview${query({ contact_id: this.conv.contact_id })}`);
    } catch (err) {
      this.showError(err);
      return;
    }
    if (!this.conv || this.conv.id !== convId) return;
    const form = this.el.template;
    form.elements.namedItem('name').value = tpl.provider_name || tpl.name;
    form.elements.namedItem('language').value = rendered.language;
    form.elements.namedItem('parameters').value = (rendered.parameters || []).join('\n');
    preview.textContent = rendered.text;
    this.update();
  }

  windowExplanation(templateMode, tagAllowed) {
    const name = this.channel.display_name || this.channel.kind;
    const hours = this.caps().reply_window_hours;
    const parts = [];
    if (this.window.closes_at && hours) {
      parts.push(t('{channel} allows free-form replies only within {span} of the customer’s last message; this window closed on {when}.',
        { channel: name, span: span(hours), when: full(this.window.closes_at) }));
    } else {
      parts.push(t('The customer has not written on this {channel} chat yet, so no free-form message may be sent.', { channel: name }));
    }
    if (templateMode) parts.push(t('You can still send an approved template.'));
    else if (tagAllowed) parts.push(t('A human agent may still answer with the HUMAN_AGENT tag.'));
    else parts.push(t('You can reply again once the customer writes.'));
    if (this.window.rule) parts.push(t('(rule: {rule})', { rule: this.window.rule }));
    return parts.join(' ');
  }

  // An open window closes while the page stays open: re-check at that moment.
  scheduleWindowCheck() {
    clearTimeout(this.windowTimer);
    if (!this.window || !this.window.open || !this.window.closes_at) return;
    const left = Date.parse(this.window.closes_at) - Date.now();
    if (left > 0 && left < 2 ** 31 - 1) this.windowTimer = setTimeout(() => this.onpolicy(), left + 500);
  }

  over() {
    const max = this.caps().max_text_length;
    return this.mode === 'reply' && max && this.el.text.value.length > max;
  }

  updateCount() {
    const max = this.caps().max_text_length;
    const length = this.el.text.value.length;
    const show = this.mode === 'reply' && max && length > max * 0.8;
    this.el.count.textContent = show ? `${length}/${max}` : '';
    this.el.count.classList.toggle('over', Boolean(this.over()));
    this.el.send.disabled = this.sending || Boolean(this.over()) || this.el.text.disabled && !this.templateMode();
  }

  onKey(ev) {
    if (!this.el.mentions.hidden && this.mentionKeys(ev)) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.altKey && !ev.isComposing) {
      ev.preventDefault();
      this.send();
    } else if (ev.key === 'Escape') {
      this.el.text.blur();
    }
  }

  // -- suggestions: "/" canned responses (reply and note), "@" teammates (notes) ------------------
  updateMentions() {
    const before = this.el.text.value.slice(0, this.el.text.selectionStart);
    const slash = before.match(/(?:^|\s)\/([\w-]*)$/);
    if (slash) {
      this.suggestCanned(slash[1]);
      return undefined;
    }
    if (this.mode !== 'note') return this.hideMentions();
    const match = before.match(/(?:^|\s)@([\w.+-]*)$/);
    if (!match) return this.hideMentions();
    const q = match[1].toLowerCase();
    const people = [...this.users.values()].filter((u) => u.is_active && (
      u.name.toLowerCase().split(/\s+/).some((w) => w.startsWith(q)) || u.email.toLowerCase().startsWith(q))).slice(0, 6);
    if (!people.length) return this.hideMentions();
    this.showSuggestions(match[1], t('Mention a teammate'), people.map((u) => ({
      id: `mention-${u.id}`, title: u.name, sub: `@${handle(u)}`, insert: `@${handle(u)} `,
    })));
    return undefined;
  }

  async suggestCanned(query) {
    const typed = this.el.text.value;
    let all;
    try {
      all = await cannedResponses();
    } catch {
      return;
    }
    if (this.el.text.value !== typed) return; // the agent kept typing: a newer lookup runs
    const q = query.toLowerCase();
    const found = all.filter((c) => c.shortcut.startsWith(q) || (q && c.text.toLowerCase().includes(q))).slice(0, 8);
    if (!found.length) {
      this.hideMentions();
      return;
    }
    this.showSuggestions(query, t('Canned responses'), found.map((c) => ({
      id: `canned-${c.id}`, title: `/${c.shortcut}`, sub: c.text, insert: fillVariables(c.text, this.conv, this.me),
    })));
  }

  showSuggestions(query, label, items) {
    this.mentionQuery = query;
    this.mentionIndex = 0;
    this.suggestions = items;
    this.el.mentions.setAttribute('aria-label', label);
    this.renderMentions();
  }

  renderMentions() {
    const list = clear(this.el.mentions);
    this.suggestions.forEach((item, i) => {
      const li = h('li', { role: 'option', id: item.id, 'aria-selected': String(i === this.mentionIndex) },
        h('span', {}, item.title), h('small', {}, item.sub));
      li.addEventListener('mousedown', (ev) => {
        ev.preventDefault();
        this.insertSuggestion(item);
      });
      list.append(li);
    });
    list.hidden = false;
    this.el.text.setAttribute('aria-activedescendant', this.suggestions[this.mentionIndex].id);
  }

  mentionKeys(ev) {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const n = this.suggestions.length;
      this.mentionIndex = (this.mentionIndex + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      this.renderMentions();
    } else if (ev.key === 'Enter' || ev.key === 'Tab') {
      this.insertSuggestion(this.suggestions[this.mentionIndex]);
    } else if (ev.key === 'Escape') {
      this.hideMentions();
    } else {
      return false;
    }
    ev.preventDefault();
    return true;
  }

  // Replaces the typed "@name" or "/shortcut" (and its trigger character) with the suggestion.
  insertSuggestion(item) {
    const text = this.el.text;
    const caret = text.selectionStart;
    const start = caret - this.mentionQuery.length - 1;
    text.value = text.value.slice(0, start) + item.insert + text.value.slice(caret);
    text.selectionStart = text.selectionEnd = start + item.insert.length;
    drafts.set(this.draftKey(), text.value);
    this.key = null;
    this.hideMentions();
    this.updateCount();
    text.focus();
  }

  hideMentions() {
    this.el.mentions.hidden = true;
    this.el.text.removeAttribute('aria-activedescendant');
  }

  // -- attachments --------------------------------------------------------------------------
  async upload() {
    const file = this.el.file.files[0];
    if (!file) return;
    const form = new FormData();
    form.append('file', file);
    this.el.attachmentChip.textContent = t('Uploading {name}…', { name: file.name });
    try {
      this.attachment = await api('/attachments', { method: 'POST', form });
      this.renderAttachment();
    } catch (err) {
      this.attachment = null;
      this.el.attachmentChip.textContent = '';
      this.showError(err);
    } finally {
      this.el.file.value = '';
    }
  }

  renderAttachment() {
    const chip = clear(this.el.attachmentChip);
    if (!this.attachment) return;
    chip.append(h('span', { class: 'chip' }, icon('file', 'icon icon-sm'), this.attachment.filename || t('Attachment'),
      h('button', { type: 'button', 'aria-label': t('Remove the attachment'), onclick: () => {
        this.attachment = null;
        this.renderAttachment();
      } }, '×')));
  }

  // -- sending --------------------------------------------------------------------------------
  showError(err) {
    this.el.error.textContent = err.message;
    this.el.error.hidden = false;
  }

  async send() {
    if (this.sending || this.readonly || !this.conv) return;
    const text = this.el.text.value;
    this.el.error.hidden = true;
    let request;
    if (this.mode === 'note') {
      if (!text.trim()) return;
      request = api(`/conversations/${this.conv.id}/notes`, { method: 'POST', body: { text } });
    } else {
      const body = this.replyBody(text);
      if (!body) return;
      this.key = this.key || newKey();
      request = api(`/conversations/${this.conv.id}/messages`, {
        method: 'POST', body, headers: { 'Idempotency-Key': this.key },
      });
    }
    this.sending = true;
    this.el.send.disabled = true;
    try {
      const result = await request;
      if (this.mode === 'note') this.onnote(result);
      else this.onsent(result);
      this.reset();
    } catch (err) {
      this.showError(err);
      if (err.rule) this.onpolicy(err);
    } finally {
      this.sending = false;
      this.update();
    }
  }

  replyBody(text) {
    if (this.templateMode()) {
      const form = this.el.template;
      if (!form.reportValidity()) return null;
      const parameters = form.parameters.value.split('\n').map((p) => p.trim()).filter(Boolean);
      return { text: '', template: { name: form.name.value.trim(), language: form.language.value.trim(), parameters } };
    }
    if (!text.trim() && !this.attachment) return null;
    const body = { text };
    if (this.attachment) body.attachment_id = this.attachment.id;
    if (this.tagAllowed() && this.el.tag.checked) body.tag = 'HUMAN_AGENT';
    return body;
  }

  reset() {
    drafts.delete(this.draftKey());
    this.el.text.value = '';
    this.el.template.reset();
    this.attachment = null;
    this.renderAttachment();
    this.key = null;
    this.useTemplate = false;
  }
}

// What to type after @ for a teammate: the part of their e-mail before the @, which the server
// resolves to exactly one user (first names may be shared).
export function handle(user) {
  return user.email.split('@')[0];
}
