// Desktop notifications and a short sound for what needs the agent: a new conversation, or a
// teammate mentioning them. A per-user setting (the profile's settings.notifications), so it
// follows the agent to every browser; the browser's own permission is asked when it is turned on.
import { boot } from './boot.js';

let enabled = Boolean(boot.me && boot.me.notifications);
let audio = null;

export function notificationsEnabled() {
  return enabled;
}

export async function enableNotifications(on) {
  enabled = on;
  if (on && 'Notification' in window && Notification.permission === 'default') {
    try {
      await Notification.requestPermission();
    } catch {
      // Old browsers take a callback instead; the sound still plays.
    }
  }
}

// Two soft tones made with Web Audio: no sound file to serve, nothing to download.
function chime() {
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    [880, 1318].forEach((freq, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.12);
      gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.12);
      osc.stop(now + i * 0.12 + 0.3);
    });
  } catch {
    // No audio (autoplay policy before any click, or no device): the notification is enough.
  }
}

export function notify(title, body, href) {
  if (!enabled) return;
  chime();
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const n = new Notification(title, { body, tag: href, lang: document.documentElement.lang });
  n.addEventListener('click', () => {
    window.focus();
    location.assign(href);
    n.close();
  });
}
