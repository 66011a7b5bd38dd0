// Named series of (step, value) points that only ever grow: what a live chart of training
// progress draws from. The host streams batches of new steps and never resends history, so the
// reducer must append a batch in time proportional to the batch, not to the run so far, at up to
// ten steps a second for hours.
//
// Immutability without copying. A reducer that copied arrays on every append would copy the
// whole history ten times a second (O(n) per batch, O(n²) per run). Instead each series keeps its
// points in fixed-size chunks of typed arrays (CHUNK points each) that states share: a state is
// "chunks plus a length", and it reads only the slots below its own length. Appending writes the
// slots at and past the newest length, which no existing state reads, so every state ever returned
// keeps reading the same values: observably immutable, though the chunks are written in place.
// Chunks are never reallocated or moved, so history is never copied. The one case that would
// break this, appending to a state that is no longer the newest of its storage (two branches
// writing the same slots), is detected by the storage's fill count and costs a fork: the full
// chunks are shared by reference and only the partially filled one is copied (at most CHUNK points).
// The price: a state's points are not plain arrays (read them with stepAt/valueAt/chunksOf or
// `select`), and a typed array cannot be frozen, so the "do not write" rule is a convention of
// this module. Views learn that something arrived from `version`, which every change bumps.
//
// Drawing: `select` gives each line at most `maxPoints` points, by min/max per bucket of steps
// (a spike or a dip survives; striding would skip it), always with the first and the last point.
// Buckets are aligned to fixed multiples of a power-of-two size, so as points arrive only the
// last bucket changes and the drawn line does not wobble between frames. It is O(points in view).
//
// A live training panel would hold one SeriesState for per-step values (loss and its terms, lr,
// grad norm, examples/s) and another for per-evaluation metrics, each under this reducer.

const SHIFT = 10;
/** Points per chunk: big enough that chunk bookkeeping is noise, small enough that a fork is cheap. */
export const CHUNK = 1 << SHIFT;
const MASK = CHUNK - 1;

export interface SeriesPoint {
  readonly step: number;
  /** Series name -> value at this step; a step may report only some of the series. */
  readonly values: Readonly<Record<string, number>>;
}

export type SeriesAction =
  | { readonly type: 'reset' }
  | { readonly type: 'append'; readonly points: readonly SeriesPoint[] };

/** CHUNK slots of one series. Shared between states: never write into one. */
export interface SeriesChunk {
  readonly steps: Float64Array;
  readonly values: Float64Array;
}

/** The slots states share. `filled` is how far the newest state that uses it has written. */
interface Storage {
  readonly chunks: SeriesChunk[];
  filled: number;
}

export interface Series {
  readonly name: string;
  /** Points in this state; storage past it belongs to later states. */
  readonly length: number;
  /** -Infinity while empty; steps strictly increase. */
  readonly lastStep: number;
  /** Over finite values only; Infinity / -Infinity while there is none. */
  readonly min: number;
  readonly max: number;
  /** The first step whose value was NaN or infinite (a diverged loss), if any. */
  readonly firstNonFiniteStep?: number;
  /** Shared with other states: read it through stepAt, valueAt and chunksOf, never write it. */
  readonly storage: Storage;
}

export interface SeriesState {
  /** In order of first appearance: a legend's order. */
  readonly series: readonly Series[];
  /** Bumped by every change: a view redraws when it differs from the one it drew. */
  readonly version: number;
  /**
   * Values that were not appended: their point had no finite step, or the step did not move
   * their series forward (a stream that goes back is a new run, and starts with 'reset').
   */
  readonly rejected: number;
}

export const emptySeries: SeriesState = { series: [], version: 0, rejected: 0 };

export function seriesReducer(state: SeriesState, action: SeriesAction): SeriesState {
  switch (action.type) {
    case 'reset':
      return state.series.length === 0 && state.rejected === 0 ? state : { series: [], version: state.version + 1, rejected: 0 };
    case 'append':
      return append(state, action.points);
    default:
      return state;
  }
}

/** A series while a batch is written into it; frozen into a Series when the batch is done. */
interface Cursor {
  name: string;
  storage: Storage;
  length: number;
  lastStep: number;
  min: number;
  max: number;
  firstNonFiniteStep?: number;
}

