// Theme changes, for any webview that draws with the theme's colours: VS Code switches theme by
// changing the body's class and the root element's CSS variables, without reloading the page.

/**
 * Calls `fn` (once per frame at most) when VS Code switches theme, that is when `key` (what the
 * caller draws with) comes out different; other attribute changes are ignored. Returns a
 * function that stops watching.
 */
export function onThemeChange(fn: () => void, key: () => string = classKey): () => void {
  let frame = 0;
  let last = key();
  const obs = new MutationObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const k = key();
      if (k === last) return;
      last = k;
      fn();
    });
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id', 'data-vscode-theme-kind'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => { obs.disconnect(); cancelAnimationFrame(frame); };
}

function classKey(): string {
  return `${document.body.className}|${document.documentElement.getAttribute('style') ?? ''}`;
}
