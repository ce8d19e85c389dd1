// @ts-check
// Tiny keyed DOM helpers: elements are created once per key and afterwards only the text or
// attributes that changed are written, so live updates never rebuild a row (no flicker, focus
// and scroll positions survive).

/**
 * Creates an element: `h('td', {class: 'x', 'data-k': 'S'}, 'text' | Node ...)`.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(string | Node | undefined | null)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false || v === null) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) el.append(c);
  return el;
}

/**
 * The element marked `data-k="<k>"` inside `el`; a missing one is a bug of the page.
 * @param {ParentNode} el
 * @param {string} k
 * @returns {Element}
 */
export function q(el, k) {
  const found = el.querySelector(`[data-k="${k}"]`);
  if (found === null) throw new Error(`no [data-k="${k}"]`);
  return found;
}

/**
 * Sets text only when it differs.
 * @param {Node} el
 * @param {string | number} text
 */
export function setText(el, text) {
  const t = String(text);
  if (el.textContent !== t) el.textContent = t;
}

/**
 * Sets (or removes, for `undefined`/`false`) an attribute only when it differs.
 * @param {Element} el
 * @param {string} name
 * @param {string | number | boolean | undefined | null} value
 */
export function setAttr(el, name, value) {
  if (value === undefined || value === false || value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
    return;
  }
  const v = value === true ? '' : String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

/**
 * Toggles a class only when needed.
 * @param {Element} el
 * @param {string} name
 * @param {unknown} on
 */
export function setClass(el, name, on) {
  if (el.classList.contains(name) !== Boolean(on)) el.classList.toggle(name, Boolean(on));
}

/**
 * Reconciles `parent`'s children with `items` by key: reuses the element of each key, creates
 * missing ones with `create(item)`, removes stale ones, keeps order, then calls `update(el, item)`.
 * Elements are moved only when out of place.
 * @template T
 * @param {Element} parent
 * @param {readonly T[]} items
 * @param {(item: T) => string | number} key
 * @param {(item: T) => HTMLElement} create
 * @param {(el: HTMLElement, item: T) => void} update
 */
export function keyed(parent, items, key, create, update) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const el of [...parent.children]) if (el instanceof HTMLElement && el.dataset.key !== undefined) existing.set(el.dataset.key, el);
  let cursor = parent.firstElementChild;
  // Skip any unkeyed header elements (e.g. a caption) at the start.
  while (cursor instanceof HTMLElement && cursor.dataset.key === undefined) cursor = cursor.nextElementSibling;
  const seen = new Set();
  for (const item of items) {
    const k = String(key(item));
    seen.add(k);
    let el = existing.get(k);
    if (el === undefined) {
      el = create(item);
      el.dataset.key = k;
    }
    if (el !== cursor) parent.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
    update(el, item);
  }
  for (const [k, el] of existing) if (!seen.has(k)) el.remove();
}

/**
 * Flashes an element briefly after its value changed. The Web Animations API restarts the effect
 * without forcing a synchronous layout (the offsetWidth trick costs a full relayout per changed
 * cell on a page with thousands of rows).
 * @param {Element} el
 */
export function flash(el) {
  if (typeof el.animate !== 'function') return;
  el.animate([{ backgroundColor: '#bfdbfe' }, { backgroundColor: 'transparent' }], { duration: 1200, easing: 'ease-out' });
}
