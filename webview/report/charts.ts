// The report's two charts, drawn with Chart.js in the shared chart theme: accuracy against p50
// latency with the frontier joined by a dashed line (frontier models filled, the others hollow,
// so the mark is not colour alone), and parameters per component, one stacked bar per model.
// Names sit beside their points where they overlap nothing (the comparison's placement). The
// table carries the same numbers; main.ts redraws on theme change.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip,
  type ChartConfiguration,
} from 'chart.js';
import { formatCount, formatMs } from '../../src/core/format';
import { axisTitle, border, font, grid, seriesColor, shortCount, ticks, tooltip, withAlpha, type ChartTheme } from '../shared/chart-theme';
import { modelShape, pointLabels } from '../compare/charts';
import type { ComponentsChart, TradeoffChart } from './view-model';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, ScatterController, Tooltip, Legend);

export function drawTradeoffChart(canvas: HTMLCanvasElement, data: TradeoffChart, t: ChartTheme): Chart<'scatter'> {
  const frontier = {
    label: 'frontier', data: data.frontier.map((p) => ({ x: p.p50, y: p.accuracy })), showLine: true,
    borderColor: t.foreground, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, fill: false,
  };
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    data: {
      // The frontier goes last, so dataset d is point d (what the labels plugin reads).
      datasets: [...data.points.map((p) => {
        const c = seriesColor(t, p.slot);
        return {
          label: p.name, data: [{ x: p.p50, y: p.accuracy }],
          backgroundColor: p.pareto ? c : withAlpha(c, 0.08), borderColor: t.contrastBorder ?? c, borderWidth: 2,
          pointStyle: modelShape(p.slot), pointRadius: 7, pointHoverRadius: 9,
        };
      }), frontier],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      layout: { padding: { top: 18, right: 16 } },
      scales: {
        x: { type: 'linear', beginAtZero: true, grace: '15%', grid: grid(t), border: border(t), ticks: { ...ticks(t), maxTicksLimit: 7 }, title: axisTitle(t, 'p50 latency (ms), lower is better') },
        y: { type: 'linear', min: data.yMin, max: data.yMax, grid: grid(t), border: border(t), ticks: { ...ticks(t), maxTicksLimit: 6, callback: (v) => `${Number(v).toFixed(0)}%` }, title: axisTitle(t, 'accuracy') },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          ...tooltip(t, { pointStyle: true }),
          filter: (item) => item.datasetIndex < data.points.length,
          callbacks: {
            title: (items) => data.points[items[0]?.datasetIndex ?? 0]?.name ?? '',
            label: (item) => {
              const p = data.points[item.datasetIndex];
              return p ? ` ${p.accuracy.toFixed(2)}% at ${formatMs(p.p50)} ms${p.pareto ? ', on the frontier' : ''}${p.stale ? ' (stale figures)' : ''}` : '';
            },
          },
        },
      },
    },
    plugins: [pointLabels({ points: data.points.map((p) => ({ label: p.stale ? `${p.name} (stale)` : p.name, baseline: false })) }, t)],
  };
  return new Chart(canvas, config);
}

const COMPONENT_COLOR: Record<string, (t: ChartTheme) => string> = {
  embeddings: (t) => t.blue, encoder: (t) => t.orange, pooler: (t) => t.green, head: (t) => t.red, other: (t) => t.muted,
};

export function drawComponentsChart(canvas: HTMLCanvasElement, data: ComponentsChart, t: ChartTheme): Chart<'bar'> {
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels: data.labels,
      datasets: data.series.map((s) => ({
        label: s.component, data: s.values, backgroundColor: COMPONENT_COLOR[s.component](t),
        borderColor: t.contrastBorder ?? t.background, borderWidth: t.contrastBorder ? 2 : 1, maxBarThickness: 28,
      })),
    },
    options: {
      indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
      scales: {
        x: { stacked: true, beginAtZero: true, grid: grid(t), border: border(t), ticks: { ...ticks(t), callback: (v) => shortCount(Number(v)) }, title: axisTitle(t, 'parameters') },
        y: { stacked: true, grid: { display: false }, border: border(t), ticks: { color: t.foreground, font: font(t, -1) } },
      },
      plugins: {
        legend: { display: true, position: 'bottom', labels: { color: t.foreground, font: font(t, -1), boxWidth: 12 } },
        tooltip: { ...tooltip(t), callbacks: { label: (item) => ` ${item.dataset.label}: ${formatCount(Number(item.raw))}` } },
      },
    },
  };
  return new Chart(canvas, config);
}
