// The comparison panel's three charts, drawn with Chart.js in the shared chart theme: p50/p95
// latency per model, p50 against sequence length, and parameters against p50. Each model keeps
// one colour and one point shape in every chart, so hue is never the only cue. The table carries
// the same numbers; main.ts redraws on theme change.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement,
  LogarithmicScale, PointElement, ScatterController, Tooltip,
  type ChartConfiguration, type Plugin, type PointStyle, type Scale,
} from 'chart.js';
import {
  axisTitle, border, font, grid, seriesColor, shortCount, ticks, tooltip, withAlpha, type ChartTheme,
} from '../shared/chart-theme';
import { formatCount, formatMacsShort } from '../view-model';
import { barLabelWidth, formatMs, shortLabel, wrapLabel, type LatencyBars, type ScatterChart, type SeqChart } from './view-model';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, LineElement, PointElement, ScatterController, Tooltip, Legend);

const SHAPES: PointStyle[] = ['circle', 'rect', 'triangle', 'rectRot', 'star', 'crossRot'];

export function modelShape(slot: number): PointStyle {
  return SHAPES[((slot % SHAPES.length) + SHAPES.length) % SHAPES.length];
}

// ---------------------------------------------------------------------------------------------
// p50 and p95 per model

/** Writes each bar's value above it when the bar is wide enough for the text. */
function barValues(t: ChartTheme): Plugin<'bar'> {
  return {
    id: 'barValues',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      const f = font(t, -2);
      ctx.save();
      ctx.font = `${f.size}px ${f.family}`;
      ctx.fillStyle = t.muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'bottom';
      chart.data.datasets.forEach((ds, d) => {
        const meta = chart.getDatasetMeta(d);
        if (meta.hidden) return;
        meta.data.forEach((el, i) => {
          const v = Number(ds.data[i]);
          if (!Number.isFinite(v)) return;
          const p = el.getProps(['x', 'y', 'width'], true) as unknown as { x: number; y: number; width: number };
          const text = formatMs(v);
          if (ctx.measureText(text).width > p.width + 10) return;
          ctx.fillText(text, p.x, p.y - 3);
        });
      });
      ctx.restore();
    },
  };
}

export function drawLatencyChart(canvas: HTMLCanvasElement, data: LatencyBars, t: ChartTheme): Chart<'bar'> {
  const solid = data.colors.map((c) => seriesColor(t, c));
  const light = solid.map((c) => withAlpha(c, 0.35));
  const width = barLabelWidth(data.labels.length);
  const labels = data.labels.map((l, i) => (i === data.baseline ? [...wrapLabel(l, width), '(baseline)'] : wrapLabel(l, width)));
  const config: ChartConfiguration<'bar'> = {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          label: 'p50', data: data.p50, backgroundColor: solid, borderColor: t.contrastBorder ?? solid,
          borderWidth: t.contrastBorder ? 2 : 0, borderRadius: 3, maxBarThickness: 44, barPercentage: 0.9, categoryPercentage: 0.7,
        },
        {
          label: 'p95', data: data.p95, backgroundColor: light, borderColor: t.contrastBorder ?? solid,
          borderWidth: t.contrastBorder ? 2 : 1.5, borderRadius: 3, maxBarThickness: 44, barPercentage: 0.9, categoryPercentage: 0.7,
        },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { top: 18 } },
      scales: {
        x: { grid: { display: false }, border: border(t), ticks: { color: t.foreground, font: font(t, -1), maxRotation: 0, autoSkip: false } },
        y: {
          beginAtZero: true, grid: grid(t), border: border(t),
          ticks: { ...ticks(t), maxTicksLimit: 6 },
          title: axisTitle(t, 'latency (ms)'),
        },
      },
      plugins: {
        legend: {
          display: true,
          position: 'top',
          align: 'end',
          labels: {
            color: t.muted,
            font: font(t, -1),
            boxWidth: 12,
            boxHeight: 12,
            generateLabels: () => [
              { text: 'p50 (median)', fillStyle: t.muted, strokeStyle: t.muted, lineWidth: 0, datasetIndex: 0, fontColor: t.muted },
              { text: 'p95', fillStyle: withAlpha(t.muted, 0.3), strokeStyle: t.muted, lineWidth: 1.5, datasetIndex: 1, fontColor: t.muted },
            ],
          },
        },
        tooltip: {
          ...tooltip(t),
          callbacks: {
            title: (items) => data.labels[items[0]?.dataIndex ?? 0] ?? '',
            label: (item) => ` ${item.dataset.label}: ${formatMs(Number(item.raw))} ms`,
          },
        },
      },
    },
    plugins: [barValues(t)],
  };
  return new Chart(canvas, config);
}

