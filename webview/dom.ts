// A small element builder. Children that are strings become text nodes and attribute values are
// set with setAttribute, so nothing here ever parses HTML: a tensor called
// `<img src=x onerror=alert(1)>` is shown as those characters.

export type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  [name: string]: string | number | boolean | undefined | null | EventListener | Record<string, EventListener>;
}

/** Creates `tag` with attributes (`on` takes event listeners; `testid` sets data-testid) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'on' && typeof v === 'object') {
        for (const [type, fn] of Object.entries(v as Record<string, EventListener>)) e.addEventListener(type, fn);
      } else if (k === 'testid') {
        e.setAttribute('data-testid', String(v));
      } else if (typeof v === 'function') {
        continue;
      } else {
        e.setAttribute(k, v === true ? '' : String(v));
      }
    }
  }
  append(e, ...children);
  return e;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** Sets an element's text (never its HTML). */
export function setText(e: Element, text: string): void {
  e.textContent = text;
}
