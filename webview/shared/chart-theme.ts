// The one chart theme every webview draws with: colours, font, grid, tooltip and the series
// palette, read from the CSS variables VS Code sets on the webview, and applied again whenever
// VS Code switches theme (which it does without reloading the page). Chart.js draws on a canvas,
// so it cannot follow CSS variables itself: colours have to be read out and handed to it.
import { Chart } from 'chart.js';
import { onThemeChange } from './theme';

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  background: string;
  /** High-contrast themes outline every bar and point. */
  contrastBorder?: string;
  highContrast: boolean;
  blue: string;
  red: string;
  green: string;
  yellow: string;
  orange: string;
  purple: string;
  /** One colour per series, in the order media/compare.css numbers its .slot-N classes. */
  palette: readonly string[];
  fontFamily: string;
  fontSize: number;
}

/** What the page offers when a theme variable is missing (an older VS Code, a test page). */
export interface ThemeFallbacks {
  color: string;
  background: string;
  fontFamily: string;
  fontSize: string;
}

/** The theme from a lookup of CSS variables and the body's classes; no DOM, so it can be tested. */
export function chartThemeFrom(variable: (name: string) => string, bodyClasses: readonly string[], page: ThemeFallbacks): ChartTheme {
  const v = (name: string) => variable(name).trim();
  const foreground = v('--vscode-charts-foreground') || v('--vscode-foreground') || page.color;
  const pick = (name: string) => v(name) || foreground;
  const highContrast = bodyClasses.includes('vscode-high-contrast') || bodyClasses.includes('vscode-high-contrast-light');
  const colors = {
    blue: pick('--vscode-charts-blue'),
    red: pick('--vscode-charts-red'),
    green: pick('--vscode-charts-green'),
    yellow: pick('--vscode-charts-yellow'),
    orange: pick('--vscode-charts-orange'),
    purple: pick('--vscode-charts-purple'),
  };
  return {
    foreground,
    muted: v('--vscode-descriptionForeground') || foreground,
    grid: v('--vscode-charts-lines') || v('--vscode-widget-border') || v('--vscode-panel-border') || foreground,
    background: v('--vscode-editor-background') || page.background,
    contrastBorder: highContrast ? (v('--vscode-contrastBorder') || foreground) : undefined,
    highContrast,
    ...colors,
    palette: [colors.blue, colors.orange, colors.green, colors.purple, colors.red, colors.yellow],
    fontFamily: v('--vscode-font-family') || page.fontFamily,
    fontSize: parseFloat(v('--vscode-font-size')) || parseFloat(page.fontSize) || 13,
  };
}

/** The current theme, from the variables VS Code sets on the webview's root element. */
export function readChartTheme(): ChartTheme {
  const cs = getComputedStyle(document.body);
  return chartThemeFrom((name) => cs.getPropertyValue(name), [...document.body.classList], {
    color: cs.color, background: cs.backgroundColor, fontFamily: cs.fontFamily, fontSize: cs.fontSize,
  });
}

/**
 * Calls `draw` with the theme now and again each time VS Code switches theme; charts are drawn
 * afresh rather than patched, since colours sit in many places of a chart's options. Chart.js's
 * defaults follow too, for anything a chart leaves unset. Returns a function that stops watching.
 */
export function followChartTheme(draw: (theme: ChartTheme) => void): () => void {
  const apply = () => {
    const t = readChartTheme();
    applyChartDefaults(t);
    draw(t);
  };
  apply();
  return onThemeChange(apply, () => `${document.body.className}|${JSON.stringify(readChartTheme())}`);
}

function applyChartDefaults(t: ChartTheme): void {
  Chart.defaults.color = t.muted;
  Chart.defaults.borderColor = t.grid;
  Chart.defaults.font.family = t.fontFamily;
  Chart.defaults.font.size = t.fontSize;
}

/** Series `slot`'s colour: blue, orange, green, purple, red, yellow, then round again. */
export function seriesColor(t: ChartTheme, slot: number): string {
  const n = t.palette.length;
  return t.palette[((slot % n) + n) % n];
}

/** Chart fonts follow the editor's, a little smaller or larger by `delta`. */
export function font(t: ChartTheme, delta = 0, weight?: 'bold') {
  return { family: t.fontFamily, size: Math.max(9, t.fontSize + delta), weight };
}

/** Tooltips in the theme's colours; `pointStyle` shows each series' point shape as its swatch. */
export function tooltip(t: ChartTheme, options: { pointStyle?: boolean } = {}) {
  return {
    backgroundColor: t.background,
    titleColor: t.foreground,
    bodyColor: t.foreground,
    borderColor: t.contrastBorder ?? t.grid,
    borderWidth: 1,
    titleFont: font(t, 0, 'bold'),
    bodyFont: font(t),
    displayColors: true,
    usePointStyle: options.pointStyle ?? false,
    padding: 8,
  };
}

/** Grid lines: thin, in the theme's chart-line colour. */
export function grid(t: ChartTheme) {
  return { color: t.grid, lineWidth: 0.5 };
}

/** An axis's edge line. */
export function border(t: ChartTheme) {
  return { color: t.grid };
}

/** Value ticks, muted and a little smaller than the text. */
export function ticks(t: ChartTheme) {
  return { color: t.muted, font: font(t, -2) };
}

export function axisTitle(t: ChartTheme, text: string) {
  return { display: true, text, color: t.muted, font: font(t, -2) };
}

/** Axis ticks: 49984 -> '50k', 12000000 -> '12M'. */
export function shortCount(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(+n.toFixed(2));
}

/** `color` at opacity `alpha`, for any CSS colour the canvas understands. */
export function withAlpha(color: string, alpha: number): string {
  const g = document.createElement('canvas').getContext('2d');
  if (!g) return color;
  g.fillStyle = '#000';
  g.fillStyle = color;
  const c = String(g.fillStyle);
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (hex) return `rgba(${parseInt(hex[1], 16)}, ${parseInt(hex[2], 16)}, ${parseInt(hex[3], 16)}, ${alpha})`;
  const rgba = /^rgba?\(([^,]+),([^,]+),([^,)]+)(?:,([^)]+))?\)$/.exec(c.replace(/\s/g, ''));
  if (rgba) return `rgba(${rgba[1]}, ${rgba[2]}, ${rgba[3]}, ${alpha * (rgba[4] !== undefined ? Number(rgba[4]) : 1)})`;
  return color;
}
