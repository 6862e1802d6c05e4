// A tiny element builder. Text always goes in as text nodes, never as HTML, so a customer's
// message can never inject markup into an agent's page.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
let spriteUrl = null;

// <svg><use href="icons.svg#name"></svg> from the same sprite the templates use.
export function icon(name, cls = 'icon') {
  if (spriteUrl === null) {
    const any = document.querySelector('svg use');
    spriteUrl = any ? any.getAttribute('href').split('#')[0] : '/ui/static/img/icons.svg';
  }
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(SVG, 'use');
  use.setAttribute('href', `${spriteUrl}#${name}`);
  svg.append(use);
  return svg;
}

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  return ((parts[0] || '?')[0] + (parts.length > 1 ? parts[parts.length - 1][0] : '')).toUpperCase();
}

// Shortcut keys must not fire while the agent is typing.
export function isTyping(target) {
  return Boolean(target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)));
}

// Submit buttons render disabled (data-needs-js): a click before the page's module has bound its
// form would submit it natively. The module calls this once its handler is in place.
export function formReady(form) {
  for (const button of form.querySelectorAll('[data-needs-js]')) button.disabled = false;
}
