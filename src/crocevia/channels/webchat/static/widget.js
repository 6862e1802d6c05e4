/*
 * Crocevia web chat widget. No build step, no dependencies, no CDN.
 *
 *   <script src="https://HUB/widget.js" data-channel="ch_..." defer></script>
 *
 * Optional attributes: data-lang="it|en"; for a logged-in customer (identity verification)
 * data-user-id, data-user-hash, data-name, data-email, or window.CroceviaChat = {user: {...}}.
 *
 * The visitor token lives in localStorage; the WebSocket reconnects with backoff and, while it
 * is down, frames go over plain HTTP. Every visitor message carries a client_id, so a resend
 * is stored once. The UI lives in a shadow root so the host page's CSS cannot break it.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[data-channel][src*="widget.js"]');
  if (!script || !script.getAttribute("data-channel")) {
    if (window.console) console.warn("Crocevia chat: add data-channel to the widget's <script> tag");
    return;
  }
  if (window.__croceviaChatLoaded) return; // the snippet pasted twice
  window.__croceviaChatLoaded = true;

  var CHANNEL = script.getAttribute("data-channel");
  var HUB = new URL(".", script.src);
  var API = new URL("webchat/" + encodeURIComponent(CHANNEL), HUB).href;
  var STORE_KEY = "crocevia:webchat:" + CHANNEL;

  var TEXTS = {
    en: {
      open: "Open chat", close: "Close chat", title: "Chat with us", messages: "Messages",
      label: "Write a message", placeholder: "Write a message…", send: "Send",
      connecting: "Connecting…", online: "We reply as soon as we can", offline: "Connection lost, retrying…",
      unavailable: "Chat unavailable on this site", sending: "Sending…", sent: "Sent", seen: "Seen",
      failed: "Not sent.", retry: "Retry", you: "You", quick: "Quick replies", file: "Attachment",
      unread: function (n) { return n === 1 ? "1 new message" : n + " new messages"; }
    },
    it: {
      open: "Apri la chat", close: "Chiudi la chat", title: "Scrivici", messages: "Messaggi",
      label: "Scrivi un messaggio", placeholder: "Scrivi un messaggio…", send: "Invia",
      connecting: "Connessione…", online: "Ti rispondiamo appena possibile", offline: "Connessione persa, riprovo…",
      unavailable: "Chat non disponibile su questo sito", sending: "Invio…", sent: "Inviato", seen: "Letto",
      failed: "Non inviato.", retry: "Riprova", you: "Tu", quick: "Risposte rapide", file: "Allegato",
      unread: function (n) { return n === 1 ? "1 nuovo messaggio" : n + " nuovi messaggi"; }
    }
  };
  var LANG = (script.getAttribute("data-lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  if (!TEXTS[LANG]) LANG = "en";
  var T = TEXTS[LANG];

  // -- identity and storage ---------------------------------------------------------------
  function identity() {
    var user = (window.CroceviaChat && window.CroceviaChat.user) || {};
    var pick = function (key, attr) {
      var v = user[key] != null ? user[key] : script.getAttribute(attr);
      return v == null || v === "" ? undefined : String(v);
    };
    return {
      user_id: pick("user_id", "data-user-id"), user_hash: pick("user_hash", "data-user-hash"),
      name: pick("name", "data-name"), email: pick("email", "data-email")
    };
  }

  var memoryStore = null; // when localStorage is blocked (private mode, sandboxed iframes)
  function load() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (e) { return memoryStore; }
  }
  function save(value) {
    memoryStore = value;
    try {
      if (value) localStorage.setItem(STORE_KEY, JSON.stringify(value));
      else localStorage.removeItem(STORE_KEY);
    } catch (e) { /* memory only */ }
  }

  var who = identity();
  var session = load();
  // Another customer logged in (or out) on this browser: never show them the previous chat.
  if (session && (session.user_id || "") !== (who.user_id || "")) { session = null; save(null); }

  // -- state ------------------------------------------------------------------------------
  var state = {
    open: false, ws: null, retries: 0, timer: null, gaveUp: false,
    byId: {}, byClient: {}, pending: {}, receipted: {}, unread: {},
    receiptQueue: { delivered: [], read: [] }, receiptTimer: null, sessionPromise: null
  };

  // -- UI ---------------------------------------------------------------------------------
  var host = document.createElement("div");
  host.setAttribute("data-crocevia-chat", "");
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = new URL("widget.css", HUB).href;
  var wrap = el("div", "crv");
  wrap.style.display = "none"; // until the stylesheet is in, to avoid a flash of raw HTML
  css.onload = css.onerror = function () { wrap.style.display = ""; };
  wrap.lang = LANG;
  root.appendChild(css);
  root.appendChild(wrap);

  var launcher = el("button", "crv-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-label", T.open);
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "crv-panel");
  launcher.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg>';
  var badge = el("span", "crv-badge");
  badge.hidden = true;
  launcher.appendChild(badge);

  var panel = el("section", "crv-panel");
  panel.id = "crv-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "crv-title");

  var header = el("header", "crv-header");
  var titleBox = el("div", "crv-titles");
  var title = el("h2", "crv-title", T.title);
  title.id = "crv-title";
  var status = el("p", "crv-status", "");
  status.setAttribute("role", "status");
  titleBox.appendChild(title);
  titleBox.appendChild(status);
  var closeBtn = el("button", "crv-close", "×");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", T.close);
  header.appendChild(titleBox);
  header.appendChild(closeBtn);

  var log = el("div", "crv-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", T.messages);
  log.tabIndex = 0;
  var greeting = el("p", "crv-greeting", "");
  greeting.hidden = true;
  log.appendChild(greeting);

  var form = el("form", "crv-form");
  var label = el("label", "crv-sr", T.label);
  label.htmlFor = "crv-input";
  var input = el("textarea", "crv-input");
  input.id = "crv-input";
  input.rows = 1;
  input.maxLength = 4000;
  input.placeholder = T.placeholder;
  input.setAttribute("enterkeyhint", "send");
  var sendBtn = el("button", "crv-send", T.send);
  sendBtn.type = "submit";
  form.appendChild(label);
  form.appendChild(input);
  form.appendChild(sendBtn);

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(form);
  wrap.appendChild(panel);
  wrap.appendChild(launcher);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text; // never innerHTML: messages are untrusted text
    return node;
  }

  function setStatus(text) { status.textContent = text; }

  function applyChannel(info) {
    if (!info) return;
    if (info.title) title.textContent = info.title;
    if (info.greeting) { greeting.textContent = info.greeting; greeting.hidden = false; }
    if (info.color && /^#[0-9a-fA-F]{6}$/.test(info.color)) wrap.style.setProperty("--crv-accent", info.color);
  }

  function openPanel() {
    state.open = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", T.close);
    wrap.classList.add("crv-is-open");
    input.focus();
    scrollToEnd(true);
    ensureSession().then(function () { connect(); markAllRead(); }, function () {});
    markAllRead();
  }

  function closePanel() {
    state.open = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", T.open);
    wrap.classList.remove("crv-is-open");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { state.open ? closePanel() : openPanel(); });
  closeBtn.addEventListener("click", closePanel);
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); closePanel(); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submit(); }
  });
  input.addEventListener("input", function () {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); submit(); });

  function submit() {
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    input.style.height = "auto";
    sendMessage(text, null);
  }

  function scrollToEnd(force) {
    var near = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    if (force || near) log.scrollTop = log.scrollHeight;
  }

  function timeOf(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) return "";
    try { return d.toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" }); } catch (e) { return ""; }
  }

  // -- rendering ---------------------------------------------------------------------------
  function render(m) {
    var mine = m.from === "visitor";
    var node = (m.id != null && state.byId[m.id]) || (m.client_id && state.byClient[m.client_id]);
    if (!node) {
      node = el("div", "crv-msg " + (mine ? "crv-msg--me" : "crv-msg--them"));
      var speaker = el("span", "crv-sr", (mine ? T.you : title.textContent) + ": ");
      var body = el("div", "crv-bubble");
      body.appendChild(speaker);
      body.appendChild(el("span", "crv-text", m.text || ""));
      (m.media || []).forEach(function (item) { body.appendChild(mediaNode(item)); });
      node.appendChild(body);
      var meta = el("div", "crv-meta", timeOf(m.created_at));
      node.appendChild(meta);
      if (!mine && m.buttons && m.buttons.length) node.appendChild(chips(m.buttons));
      log.appendChild(node);
      scrollToEnd(mine);
    }
    if (m.id != null) { node.setAttribute("data-id", String(m.id)); state.byId[m.id] = node; }
    if (m.client_id) { node.setAttribute("data-client-id", m.client_id); state.byClient[m.client_id] = node; }
    if (mine) setMineStatus(node, m.id != null ? "sent" : "sending");
    else afterShown(m);
    return node;
  }

  function mediaNode(item) {
    var url = String(item.url || "");
    if (!/^https?:\/\//i.test(url)) return el("span", "crv-file", T.file);
    if (/^image\//.test(item.mime_type || "")) {
      var img = el("img", "crv-image");
      img.src = url;
      img.alt = item.filename || T.file;
      img.loading = "lazy";
      return img;
    }
    var a = el("a", "crv-file", item.filename || T.file);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  function chips(buttons) {
    var group = el("div", "crv-chips");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", T.quick);
    buttons.forEach(function (b) {
      var chip = el("button", "crv-chip", b.title);
      chip.type = "button";
      chip.addEventListener("click", function () {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (c) { c.disabled = true; });
        chip.setAttribute("aria-pressed", "true");
        sendMessage(b.title, b.id);
        input.focus();
      });
      group.appendChild(chip);
    });
    return group;
  }

  function setMineStatus(node, what) {
    var meta = node.querySelector(".crv-meta");
    var old = meta.querySelector(".crv-state");
    if (old) meta.removeChild(old);
    var span = el("span", "crv-state crv-state--" + what);
    if (what === "failed") {
      span.textContent = T.failed + " ";
      var retry = el("button", "crv-retry", T.retry);
      retry.type = "button";
      retry.addEventListener("click", function () {
        var frame = state.pending[node.getAttribute("data-client-id")];
        if (frame) { setMineStatus(node, "sending"); transmit(frame); }
      });
      span.appendChild(retry);
    } else {
      span.textContent = " · " + (what === "sending" ? T.sending : T.sent);
    }
    meta.appendChild(span);
  }

  // -- receipts: shown → delivered; shown while the chat is open and visible → read -----------
  function visible() { return state.open && document.visibilityState !== "hidden"; }

  function afterShown(m) {
    if (m.id == null || m.from === "visitor") return;
    var rank = { sent: 1, delivered: 2, read: 3 };
    var known = Math.max(rank[m.status] || 0, rank[state.receipted[m.id]] || 0);
    if (visible()) {
      if (known < 3) queueReceipt("read", m.id);
      delete state.unread[m.id];
    } else {
      if (known < 2) queueReceipt("delivered", m.id);
      if (known < 3) state.unread[m.id] = true;
    }
    updateBadge();
  }

  function markAllRead() {
    if (!visible()) return;
    Object.keys(state.unread).forEach(function (id) { queueReceipt("read", Number(id)); });
    state.unread = {};
    updateBadge();
  }

  function updateBadge() {
    var n = Object.keys(state.unread).length;
    badge.hidden = n === 0;
    badge.textContent = n ? String(n) : "";
    launcher.setAttribute("aria-label", (state.open ? T.close : T.open) + (n ? " (" + T.unread(n) + ")" : ""));
  }

  function queueReceipt(kind, id) {
    state.receipted[id] = kind === "read" || state.receipted[id] === "read" ? "read" : "delivered";
    state.receiptQueue[kind].push(id);
    if (!state.receiptTimer) state.receiptTimer = setTimeout(flushReceipts, 0);
  }

  function flushReceipts() {
    state.receiptTimer = null;
    ["delivered", "read"].forEach(function (kind) {
      var ids = state.receiptQueue[kind];
      state.receiptQueue[kind] = [];
      if (ids.length) transmit({ type: "receipt", status: kind, message_ids: ids });
    });
  }

  document.addEventListener("visibilitychange", function () {
    markAllRead();
    if (document.visibilityState === "visible" && session && !state.ws) connect();
  });
  window.addEventListener("online", function () { if (session && !state.ws) connect(); });

  // -- talking to the hub ----------------------------------------------------------------
  function newClientId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return "c" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendMessage(text, buttonId) {
    var frame = { type: "message", client_id: newClientId(), text: text };
    if (buttonId != null) frame.button_id = String(buttonId);
    state.pending[frame.client_id] = frame;
    render({ client_id: frame.client_id, from: "visitor", text: text, created_at: new Date().toISOString() });
    ensureSession().then(function () { transmit(frame); }, function () { failed(frame.client_id); });
  }

  function failed(clientId) {
    var node = clientId && state.byClient[clientId];
    if (node && state.pending[clientId]) setMineStatus(node, "failed");
  }

  function transmit(frame) {
    if (!session) { if (frame.client_id) failed(frame.client_id); return; }
    if (state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify(frame));
      return;
    }
    // The WebSocket is down: plain HTTP, same frame, same idempotency.
    request("POST", "/messages", frame).then(function (body) {
      (body.acks || []).forEach(handleFrame);
    }, function () { if (frame.client_id) failed(frame.client_id); });
  }

  function request(method, path, body) {
    var headers = { "Content-Type": "application/json" };
    if (session) headers.Authorization = "Bearer " + session.token;
    return fetch(API + path, {
      method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, credentials: "omit"
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (resp.status === 401 && path !== "/session") { save(null); session = null; }
        if (!resp.ok) { var err = new Error(data.detail || resp.statusText); err.status = resp.status; throw err; }
        return data;
      });
    });
  }

  function ensureSession() {
    if (session) return Promise.resolve(session);
    if (state.sessionPromise) return state.sessionPromise;
    var ask = function (body) { return request("POST", "/session", body); };
    state.sessionPromise = ask(who).catch(function (err) {
      // A wrong user_hash is the site's bug: chat anonymously rather than not at all.
      if (who.user_id && err.status && err.status < 500) {
        if (window.console) console.warn("Crocevia chat: identity not accepted (" + err.message + ")");
        return ask({ name: who.name, email: who.email });
      }
      throw err;
    }).then(function (data) {
      session = { token: data.token, visitor_id: data.visitor_id, user_id: data.verified ? who.user_id : undefined };
      save(session);
      applyChannel(data.channel);
      state.sessionPromise = null;
      return session;
    }, function (err) {
      state.sessionPromise = null;
      setStatus(err.status === 403 || err.status === 404 ? T.unavailable : T.offline);
      throw err;
    });
    return state.sessionPromise;
  }

  function connect() {
    if (!session || state.gaveUp) return;
    if (state.ws && state.ws.readyState <= 1) return;
    clearTimeout(state.timer);
    setStatus(T.connecting);
    var url = API.replace(/^http/, "ws") + "/ws?token=" + encodeURIComponent(session.token);
    var ws;
    try { ws = new WebSocket(url); } catch (e) { scheduleReconnect(); return; }
    state.ws = ws;
    ws.onopen = function () {
      state.retries = 0;
      setStatus(T.online);
      // Anything not acknowledged yet goes again; the hub stores each client_id once.
      Object.keys(state.pending).forEach(function (id) { ws.send(JSON.stringify(state.pending[id])); });
    };
    ws.onmessage = function (e) {
      var frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      handleFrame(frame);
    };
    ws.onclose = function (e) {
      if (state.ws === ws) state.ws = null;
      if (e.code === 4401) { // token refused or expired: a new session, then reconnect
        save(null);
        session = null;
        ensureSession().then(connect, scheduleReconnect);
        return;
      }
      if (e.code === 4403 || e.code === 4404) { state.gaveUp = true; setStatus(T.unavailable); return; }
      setStatus(T.offline);
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, capped at 30 s, so a restarted hub is not stampeded.
    var delay = Math.min(30000, 1000 * Math.pow(2, state.retries)) * (0.5 + Math.random() / 2);
    state.retries = Math.min(state.retries + 1, 10);
    clearTimeout(state.timer);
    state.timer = setTimeout(connect, delay);
  }

  function handleFrame(f) {
    if (!f || typeof f !== "object") return;
    if (f.type === "hello") {
      applyChannel(f.channel);
      (f.messages || []).forEach(render);
      flushReceipts();
    } else if (f.type === "message" && f.message) {
      render(f.message);
      if (f.message.client_id) delete state.pending[f.message.client_id];
    } else if (f.type === "ack" && f.client_id) {
      var node = state.byClient[f.client_id];
      delete state.pending[f.client_id];
      if (node && f.id != null) {
        node.setAttribute("data-id", String(f.id));
        state.byId[f.id] = node;
        setMineStatus(node, "sent");
      }
    } else if (f.type === "error") {
      if (f.client_id) failed(f.client_id);
    }
  }

  // -- start -------------------------------------------------------------------------------
  function mount() {
    document.body.appendChild(host);
    // A returning visitor: connect now, so replies that came while away show as unread.
    if (session) connect();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