// ---------------------------------------------------------------------------------------------
// p50 against sequence length

/** Ticks exactly at the measured sequence lengths. */
function ticksAt(values: readonly number[]) {
  return (axis: Scale) => { axis.ticks = values.map((value) => ({ value })); };
}

export function drawSeqChart(canvas: HTMLCanvasElement, data: SeqChart, t: ChartTheme): Chart<'line'> {
  const lo = data.seqs[0] ?? 1;
  const hi = data.seqs[data.seqs.length - 1] ?? 1;
  const log = lo > 0 && hi / lo >= 4;
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      datasets: data.series.map((s) => {
        const c = seriesColor(t, s.color);
        return {
          label: s.baseline ? `${shortLabel(s.model)} (baseline)` : shortLabel(s.model),
          data: s.points.map((p) => ({ x: p.seq, y: p.p50 })),
          borderColor: c,
          backgroundColor: c,
          borderWidth: s.baseline ? 2.5 : 2,
          borderDash: s.baseline ? [6, 4] : undefined,
          pointStyle: modelShape(s.color),
          pointRadius: 4.5,
          pointHoverRadius: 6.5,
          pointBorderColor: t.contrastBorder ?? c,
          tension: 0,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: {
          type: log ? 'logarithmic' : 'linear',
          min: log ? lo / 1.25 : Math.max(0, lo - (hi - lo) * 0.08 - 1),
          max: log ? hi * 1.25 : hi + (hi - lo) * 0.08 + 1,
          afterBuildTicks: ticksAt(data.seqs),
          grid: grid(t),
          border: border(t),
          ticks: { ...ticks(t), callback: (v) => String(v), autoSkip: false, maxRotation: 0 },
          title: axisTitle(t, 'sequence length (tokens)'),
        },
        y: {
          beginAtZero: true, grid: grid(t), border: border(t),
          ticks: { ...ticks(t), maxTicksLimit: 6 },
          title: axisTitle(t, 'p50 latency (ms)'),
        },
      },
      plugins: {
        legend: {
          display: true, position: 'top', align: 'end',
          labels: { color: t.foreground, font: font(t, -1), usePointStyle: true, boxWidth: 8, boxHeight: 8, padding: 14 },
        },
        tooltip: {
          ...tooltip(t, { pointStyle: true }),
          callbacks: {
            title: (items) => `sequence length ${items[0] ? Number((items[0].raw as { x: number }).x) : ''}`,
            label: (item) => {
              const s = data.series[item.datasetIndex];
              const p = s?.points[item.dataIndex];
              return p ? ` ${shortLabel(s.model, 40)}: p50 ${formatMs(p.p50)} ms, p95 ${formatMs(p.p95)} ms` : '';
            },
          },
        },
      },
    },
  };
  return new Chart(canvas, config);
}

// ---------------------------------------------------------------------------------------------
// Parameters against p50

interface Box { x: number; y: number; w: number; h: number }
const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Writes each point's label beside it, at the first of several spots (right, left, above, below)
 * that stays inside the plot and clear of the points and of the labels already placed. Point d
 * is dataset d's first point (the report's trade-off chart draws its labels with this too).
 */
