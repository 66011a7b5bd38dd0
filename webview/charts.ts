// The card's two charts, drawn with Chart.js in the theme the shared chart theme reads; main.ts
// re-makes them when the theme changes. The tables beside the charts carry the same numbers, so
// nothing is chart-only.
import {
  BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip,
  type ChartConfiguration, type Plugin,
} from 'chart.js';
import { border, font, grid, shortCount, ticks, tooltip, type ChartTheme } from './shared/chart-theme';
import { formatCount, type ChartData, type LayerChartData } from './view-model';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export function componentColor(t: ChartTheme, component: string): string {
  switch (component) {
    case 'embeddings': return t.blue;
    case 'encoder': return t.purple;
    case 'pooler': return t.green;
    case 'head': return t.orange;
    default: return t.yellow;
  }
}

/** Colour of shared set `i` in the layer map (layers with weights of their own are blue). */
export function sharedSetColor(t: ChartTheme, i: number): string {
  const palette = [t.purple, t.orange, t.green, t.yellow, t.red];
  return palette[i % palette.length];
}

/** The colour with diagonal stripes in the background colour: shared layers are marked by pattern, not hue alone. */
function striped(t: ChartTheme, color: string): CanvasPattern | string {
  const size = 8;
  const c = document.createElement('canvas');
  c.width = size;
  c.height = size;
  const g = c.getContext('2d');
  if (!g) return color;
  g.fillStyle = color;
  g.fillRect(0, 0, size, size);
  g.strokeStyle = t.background;
  g.globalAlpha = 0.55;
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(0, size); g.lineTo(size, 0);
  g.moveTo(-size / 2, size / 2); g.lineTo(size / 2, -size / 2);
  g.moveTo(size / 2, size * 1.5); g.lineTo(size * 1.5, size / 2);
  g.stroke();
  return g.createPattern(c, 'repeat') ?? color;
}

/** Writes a text label at each bar's end (horizontal) or top (vertical), where it fits. */
function barLabels(labels: (i: number) => string, color: string, fontSpec: ReturnType<typeof font>, horizontal: boolean, minBar: number): Plugin<'bar'> {
  return {
    id: 'barLabels',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      const meta = chart.getDatasetMeta(0);
      ctx.save();
      ctx.fillStyle = color;
      ctx.font = `${fontSpec.weight ?? 'normal'} ${fontSpec.size}px ${fontSpec.family}`;
      meta.data.forEach((el, i) => {
        const text = labels(i);
        if (!text) return;
        const p = el.getProps(['x', 'y', 'width', 'height', 'base'], true) as unknown as { x: number; y: number; width: number; height: number; base: number };
        if (horizontal) {
          ctx.textAlign = 'left';
          ctx.textBaseline = 'middle';
          ctx.fillText(text, p.x + 6, p.y);
        } else {
          if (p.width < minBar) return;
          ctx.textAlign = 'center';
          ctx.textBaseline = 'bottom';
          ctx.fillText(text, p.x, p.y - 3);
        }
      });
      ctx.restore();
    },
  };
}

/** Horizontal bars: parameters per component, each labelled with its share. */
export function drawComponentChart(canvas: HTMLCanvasElement, data: ChartData, shares: string[], t: ChartTheme): Chart<'bar'> {
  const colors = data.labels.map((c) => componentColor(t, c));
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels: data.labels,
      datasets: [{
        label: 'parameters',
        data: data.values,
        backgroundColor: colors,
        borderColor: t.contrastBorder ?? colors,
        borderWidth: t.contrastBorder ? 2 : 0,
        borderRadius: 3,
        maxBarThickness: 28,
        barPercentage: 0.75,
        categoryPercentage: 0.9,
      }],
    },
    options: {
      indexAxis: 'y',
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { right: 56 } },
      scales: {
        x: {
          beginAtZero: true,
          grid: grid(t),
          border: border(t),
          ticks: { ...ticks(t), callback: (v) => shortCount(Number(v)), maxTicksLimit: 6 },
        },
        y: {
          grid: { display: false },
          border: border(t),
          ticks: { color: t.foreground, font: font(t, -1) },
        },
      },
      plugins: {
        tooltip: { ...tooltip(t), callbacks: { label: (item) => ` ${formatCount(Number(item.raw))} parameters (${shares[item.dataIndex] ?? ''})` } },
      },
    },
    plugins: [barLabels((i) => shares[i] ?? '', t.muted, font(t, -2), true, 0)],
  };
  return new Chart(canvas, config);
}

/** Vertical bars: parameters per executed layer; shared sets in their own colour, striped and lettered. */
export function drawLayerChart(canvas: HTMLCanvasElement, data: LayerChartData, describe: (i: number) => string, t: ChartTheme): Chart<'bar'> {
  const fills = data.sharedSet.map((s) => (s < 0 ? t.blue : striped(t, sharedSetColor(t, s))));
  const edges = data.sharedSet.map((s) => t.contrastBorder ?? (s < 0 ? t.blue : sharedSetColor(t, s)));
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels: data.labels,
      datasets: [{
        label: 'parameters',
        data: data.values,
        backgroundColor: fills,
        borderColor: edges,
        borderWidth: t.contrastBorder ? 2 : data.sharedSet.map((s) => (s < 0 ? 0 : 1.5)),
        borderRadius: 2,
        maxBarThickness: 56,
        barPercentage: 0.85,
        categoryPercentage: 0.9,
      }],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { top: 18 } },
      scales: {
        x: {
          grid: { display: false },
          border: border(t),
          ticks: { ...ticks(t), autoSkip: true, maxRotation: 0 },
        },
        y: {
          beginAtZero: true,
          grid: grid(t),
          border: border(t),
          ticks: { ...ticks(t), callback: (v) => shortCount(Number(v)), maxTicksLimit: 5 },
        },
      },
      plugins: {
        tooltip: {
          ...tooltip(t),
          callbacks: {
            title: (items) => `layer ${items[0]?.dataIndex ?? ''}`,
            label: (item) => ` ${formatCount(Number(item.raw))} parameters`,
            afterLabel: (item) => describe(item.dataIndex),
          },
        },
      },
    },
    plugins: [barLabels((i) => data.marks[i] ?? '', t.foreground, font(t, -1, 'bold'), false, 12)],
  };
  return new Chart(canvas, config);
}
