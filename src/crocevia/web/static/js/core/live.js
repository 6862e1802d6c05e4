// The live feed: one WebSocket per page to /api/v1/live, reconnecting with backoff. Handlers get
// each committed event ({type, data, channel_id}). `onsync` runs each time the feed (re)starts:
// events from before that moment never reach us, so pages reload what they show.
export class Live {
  constructor({ onevent, onstate, onsync }) {
    this.onevent = onevent;
    this.onstate = onstate || (() => {});
    this.onsync = onsync || (() => {});
    this.attempt = 0;
    this.stopped = false;
  }

  start() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/live`);
    this.socket = socket;
    this.onstate('connecting');
    socket.addEventListener('message', (msg) => {
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (event.type === 'hello') {
        this.attempt = 0;
        this.onsync();
        this.onstate('live');
        return;
      }
      this.onevent(event);
    });
    socket.addEventListener('close', (ev) => {
      if (this.stopped) return;
      this.onstate('offline');
      if (ev.code === 4401) {
        location.assign(`/ui/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      // 0.5 s, 1 s, 2 s ... capped at 15 s, with jitter so a restarted server is not stampeded.
      const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      this.attempt += 1;
      setTimeout(() => this.start(), delay);
    });
  }

  // Small, best-effort messages to the server (the typing indicator); dropped while offline.
  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close();
  }
}
