/**
 * Builds an element: `h('a', { href: '#/x', onclick: fn, class: 'c' }, 'text', child)`.
 * Text is always set as text (never parsed as HTML), so data from the API cannot inject markup.
 * Attributes: `class`, `on<event>` handlers, booleans (`disabled`), anything else as an attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const svg = ['svg', 'path', 'line', 'text', 'g', 'rect', 'polyline', 'circle', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  for (const child of children.flat(Infinity)) if (child) el.append(child);
  return el;
}

/** A date as local `YYYY-MM-DD HH:MM:SS`. */
export function when(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A problem+json error (or any error) as one readable line. */
export function errorText(err) {
  const p = err && err.problem;
  if (p) return `${p.status ?? ''} ${p.title ?? ''}: ${p.detail ?? ''}${p.reason ? ` (${p.reason})` : ''}`;
  return String((err && err.message) || err);
}

/** An error box for a page. */
export function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, errorText(err));
}
