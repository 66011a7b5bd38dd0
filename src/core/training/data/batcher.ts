// From examples to Batches: tokenize once (a Hugging Face tokenizer.json, truncation to a maximum
// length keeping the closing special tokens), then per epoch a seeded order of batches, each
// padded to its own longest row. Optional length buckets: rows are sorted by length within chunks
// of N batches, cut into batches, and the batches shuffled, which keeps batches of similar
// lengths (little padding) while the order stays random. The order of an epoch depends only on
// (seed, epoch) and the options, so a run resumes from (epoch, position) exactly.
import { loadTokenizer, type LoadedTokenizer } from '../../text/tokenizer';
import { seededRandom } from '../../onnx/graph-builder';
import type { Batch } from '../types';
import { DatasetError, type Dataset } from './dataset';

export { loadTokenizer, type LoadedTokenizer };



/** A dataset's rows as token ids, flat: row r is [offsets[r], offsets[r + 1]). */
export interface TokenizedDataset {
  file: string;
  size: number;
  ids: Int32Array;
  offsets: Int32Array;
  /** Token type ids, or null when there are none (all zero). */
  typeIds: Int32Array | null;
  /** Attention masks given by pre-tokenized rows, or null: 1 on every token. */
  mask: Uint8Array | null;
  labels: Int32Array;
  /** File line of each row, for messages. */
  lines: Int32Array;
  padId: number;
  maxLength: number;
  /** Rows that were longer than maxLength and were cut. */
  truncated: number;
  numLabels: number;
}

export interface TokenizeOptions {
  /** Tokens per row at most, special tokens included. */
  maxLength: number;
  /** The model's vocabulary: an id at or past it is an error. */
  vocabSize?: number;
  /** The model's class count: a label at or past it is an error. */
  numLabels?: number;
  /** Pad id for pre-tokenized rows without a tokenizer (default 0). */
  padId?: number;
}

/**
 * Tokenizes text examples with `tok` (pre-tokenized ones are taken as they are; `tok` then only
 * gives the pad and special ids). Rows longer than maxLength are truncated as Hugging Face's
 * truncation does: the texts are cut (the longest first, for pairs) and the special tokens kept,
 * so a row still ends with [SEP]. Without a tokenizer, pre-tokenized rows are simply cut.
 */
export function tokenizeDataset(ds: Dataset, tok: LoadedTokenizer | undefined, options: TokenizeOptions): TokenizedDataset {
  const { maxLength } = options;
  if (!Number.isSafeInteger(maxLength) || maxLength < 2) throw new Error(`maximum length must be an integer >= 2, got ${maxLength}`);
  if (ds.kind === 'text' && !tok) throw new DatasetError(ds.file, undefined, 'the rows are text: a tokenizer (tokenizer.json) is needed');
  if (options.numLabels !== undefined && ds.numLabels > options.numLabels) {
    const bad = ds.examples.find((e) => e.label >= (options.numLabels as number));
    throw new DatasetError(ds.file, bad?.line, `label ${bad?.label}${ds.labelNames ? ` (${JSON.stringify(ds.labelNames[bad?.label ?? 0])})` : ''} is past the model's ${options.numLabels} classes`);
  }
  const special = tok?.specialIds ?? new Set<number>();
  const n = ds.examples.length;
  const offsets = new Int32Array(n + 1);
  const labels = new Int32Array(n);
  const lines = new Int32Array(n);
  const rowsIds: number[][] = [];
  const rowsTypes: Array<number[] | undefined> = [];
  const rowsMask: Array<number[] | undefined> = [];
  let anyTypes = false;
  let anyMask = false;
  let truncated = 0;
  for (let r = 0; r < n; r++) {
    const ex = ds.examples[r];
    let ids: number[];
    let types: number[] | undefined;
    let mask: number[] | undefined;
    if (ex.inputIds) {
      ids = ex.inputIds;
      types = ex.tokenTypeIds;
      mask = ex.attentionMask;
    } else {
      const e = (tok as LoadedTokenizer).tokenizer.encode(ex.text ?? '', { text_pair: ex.textPair ?? null, return_token_type_ids: true });
      ids = e.ids;
      types = e.token_type_ids;
    }
    if (ids.length > maxLength) {
      truncated++;
      const keep = keptPositions(ids, special, maxLength);
      ids = keep.map((i) => ids[i]);
      if (types) types = keep.map((i) => (types as number[])[i]);
      if (mask) mask = keep.map((i) => (mask as number[])[i]);
    }
    if (options.vocabSize !== undefined) {
      const bad = ids.find((id) => id >= (options.vocabSize as number));
      if (bad !== undefined) {
        throw new DatasetError(ds.file, ex.line, `token id ${bad} is past the model's vocabulary of ${options.vocabSize}` +
          (ex.inputIds ? '' : ` (the tokenizer ${tok?.file} knows ${tok?.vocabSize} tokens: it is not this model's tokenizer)`));
      }
    }
    if (types && types.some((t) => t !== 0)) anyTypes = true;
    if (mask && mask.some((m) => m !== 1)) anyMask = true;
    rowsIds.push(ids);
    rowsTypes.push(types);
    rowsMask.push(mask);
    offsets[r + 1] = offsets[r] + ids.length;
    labels[r] = ex.label;
    lines[r] = ex.line;
  }
  const total = offsets[n];
  const ids = new Int32Array(total);
  const typeIds = anyTypes ? new Int32Array(total) : null;
  const mask = anyMask ? new Uint8Array(total).fill(1) : null;
  for (let r = 0; r < n; r++) {
    ids.set(rowsIds[r], offsets[r]);
    const t = rowsTypes[r];
    if (typeIds && t) typeIds.set(t, offsets[r]);
    const m = rowsMask[r];
    if (mask && m) mask.set(m, offsets[r]);
  }
  return {
    file: ds.file,
    size: n,
    ids,
    offsets,
    typeIds,
    mask,
    labels,
    lines,
    padId: tok?.padId ?? options.padId ?? 0,
    maxLength,
    truncated,
    numLabels: ds.numLabels,
  };
}

