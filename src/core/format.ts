// Number formatting for every surface (CLI tables, webviews, reports), so a figure reads the same
// wherever it is shown. Pure functions, no locale: the grouping is fixed en-US whatever the
// machine or the webview says.

/** What a missing figure prints as. */
export const DASH = '—';

/** 1234567 -> '1,234,567'. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const neg = n < 0;
  const s = String(Math.round(Math.abs(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return neg ? `-${out}` : out;
}

/** Bytes in binary units: 261048 -> '255 KB', 1.2 MiB -> '1.20 MB'. */
export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Multiply-adds (or any large count) with a decimal prefix: 16777216 -> '16.78 M'. */
export function formatMacs(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} T`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** A share as a percentage with one decimal: 0.1578 of 1 -> '15.8%'; below 0.05% but not zero -> '<0.1%'. */
export function formatPercent(part: number, whole: number): string {
  if (!whole || !part) return '0.0%';
  const p = (100 * part) / whole;
  if (p > 0 && p < 0.05) return '<0.1%';
  return `${p.toFixed(1)}%`;
}

/** A percentage already computed: 66.666 -> '66.7%'. */
export function formatPct(x: number | undefined): string {
  return x !== undefined && Number.isFinite(x) ? `${x.toFixed(1)}%` : DASH;
}

/** Milliseconds: 4.567 -> '4.57', 40 -> '40.0', 1234.5 -> '1,235'. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return DASH;
  if (ms < 10) return ms.toFixed(2);
  if (ms < 1000) return ms.toFixed(1);
  return formatCount(ms);
}

/** A ratio of latencies: '2.00x'. */
export function formatSpeedup(x: number): string {
  return Number.isFinite(x) && x > 0 ? `${x.toFixed(2)}x` : DASH;
}

/** Per-second rates: '47.6', '1,250'. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return DASH;
  return x < 100 ? x.toFixed(1) : formatCount(x);
}

/** Seconds as a duration: 42 -> '42 s', 312 -> '5 min 12 s', 7300 -> '2 h 02 min'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