function append(state: SeriesState, points: readonly SeriesPoint[]): SeriesState {
  if (!Array.isArray(points) || points.length === 0) return state;
  // Copying the list of series is O(number of names), not O(points): series the batch does not
  // touch keep their identity.
  const series = state.series.slice();
  const index = new Map<string, number>();
  series.forEach((s, i) => index.set(s.name, i));
  const open = new Map<number, Cursor>();
  let rejected = 0;
  let written = 0;
  for (const p of points) {
    const step = p?.step;
    const values = p?.values;
    if (typeof step !== 'number' || !Number.isFinite(step) || !values || typeof values !== 'object') {
      rejected += values && typeof values === 'object' ? Object.keys(values).length : 1;
      continue;
    }
    for (const name of Object.keys(values)) {
      const v = values[name];
      if (typeof v !== 'number') continue;
      let i = index.get(name);
      if (i === undefined) {
        i = series.length;
        index.set(name, i);
        series.push({ name, length: 0, lastStep: -Infinity, min: Infinity, max: -Infinity, storage: { chunks: [], filled: 0 } });
      }
      let c = open.get(i);
      if (!c) {
        c = openCursor(series[i]);
        open.set(i, c);
      }
      if (step <= c.lastStep) { rejected++; continue; }
      write(c, step, v);
      written++;
    }
  }
  if (written === 0) return rejected ? { ...state, rejected: state.rejected + rejected } : state;
  // A series whose every value in the batch was rejected keeps its identity too.
  for (const [i, c] of open) if (c.length !== series[i].length) series[i] = { ...c };
  return { series, version: state.version + 1, rejected: state.rejected + rejected };
}

function openCursor(s: Series): Cursor {
  // A later state has already written past this one's length: writing here would change what
  // that state reads, so this branch gets storage of its own.
  const storage = s.storage.filled === s.length ? s.storage : fork(s.storage, s.length);
  return { name: s.name, storage, length: s.length, lastStep: s.lastStep, min: s.min, max: s.max, firstNonFiniteStep: s.firstNonFiniteStep };
}

/** The first `length` slots of `from`: full chunks by reference, the partial one copied. */
function fork(from: Storage, length: number): Storage {
  const full = length >>> SHIFT;
  const chunks = from.chunks.slice(0, full);
  const rest = length & MASK;
  if (rest) {
    const src = from.chunks[full];
    const c = newChunk();
    c.steps.set(src.steps.subarray(0, rest));
    c.values.set(src.values.subarray(0, rest));
    chunks.push(c);
  }
  return { chunks, filled: length };
}

function newChunk(): SeriesChunk {
  return { steps: new Float64Array(CHUNK), values: new Float64Array(CHUNK) };
}

