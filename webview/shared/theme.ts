// Theme changes, for any webview that draws with the theme's colours: VS Code switches theme by
// changing the body's class and the root element's CSS variables, without reloading the page.
import { readTheme } from '../charts';

/** Calls `fn` (once per frame at most) when VS Code switches theme. Returns a function that stops watching. */
export function onThemeChange(fn: () => void): () => void {
  let frame = 0;
  let last = themeKey();
  const obs = new MutationObserver(() => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => {
      const key = themeKey();
      if (key === last) return;
      last = key;
      fn();
    });
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id', 'data-vscode-theme-kind'] });
  obs.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return () => { obs.disconnect(); cancelAnimationFrame(frame); };
}

/** Everything about the theme a chart is drawn with. */
export function themeKey(): string {
  const t = readTheme();
  return [document.body.className, t.foreground, t.background, t.blue, t.purple, t.orange, t.green, t.yellow, t.red, t.grid, t.fontFamily, t.fontSize].join('|');
}
