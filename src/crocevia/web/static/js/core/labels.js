// The workspace's labels and their colours, shared by every view that shows a label chip.
// Seeded from the page's boot data, kept current by the live feed's label.* events.
import { h } from './dom.js';

const colors = new Map(); // name -> "#rrggbb"

export function setLabels(labels) {
  colors.clear();
  for (const label of labels || []) colors.set(label.name, label.color);
}

export function labelNames() {
  return [...colors.keys()];
}

// A live label.created / label.updated / label.deleted event; true when names changed
// (conversations showing the old name must be redrawn).
export function applyLabelEvent(type, data) {
  if (type === 'label.deleted') {
    colors.delete(data.name);
    return true;
  }
  if (data.old_name && data.old_name !== data.name) colors.delete(data.old_name);
  colors.set(data.name, data.color);
  return Boolean(data.old_name && data.old_name !== data.name);
}

// A conversation's label list after a rename (new name) or a delete (null), as the server did it.
export function relabel(names, oldName, newName) {
  if (!(names || []).includes(oldName)) return names;
  const next = new Set(names.filter((n) => n !== oldName));
  if (newName) next.add(newName);
  return [...next].sort();
}

// The colour is a dot beside the name: the text keeps the chip's normal contrast whatever colour
// an admin picks. Set through the CSSOM (the page's CSP allows no inline style attributes).
export function labelDot(name, color) {
  const dot = h('span', { class: 'label-dot', 'aria-hidden': 'true' });
  dot.style.backgroundColor = color || colors.get(name) || 'var(--muted)';
  return dot;
}

export function labelChip(name, ...extra) {
  return h('span', { class: 'chip label-chip', dataset: { testid: 'label', label: name } }, labelDot(name), name, ...extra);
}
