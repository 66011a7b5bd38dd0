// The run panel's live line charts (Chart.js, in the shared chart theme): lines keyed by series
// name, fed the downsampled points `select` gives, updated in place without animation, with a
// dashed vertical marker where the job's stage changes. main.ts calls `setData` at most once per
// animation frame and makes the chart anew when its lines or the theme change.
import {
  Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartConfiguration, type Plugin,
} from 'chart.js';
import { axisTitle, border, font, grid, ticks, tooltip, type ChartTheme } from '../shared/chart-theme';
import type { ChartLine } from '../shared/series';
import type { StageMark } from './state';

Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Legend);

export interface LineSpec {
  name: string;
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  /** The right-hand axis (eval losses beside shares). */
  right?: boolean;
  /** Draw each point (evaluations are few). */
  points?: boolean;
  /** Lines of a higher order are drawn under those of a lower one. */
  order?: number;
}

export interface LiveChartOptions {
  yTitle: string;
  rightTitle?: string;
  /** The left axis holds shares in 0..1, shown as percentages. */
  percent?: boolean;
  /** Values in tooltips (axis ticks keep Chart.js's own, which suit their steps). */
  format(y: number): string;
  /** Ticks of their own (a learning rate's 5e-5). */
  tick?(y: number): string;
}

const marksOf = new WeakMap<Chart, StageMark[]>();

function stageMarkers(t: ChartTheme): Plugin<'line'> {
  return {
    id: 'stageMarkers',
    afterDatasetsDraw(chart) {
      const marks = marksOf.get(chart) ?? [];
      if (!marks.length) return;
      const { ctx, chartArea: area } = chart;
      const x = chart.scales.x;
      const f = font(t, -2);
      ctx.save();
      ctx.strokeStyle = t.muted;
      ctx.fillStyle = t.muted;
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.font = `${f.size}px ${f.family}`;
      ctx.textBaseline = 'top';
      for (const m of marks) {
        const px = x.getPixelForValue(m.x);
        if (!(px >= area.left && px <= area.right)) continue;
        ctx.beginPath();
        ctx.moveTo(px, area.top);
        ctx.lineTo(px, area.bottom);
        ctx.stroke();
        if (m.stage) ctx.fillText(m.stage, Math.min(px + 4, area.right - ctx.measureText(m.stage).width), area.top + 2);
      }
      ctx.restore();
    },
  };
}

export function createLiveChart(canvas: HTMLCanvasElement, lines: readonly LineSpec[], o: LiveChartOptions, t: ChartTheme): Chart<'line'> {
  const hasRight = lines.some((l) => l.right);
  const config: ChartConfiguration<'line'> = {
    type: 'line',
    data: {
      datasets: lines.map((l) => ({
        label: l.label,
        data: [],
        borderColor: l.color,
        backgroundColor: l.color,
        borderWidth: l.width ?? 1.5,
        borderDash: l.dash,
        pointRadius: l.points ? 3 : 0,
        pointHoverRadius: l.points ? 5 : 3,
        pointHitRadius: 6,
        pointBorderColor: t.contrastBorder ?? l.color,
        tension: 0,
        spanGaps: false,
        yAxisID: l.right ? 'y1' : 'y',
        order: l.order ?? 0,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false, axis: 'x' },
      scales: {
        x: {
          type: 'linear', grid: grid(t), border: border(t),
          ticks: { ...ticks(t), maxTicksLimit: 8, callback: (v) => String(v) },
          title: axisTitle(t, 'step'),
        },
        y: {
          type: 'linear', grid: grid(t), border: border(t),
          ...(o.percent ? { min: 0, max: 1 } : {}),
          ticks: {
            ...ticks(t), maxTicksLimit: 6,
            ...(o.percent ? { callback: (v: number | string) => `${Math.round(Number(v) * 100)}%` } : o.tick ? { callback: (v: number | string) => o.tick!(Number(v)) } : {}),
          },
          title: axisTitle(t, o.yTitle),
        },
        ...(hasRight ? {
          y1: {
            type: 'linear' as const, position: 'right' as const, grid: { drawOnChartArea: false }, border: border(t),
            ticks: { ...ticks(t), maxTicksLimit: 6 },
            title: axisTitle(t, o.rightTitle ?? ''),
          },
        } : {}),
      },
      plugins: {
        legend: {
          display: lines.length > 1, position: 'top', align: 'end',
          // In the lines' own order, whichever is drawn on top.
          labels: { color: t.foreground, font: font(t, -1), boxWidth: 14, boxHeight: 2, padding: 10, sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) },
        },
        tooltip: {
          ...tooltip(t),
          callbacks: {
            title: (items) => `step ${items[0]?.parsed.x ?? ''}`,
            label: (item) => {
              const y = Number(item.parsed.y);
              const line = lines[item.datasetIndex];
              return ` ${item.dataset.label}: ${o.percent && !line?.right ? `${(100 * y).toFixed(1)}%` : o.format(y)}`;
            },
          },
        },
      },
    },
    plugins: [stageMarkers(t)],
  };
  return new Chart(canvas, config);
}

/** New points for each line (by name) and the stage markers; redrawn without animation. */
export function setData(chart: Chart<'line'>, specs: readonly LineSpec[], lines: readonly ChartLine[], marks: StageMark[]): void {
  const byName = new Map(lines.map((l) => [l.name, l]));
  specs.forEach((s, i) => {
    const ds = chart.data.datasets[i];
    if (ds) ds.data = byName.get(s.name)?.points ?? [];
  });
  marksOf.set(chart, marks);
  chart.update('none');
}