export function pointLabels(data: { points: ReadonlyArray<{ label: string; baseline: boolean }> }, t: ChartTheme): Plugin<'scatter'> {
  return {
    id: 'pointLabels',
    afterDatasetsDraw(chart) {
      const ctx = chart.ctx;
      const f = font(t, -1);
      const area = chart.chartArea;
      const lineH = f.size + 2;
      const centres = data.points.map((_, d) => chart.getDatasetMeta(d).data[0]?.getProps(['x', 'y'], true) as unknown as { x: number; y: number } | undefined);
      const taken: Box[] = centres.filter((c): c is { x: number; y: number } => !!c).map((c) => ({ x: c.x - 8, y: c.y - 8, w: 16, h: 16 }));
      ctx.save();
      ctx.textBaseline = 'middle';
      ctx.fillStyle = t.foreground;
      data.points.forEach((p, d) => {
        const c = centres[d];
        if (!c) return;
        const text = p.baseline ? `${p.label} (baseline)` : p.label;
        ctx.font = `${p.baseline ? 'bold ' : ''}${f.size}px ${f.family}`;
        const w = ctx.measureText(text).width;
        const gap = 11;
        const spots: Box[] = [
          { x: c.x + gap, y: c.y - lineH / 2, w, h: lineH },
          { x: c.x - gap - w, y: c.y - lineH / 2, w, h: lineH },
          { x: c.x - w / 2, y: c.y - gap - lineH, w, h: lineH },
          { x: c.x - w / 2, y: c.y + gap, w, h: lineH },
          { x: c.x + gap, y: c.y - gap - lineH, w, h: lineH },
          { x: c.x - gap - w, y: c.y - gap - lineH, w, h: lineH },
          { x: c.x + gap, y: c.y + gap, w, h: lineH },
          { x: c.x - gap - w, y: c.y + gap, w, h: lineH },
        ];
        const inside = (b: Box) => b.x >= area.left - 2 && b.x + b.w <= area.right + 8 && b.y >= area.top - 6 && b.y + b.h <= area.bottom + 2;
        const box = spots.find((b) => inside(b) && !taken.some((o) => overlaps(o, b))) ?? spots.find(inside) ?? spots[0];
        taken.push(box);
        ctx.textAlign = 'left';
        ctx.fillText(text, box.x, box.y + lineH / 2);
      });
      ctx.restore();
    },
  };
}

export function drawScatterChart(canvas: HTMLCanvasElement, data: ScatterChart, t: ChartTheme): Chart<'scatter'> {
  const config: ChartConfiguration<'scatter'> = {
    type: 'scatter',
    data: {
      datasets: data.points.map((p) => {
        const c = seriesColor(t, p.color);
        return {
          label: p.model,
          data: [{ x: p.params, y: p.p50 }],
          backgroundColor: c,
          borderColor: t.contrastBorder ?? c,
          borderWidth: t.contrastBorder ? 2 : 1,
          pointStyle: modelShape(p.color),
          pointRadius: p.baseline ? 8 : 6.5,
          pointHoverRadius: p.baseline ? 10 : 8.5,
        };
      }),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      layout: { padding: { top: 8, right: 12 } },
      scales: {
        x: {
          type: 'linear', beginAtZero: true, grace: '12%', grid: grid(t), border: border(t),
          ticks: { ...ticks(t), callback: (v) => shortCount(Number(v)), maxTicksLimit: 7 },
          title: axisTitle(t, 'parameters'),
        },
        y: {
          type: 'linear', beginAtZero: true, grace: '12%', grid: grid(t), border: border(t),
          ticks: { ...ticks(t), maxTicksLimit: 6 },
          title: axisTitle(t, 'p50 latency (ms)'),
        },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          ...tooltip(t, { pointStyle: true }),
          callbacks: {
            title: (items) => data.points[items[0]?.datasetIndex ?? 0]?.model ?? '',
            label: (item) => {
              const p = data.points[item.datasetIndex];
              return p ? ` ${formatCount(p.params)} parameters (${formatMacsShort(p.params)}), p50 ${formatMs(p.p50)} ms` : '';
            },
          },
        },
      },
    },
    plugins: [pointLabels(data, t)],
  };
  return new Chart(canvas, config);
}