function write(c: Cursor, step: number, v: number): void {
  const i = c.length;
  const k = i >>> SHIFT;
  if (k === c.storage.chunks.length) c.storage.chunks.push(newChunk());
  const chunk = c.storage.chunks[k];
  chunk.steps[i & MASK] = step;
  chunk.values[i & MASK] = v;
  c.length = i + 1;
  c.storage.filled = i + 1;
  c.lastStep = step;
  if (Number.isFinite(v)) {
    if (v < c.min) c.min = v;
    if (v > c.max) c.max = v;
  } else if (c.firstNonFiniteStep === undefined) {
    c.firstNonFiniteStep = step;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

export function seriesNamed(state: SeriesState, name: string): Series | undefined {
  return state.series.find((s) => s.name === name);
}

export function stepAt(s: Series, i: number): number {
  if (!(i >= 0 && i < s.length)) throw new RangeError(`point ${i} of ${s.length}`);
  return s.storage.chunks[i >>> SHIFT].steps[i & MASK];
}

export function valueAt(s: Series, i: number): number {
  if (!(i >= 0 && i < s.length)) throw new RangeError(`point ${i} of ${s.length}`);
  return s.storage.chunks[i >>> SHIFT].values[i & MASK];
}

/** The chunks holding this state's points; slot j of chunk k is point k*CHUNK+j, valid below `length`. */
export function chunksOf(s: Series): readonly SeriesChunk[] {
  return s.storage.chunks.slice(0, Math.ceil(s.length / CHUNK));
}

/** The first index whose step is >= `step` (length when none). */
export function indexAtStep(s: Series, step: number): number {
  return search(s, (x) => x < step);
}

/** The first index whose step is > `step` (length when none). */
export function indexAfterStep(s: Series, step: number): number {
  return search(s, (x) => x <= step);
}

/** The first index where `before` turns false; steps increase, so it does so once. */
function search(s: Series, before: (step: number) => boolean): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(stepAt(s, mid))) lo = mid + 1; else hi = mid;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------------
// What a chart draws

/** A chart point; y is NaN where the line has a gap (Chart.js breaks the line there). */
export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartLine {
  name: string;
  points: ChartPoint[];
  /** Points in the selected range before downsampling. */
  count: number;
  /** The newest point in range, for a readout beside the chart. */
  last?: ChartPoint;
  firstNonFiniteStep?: number;
}

export interface SelectOptions {
  /** At most this many points per line. */
  maxPoints: number;
  /** Only these series, in this order; default all, in order of first appearance. */
  names?: readonly string[];
  /** Steps from `from` to `to`, both included; default the whole run. */
  from?: number;
  to?: number;
}

export interface ChartSeries {
  version: number;
  lines: ChartLine[];
}

export function select(state: SeriesState, options: SelectOptions): ChartSeries {
  const wanted = options.names
    ? options.names.map((n) => seriesNamed(state, n)).filter((s): s is Series => !!s)
    : state.series;
  return {
    version: state.version,
    lines: wanted.map((s) => {
      const [lo, hi] = rangeOf(s, options.from, options.to);
      const points = downsample(s, options.maxPoints, options.from, options.to);
      return {
        name: s.name,
        points,
        count: hi - lo,
        last: hi > lo ? { x: stepAt(s, hi - 1), y: valueAt(s, hi - 1) } : undefined,
        firstNonFiniteStep: s.firstNonFiniteStep,
      };
    }),
  };
}

function rangeOf(s: Series, from?: number, to?: number): [number, number] {
  const lo = from === undefined ? 0 : indexAtStep(s, from);
  const hi = to === undefined ? s.length : indexAfterStep(s, to);
  return [lo, Math.max(lo, hi)];
}

/**
 * At most `maxPoints` points of `s` between steps `from` and `to`: all of them when they fit;
 * else the first and the last point plus, per bucket, the points with the lowest and the highest
 * finite value (in step order), or one NaN point for a bucket with no finite value.
 */
export function downsample(s: Series, maxPoints: number, from?: number, to?: number): ChartPoint[] {
  const max = Math.max(1, Math.floor(maxPoints));
  const [lo, hi] = rangeOf(s, from, to);
  const n = hi - lo;
  const out: ChartPoint[] = [];
  const push = (i: number) => out.push({ x: stepAt(s, i), y: valueAt(s, i) });
  if (n <= max) {
    for (let i = lo; i < hi; i++) push(i);
    return out;
  }
  if (max < 4) {
    // Too few points for buckets: evenly spaced ones, ending with the newest.
    if (max === 1) { push(hi - 1); return out; }
    for (let j = 0; j < max; j++) push(lo + Math.round((j * (n - 1)) / (max - 1)));
    return out;
  }
  const buckets = Math.floor((max - 2) / 2);
  // Buckets sit at fixed multiples of a power of two, not at fractions of the range, so a new
  // point changes only the bucket it lands in.
  let size = 1;
  while (Math.ceil(hi / size) - Math.floor(lo / size) > buckets) size *= 2;
  push(lo);
  const { chunks } = s.storage;
  for (let start = Math.floor(lo / size) * size; start < hi; start += size) {
    const a = Math.max(start, lo + 1);
    const b = Math.min(start + size, hi - 1);
    if (a >= b) continue;
    let minI = -1;
    let maxI = -1;
    let minV = Infinity;
    let maxV = -Infinity;
    for (let i = a; i < b; i++) {
      const v = chunks[i >>> SHIFT].values[i & MASK];
      if (!Number.isFinite(v)) continue;
      if (v < minV) { minV = v; minI = i; }
      if (v > maxV) { maxV = v; maxI = i; }
    }
    if (minI < 0) {
      out.push({ x: stepAt(s, a), y: NaN });
    } else if (minI === maxI) {
      push(minI);
    } else {
      push(Math.min(minI, maxI));
      push(Math.max(minI, maxI));
    }
  }
  push(hi - 1);
  return out;
}
