// Dates and durations in the page's language, with the browser's own Intl (no libraries).
import { lang } from './i18n.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const timeFmt = new Intl.DateTimeFormat(lang, { hour: '2-digit', minute: '2-digit' });
const dayFmt = new Intl.DateTimeFormat(lang, { day: 'numeric', month: 'short' });
const fullFmt = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });
const weekdayFmt = new Intl.DateTimeFormat(lang, { weekday: 'long', day: 'numeric', month: 'long' });

// Made once per unit: building an Intl formatter costs far more than formatting, and the inbox
// formats a waiting time for every row it draws.
const unitFmts = new Map();
function unit(value, name) {
  let fmt = unitFmts.get(name);
  if (!fmt) {
    fmt = new Intl.NumberFormat(lang, { style: 'unit', unit: name, unitDisplay: 'short' });
    unitFmts.set(name, fmt);
  }
  return fmt.format(value);
}

export function parse(iso) {
  return iso ? new Date(iso) : null;
}

// "12 min", "3 h", "2 d": how long something has lasted.
export function duration(ms) {
  const value = Math.max(0, ms);
  if (value < MINUTE) return unit(Math.max(1, Math.round(value / 1000)), 'second');
  if (value < HOUR) return unit(Math.floor(value / MINUTE), 'minute');
  if (value < DAY) return unit(Math.floor(value / HOUR), 'hour');
  return unit(Math.floor(value / DAY), 'day');
}

// List timestamps: the time today, the date otherwise.
export function short(iso) {
  const date = parse(iso);
  if (!date) return '';
  const now = new Date();
  return date.toDateString() === now.toDateString() ? timeFmt.format(date) : dayFmt.format(date);
}

export function clock(iso) {
  const date = parse(iso);
  return date ? timeFmt.format(date) : '';
}

export function full(iso) {
  const date = parse(iso);
  return date ? fullFmt.format(date) : '';
}

export function dayLabel(iso) {
  const date = parse(iso);
  return date ? weekdayFmt.format(date) : '';
}

export function sameDay(a, b) {
  const x = parse(a);
  const y = parse(b);
  return Boolean(x && y && x.toDateString() === y.toDateString());
}

// "24 hours", "60 minutes": a reply window's span, spelt out.
export function span(hours) {
  if (hours >= 1 && Number.isInteger(hours)) {
    return new Intl.NumberFormat(lang, { style: 'unit', unit: 'hour', unitDisplay: 'long' }).format(hours);
  }
  return new Intl.NumberFormat(lang, { style: 'unit', unit: 'minute', unitDisplay: 'long' }).format(Math.round(hours * 60));
}

export { MINUTE, HOUR, DAY };
