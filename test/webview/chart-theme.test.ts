import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartThemeFrom, font, seriesColor, shortCount, tooltip } from '../../webview/shared/chart-theme';

const PAGE = { color: 'rgb(1, 2, 3)', background: 'rgb(250, 250, 250)', fontFamily: 'serif', fontSize: '12px' };

const DARK: Record<string, string> = {
  '--vscode-charts-foreground': ' #cccccc ',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-charts-lines': 'rgba(204, 204, 204, 0.5)',
  '--vscode-editor-background': '#1f1f1f',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-font-family': '-apple-system, "Segoe UI", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-contrastBorder': '#6fc3df',
};
const vars = (table: Record<string, string>) => (name: string) => table[name] ?? '';

test('the theme comes from VS Code\'s CSS variables, trimmed', () => {
  const t = chartThemeFrom(vars(DARK), ['vscode-dark'], PAGE);
  assert.equal(t.foreground, '#cccccc');
  assert.equal(t.muted, '#9d9d9d');
  assert.equal(t.grid, 'rgba(204, 204, 204, 0.5)');
  assert.equal(t.background, '#1f1f1f');
  assert.equal(t.fontFamily, '-apple-system, "Segoe UI", sans-serif');
  assert.equal(t.fontSize, 13);
  assert.equal(t.highContrast, false);
  assert.equal(t.contrastBorder, undefined, 'only high-contrast themes outline marks');
});

test('the series palette is in the order of media/compare.css\'s .slot-N classes, and wraps', () => {
  const t = chartThemeFrom(vars(DARK), [], PAGE);
  assert.deepEqual(t.palette, ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700']);
  assert.equal(seriesColor(t, 0), '#3794ff');
  assert.equal(seriesColor(t, 7), '#d18616');
  assert.equal(seriesColor(t, -1), '#cca700');
});

test('missing variables fall back to the foreground and then to the page', () => {
  const t = chartThemeFrom(vars({ '--vscode-foreground': '#111111', '--vscode-widget-border': '#222222' }), [], PAGE);
  assert.equal(t.foreground, '#111111');
  assert.equal(t.muted, '#111111');
  assert.equal(t.blue, '#111111');
  assert.ok(t.palette.every((c) => c === '#111111'));
  assert.equal(t.grid, '#222222');
  assert.equal(t.background, PAGE.background);
  assert.equal(t.fontFamily, 'serif');
  assert.equal(t.fontSize, 12);
  const bare = chartThemeFrom(vars({}), [], { ...PAGE, fontSize: '' });
  assert.equal(bare.foreground, PAGE.color);
  assert.equal(bare.grid, PAGE.color);
  assert.equal(bare.fontSize, 13);
});

test('high-contrast themes, dark and light, outline with the contrast border', () => {
  for (const cls of ['vscode-high-contrast', 'vscode-high-contrast-light']) {
    const t = chartThemeFrom(vars(DARK), ['vscode-body', cls], PAGE);
    assert.equal(t.highContrast, true);
    assert.equal(t.contrastBorder, '#6fc3df');
    assert.equal(tooltip(t).borderColor, '#6fc3df');
  }
  const noBorder = chartThemeFrom(vars({ '--vscode-foreground': '#fff' }), ['vscode-high-contrast'], PAGE);
  assert.equal(noBorder.contrastBorder, '#fff');
});

test('fonts, tooltips and short counts', () => {
  const t = chartThemeFrom(vars(DARK), [], PAGE);
  assert.deepEqual(font(t, -2), { family: t.fontFamily, size: 11, weight: undefined });
  assert.equal(font(t, -10).size, 9, 'never unreadably small');
  assert.equal(tooltip(t).backgroundColor, '#1f1f1f');
  assert.equal(tooltip(t).borderColor, t.grid);
  assert.equal(tooltip(t).usePointStyle, false);
  assert.equal(tooltip(t, { pointStyle: true }).usePointStyle, true);
  assert.deepEqual([49984, 12_000_000, 2.5e9, 640, 0.125].map(shortCount), ['50k', '12M', '2.5G', '640', '0.13']);
});
