// A tiny DOM builder and the shared loading / empty / error states.

/** h('div', {class: 'x', onclick: fn, dataset: {k: v}}, child, 'text', [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'class') el.className = value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function loading(label = 'Loading…') {
  return h('div', { class: 'state loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), label);
}

export function empty(label = 'No data for these filters.') {
  return h('div', { class: 'state empty' }, label);
}

export function failure(error) {
  const code = error?.code ? ` (error ${error.code})` : '';
  return h('div', { class: 'state error', role: 'alert' }, `Could not load: ${error?.message || error}${code}`);
}

/** A titled card whose body is returned for filling. */
export function card(title, { id, wide = false, note } = {}) {
  const body = h('div', { class: 'card-body' }, loading());
  const el = h('section', { class: `card${wide ? ' wide' : ''}`, id, dataset: { card: id || '' } },
    h('h3', {}, title), note ? h('p', { class: 'note' }, note) : null, body);
  return { el, body };
}

/** A number tile; data-value keeps the exact figure the API gave. */
export function kpi(key, label, value, text, sub) {
  return h('div', { class: 'kpi', dataset: { kpi: key, value: value ?? '' } },
    h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, text), sub ? h('div', { class: 'kpi-sub' }, sub) : null);
}