/**
 * Positions kept when cutting `ids` to `max`: special tokens stay, and the texts between them
 * (runs of ordinary tokens) lose tokens from their ends, one at a time from the longest run (on a
 * tie, the later one: Python transformers' longest_first rule). Without specials, a plain cut.
 */
export function keptPositions(ids: readonly number[], special: ReadonlySet<number>, max: number): number[] {
  const runs: Array<{ start: number; length: number }> = [];
  let specials = 0;
  for (let i = 0; i < ids.length; i++) {
    if (special.has(ids[i])) {
      specials++;
    } else if (i > 0 && !special.has(ids[i - 1]) && runs.length > 0) {
      runs[runs.length - 1].length++;
    } else {
      runs.push({ start: i, length: 1 });
    }
  }
  if (specials === 0 || specials >= max) return Array.from({ length: max }, (_, i) => i);
  const keep = runs.map((r) => r.length);
  for (let excess = ids.length - max; excess > 0; excess--) {
    let longest = 0;
    for (let k = 1; k < keep.length; k++) if (keep[k] >= keep[longest]) longest = k;
    keep[longest]--;
  }
  const dropped = new Uint8Array(ids.length);
  runs.forEach((r, k) => dropped.fill(1, r.start + keep[k], r.start + r.length));
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) if (!dropped[i]) out.push(i);
  return out;
}

export interface BatcherOptions {
  batchSize: number;
  /** Seed of the per-epoch order (default 0). */
  seed?: number;
  /** Shuffle rows each epoch (default true). false: file order (still bucketed, when asked). */
  shuffle?: boolean;
  /** Length buckets: sort rows by length within chunks of this many batches (0 or undefined: none). */
  bucketBatches?: number;
  /** Leave out the last, smaller batch (default false). */
  dropLast?: boolean;
  /** Pad each batch's length up to a multiple of this (default 1). */
  padToMultipleOf?: number;
  /** Emit token_type_ids (default true; zeros when the rows have none). */
  tokenTypeIds?: boolean;
}

export interface PositionedBatch {
  epoch: number;
  /** Index of this batch in its epoch: resume with position + 1. */
  position: number;
  /** Dataset rows in the batch, in batch order. */
  rows: Int32Array;
  batch: Batch;
}

export class Batcher {
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  private readonly seed: number;
  private readonly shuffle: boolean;
  private readonly bucketBatches: number;
  private readonly dropLast: boolean;
  private readonly multiple: number;
  private readonly withTypes: boolean;
  private cached: { epoch: number; order: Int32Array[] } | undefined;

