// Real inputs for a benchmark: texts from a file, tokenized with a Hugging Face tokenizer.json,
// padded or truncated to the sequence length, in batches. Token values barely change a BERT's
// latency (every position is computed, padding included), but real text is what a user ships,
// and it is what a tokenizer/model mismatch shows up on.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, TextInputError } from '../text/tokenizer';
import type { TextBatch } from './input-synthesis';

export { TextInputError };

export interface TokenizedTexts {
  textFile: string;
  tokenizerFile: string;
  /** Each text's ids with the tokenizer's special tokens ([CLS] ... [SEP]), not yet truncated. */
  ids: number[][];
  typeIds: number[][];
  padId: number;
  unkId?: number;
  specialIds: Set<number>;
  tokenizerVocab: number;
}

const TEXT_COLUMNS = ['sentence', 'text', 'sentence1', 'question', 'content'];

/**
 * The texts in a file: a .tsv/.csv-like file whose header row has a `sentence` or `text` column
 * (tab-separated, as GLUE's dev.tsv) gives that column; any other file gives one text per
 * non-empty line. At most `limit` texts are read.
 */
export function readTexts(file: string, limit = Infinity): string[] {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TextInputError(file, `cannot read the text file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = content.split(/\r?\n/);
  const header = lines[0]?.split('\t').map((h) => h.trim().toLowerCase()) ?? [];
  const column = header.length > 1 ? header.findIndex((h) => TEXT_COLUMNS.includes(h)) : -1;
  const texts: string[] = [];
  for (const line of column >= 0 ? lines.slice(1) : lines) {
    if (texts.length >= limit) break;
    const text = column >= 0 ? line.split('\t')[column] : line;
    if (text && text.trim()) texts.push(text.trim());
  }
  if (texts.length === 0) throw new TextInputError(file, 'no text found (expected one text per line, or a tab-separated file with a "sentence" or "text" column)');
  return texts;
}


/** Tokenizes the texts of `textFile` with `tokenizerFile` (and the tokenizer_config.json beside it, when present). */
export function tokenizeTexts(textFile: string, tokenizerFile: string, limit = Infinity): TokenizedTexts {
  const { tokenizer, padId, unkId, specialIds, vocabSize } = loadTokenizer(tokenizerFile);
  const texts = readTexts(textFile, limit);
  const ids: number[][] = [];
  const typeIds: number[][] = [];
  for (const text of texts) {
    const e = tokenizer.encode(text, { return_token_type_ids: true });
    ids.push(e.ids);
    typeIds.push(e.token_type_ids ?? e.ids.map(() => 0));
  }
  return {
    textFile,
    tokenizerFile,
    ids,
    typeIds,
    padId,
    unkId,
    specialIds,
    tokenizerVocab: vocabSize,
  };
}

/**
 * Fits one text to `seq` positions: truncated keeping its closing special token ([SEP]) when it
 * has one, as Hugging Face's truncation does; padded with the pad id and a mask of zeros.
 */
function fitRow(ids: number[], typeIds: number[], seq: number, t: TokenizedTexts): { ids: number[]; mask: number[]; typeIds: number[] } {
  let keptIds = ids;
  let keptTypes = typeIds;
  if (ids.length > seq) {
    const closing = t.specialIds.has(ids[ids.length - 1]) && seq > 1;
    keptIds = closing ? [...ids.slice(0, seq - 1), ids[ids.length - 1]] : ids.slice(0, seq);
    keptTypes = closing ? [...typeIds.slice(0, seq - 1), typeIds[typeIds.length - 1]] : typeIds.slice(0, seq);
  }
  const pad = seq - keptIds.length;
  return {
    ids: [...keptIds, ...new Array<number>(pad).fill(t.padId)],
    mask: [...new Array<number>(keptIds.length).fill(1), ...new Array<number>(pad).fill(0)],
    typeIds: [...keptTypes, ...new Array<number>(pad).fill(0)],
  };
}

export interface TextBatchOptions {
  batch: number;
  seq: number;
  /** Rows of the model's word-embedding table: ids at or past it are mapped (see below). */
  vocabSize?: number;
  /** Distinct batches to prepare; runs cycle through them. */
  maxBatches?: number;
}

/**
 * Batches of `batch` texts (cycling through the file), fitted to `seq`. When the tokenizer knows
 * more tokens than the model's embedding table has rows (a tokenizer that is not the model's own),
 * ids past the table are replaced by the tokenizer's [UNK] (or the table's last row when [UNK] is
 * past it too), with a warning: latency is unaffected, since an embedding lookup costs the same
 * whatever the id, but the model's outputs on such input mean nothing.
 */
export function textBatches(t: TokenizedTexts, options: TextBatchOptions): { batches: TextBatch[]; warnings: string[] } {
  const { batch, seq, vocabSize } = options;
  const count = Math.max(1, Math.min(options.maxBatches ?? 16, Math.ceil(t.ids.length / batch)));
  const warnings: string[] = [];
  let truncated = 0;
  let mapped = 0;
  let tokens = 0;
  const replacement = vocabSize === undefined ? undefined : t.unkId !== undefined && t.unkId < vocabSize ? t.unkId : vocabSize - 1;
  const batches: TextBatch[] = [];
  for (let b = 0; b < count; b++) {
    const rows = Array.from({ length: batch }, (_, r) => {
      const i = (b * batch + r) % t.ids.length;
      if (t.ids[i].length > seq) truncated++;
      const row = fitRow(t.ids[i], t.typeIds[i], seq, t);
      if (replacement !== undefined && vocabSize !== undefined) {
        row.ids = row.ids.map((id, j) => {
          if (row.mask[j]) tokens++;
          if (id < vocabSize) return id;
          mapped++;
          return replacement;
        });
      }
      return row;
    });
    batches.push({ ids: rows.map((r) => r.ids), mask: rows.map((r) => r.mask), typeIds: rows.map((r) => r.typeIds) });
  }
  if (mapped > 0) {
    warnings.push(`${path.basename(t.tokenizerFile)} knows ${t.tokenizerVocab} tokens but the model's embedding table has ${vocabSize} rows: ` +
      `${mapped} of ${tokens} token ids (${((100 * mapped) / tokens).toFixed(1)}%) were past it and were replaced by id ${replacement}` +
      `${replacement === t.unkId ? ' ([UNK])' : ''}. Timings are still valid (a lookup costs the same for any id), but this tokenizer is not the model's own: its outputs on this input mean nothing.`);
  }
  if (truncated > 0) warnings.push(`${truncated} of ${count * batch} texts were longer than ${seq} tokens and were truncated`);
  return { batches, warnings };
}