  constructor(readonly data: TokenizedDataset, options: BatcherOptions) {
    const count = (name: string, v: number, min: number) => {
      if (!Number.isSafeInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got ${v}`);
      return v;
    };
    this.batchSize = count('batch size', options.batchSize, 1);
    this.seed = count('seed', options.seed ?? 0, 0);
    this.shuffle = options.shuffle ?? true;
    this.bucketBatches = count('bucket size (batches)', options.bucketBatches ?? 0, 0);
    this.dropLast = options.dropLast ?? false;
    this.multiple = count('pad-to multiple', options.padToMultipleOf ?? 1, 1);
    this.withTypes = options.tokenTypeIds ?? true;
    const full = Math.floor(data.size / this.batchSize);
    this.batchesPerEpoch = this.dropLast || data.size % this.batchSize === 0 ? full : full + 1;
    if (this.batchesPerEpoch === 0) throw new DatasetError(data.file, undefined, `${data.size} rows make no batch of ${this.batchSize} (dropLast)`);
  }

  /** What the order of batches depends on: store it with a checkpoint, and compare on resume. */
  orderKey(): string {
    return JSON.stringify({
      rows: this.data.size, tokens: this.data.ids.length, maxLength: this.data.maxLength, batchSize: this.batchSize, seed: this.seed,
      shuffle: this.shuffle, bucketBatches: this.bucketBatches, dropLast: this.dropLast,
    });
  }

  length(row: number): number {
    return this.data.offsets[row + 1] - this.data.offsets[row];
  }

  /** The rows of each batch of `epoch`, in order. Depends only on (seed, epoch) and the options. */
  order(epoch: number): Int32Array[] {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`epoch must be an integer >= 0, got ${epoch}`);
    if (this.cached?.epoch === epoch) return this.cached.order;
    const n = this.data.size;
    const bs = this.batchSize;
    const rand = seededRandom(epochSeed(this.seed, epoch));
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
    if (this.shuffle) shuffleInPlace(rows, rand);
    if (this.bucketBatches > 0) {
      const chunk = this.bucketBatches * bs;
      const rank = new Int32Array(n);
      for (let i = 0; i < n; i++) rank[rows[i]] = i;
      for (let start = 0; start < n; start += chunk) {
        // Stable: equal lengths keep their shuffled order.
        rows.subarray(start, Math.min(n, start + chunk)).sort((a, b) => this.length(a) - this.length(b) || rank[a] - rank[b]);
      }
    }
    let batches: Int32Array[] = [];
    for (let start = 0; start < n; start += bs) batches.push(rows.slice(start, Math.min(n, start + bs)));
    if (this.bucketBatches > 0) {
      // The smaller batch is the last chunk's last; drop it before the batches are mixed.
      if (this.dropLast && n % bs !== 0) batches.pop();
      if (this.shuffle) shuffleInPlace(batches, rand);
    } else if (this.dropLast && n % bs !== 0) {
      batches.pop();
    }
    batches = batches.slice(0, this.batchesPerEpoch);
    this.cached = { epoch, order: batches };
    return batches;
  }

  /** The padded batch of `rows`: as long as its longest row (rounded up to padToMultipleOf). */
  batch(rows: ArrayLike<number>): Batch {
    const d = this.data;
    const b = rows.length;
    let longest = 0;
    for (let k = 0; k < b; k++) longest = Math.max(longest, this.length(rows[k]));
    const seq = Math.ceil(longest / this.multiple) * this.multiple;
    const inputIds = new BigInt64Array(b * seq).fill(BigInt(d.padId));
    const attentionMask = new BigInt64Array(b * seq);
    const tokenTypeIds = this.withTypes ? new BigInt64Array(b * seq) : undefined;
    const labels = new BigInt64Array(b);
    for (let k = 0; k < b; k++) {
      const r = rows[k];
      const from = d.offsets[r];
      const len = d.offsets[r + 1] - from;
      const at = k * seq;
      for (let j = 0; j < len; j++) {
        inputIds[at + j] = BigInt(d.ids[from + j]);
        attentionMask[at + j] = d.mask ? BigInt(d.mask[from + j]) : 1n;
        if (tokenTypeIds && d.typeIds) tokenTypeIds[at + j] = BigInt(d.typeIds[from + j]);
      }
      labels[k] = BigInt(d.labels[r]);
    }
    return { inputIds, attentionMask, tokenTypeIds, labels, batch: b, seq };
  }

  /** The batches of `epoch` from `fromPosition` on (0: the whole epoch). */
  *epoch(epoch: number, fromPosition = 0): Generator<PositionedBatch> {
    const order = this.order(epoch);
    if (!Number.isSafeInteger(fromPosition) || fromPosition < 0 || fromPosition > order.length) {
      throw new Error(`batch position ${fromPosition} is outside epoch ${epoch}'s ${order.length} batches`);
    }
    for (let position = fromPosition; position < order.length; position++) {
      const rows = order[position];
      yield { epoch, position, rows, batch: this.batch(rows) };
    }
  }

  /** Real and padding tokens over an epoch's batches (padding: positions with attention mask 0). */
  paddingStats(epoch: number): { tokens: number; padTokens: number; positions: number } {
    let tokens = 0;
    let positions = 0;
    for (const rows of this.order(epoch)) {
      let longest = 0;
      for (const r of rows) {
        const len = this.length(r);
        tokens += len;
        longest = Math.max(longest, len);
      }
      positions += rows.length * Math.ceil(longest / this.multiple) * this.multiple;
    }
    return { tokens, padTokens: positions - tokens, positions };
  }
}

/** A 32-bit seed per (seed, epoch), mixed so neighbouring epochs get unrelated streams. */
function epochSeed(seed: number, epoch: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(epoch + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** Fisher-Yates with a seeded source. */
function shuffleInPlace<T>(a: { length: number; [i: number]: T }, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
