// Labelled examples for training and evaluation, from TSV (GLUE style: a header row, tab-separated,
// no quoting), CSV (RFC 4180: a header row, commas, "quoted" fields with "" for a quote and line
// breaks allowed inside quotes) or JSONL (one JSON object per line). An example is either text
// (a text column, optionally a second text column for sentence pairs) or pre-tokenized
// (`input_ids`, with optional `attention_mask` and `token_type_ids` used as given). Labels are
// integer class ids or class names mapped to ids. A problem is a DatasetError naming the file,
// the line and what is wrong, never a crash.
import { UserError } from '../../errors';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

export type DatasetFormat = 'tsv' | 'csv' | 'jsonl';

export interface DatasetOptions {
  /** Default: from the extension (.tsv, .csv, .jsonl/.ndjson). */
  format?: DatasetFormat;
  /** The text column (option 'textColumn'). Default: 'sentence', else 'text'; none needed for pre-tokenized rows. */
  textColumn?: string;
  /** A second text column, for sentence-pair tasks (e.g. 'sentence2'). */
  textPairColumn?: string;
  /** The label column (option 'labelColumn'). Default: 'label'. */
  labelColumn?: string;
  /**
   * Fixed class names, id = index (e.g. the training set's labelNames, so a dev set maps the same
   * way). A label may then be one of these names or an integer id below their count.
   */
  labelNames?: readonly string[];
  /** Reads at most this many examples. */
  limit?: number;
  /** Rows may come without labels (distillation learns from the teacher alone): numLabels is then 0. */
  labelsOptional?: boolean;
}

export interface Example {
  /** 1-based line of the file where the row starts. */
  line: number;
  label: number;
  text?: string;
  textPair?: string;
  inputIds?: number[];
  attentionMask?: number[];
  tokenTypeIds?: number[];
}

export interface Dataset {
  file: string;
  format: DatasetFormat;
  kind: 'text' | 'tokenized';
  textColumn?: string;
  textPairColumn?: string;
  labelColumn: string;
  examples: Example[];
  /** Class names by id when labels were names (sorted, unless given); undefined when they were integer ids. */
  labelNames?: string[];
  /** Number of classes: labelNames.length, or the largest id + 1. */
  numLabels: number;
  /** Examples per label id. */
  labelCounts: number[];
  warnings: string[];
}

/** A data file that cannot be used: the message names the file and, when known, the line. */
export class DatasetError extends UserError {
  declare readonly file: string;
  constructor(file: string, line: number | undefined, problem: string) {
    super('dataset', problem, file, { line });
    this.name = 'DatasetError';
  }
}

/** Files above this are refused: they are read whole, and a JavaScript string holds at most ~512M characters. */
const MAX_FILE_BYTES = 400 * 1024 * 1024;
const DEFAULT_TEXT_COLUMNS = ['sentence', 'text'];
const TOKEN_FIELDS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

export function formatOf(file: string): DatasetFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv') return 'tsv';
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return undefined;
}

/** Reads a whole data file; see parseDataset. */
export function readDataset(file: string, options: DatasetOptions = {}): Dataset {
  const format = options.format ?? formatOf(file);
  if (!format) throw new DatasetError(file, undefined, `cannot tell the format from the extension '${path.extname(file)}': use .tsv, .csv or .jsonl, or give the format`);
  let content: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES) throw new DatasetError(file, undefined, `the file is ${size} bytes, more than the ${MAX_FILE_BYTES} this reader holds in memory`);
    content = readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    throw new DatasetError(file, undefined, `cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return parseDataset(content, file, { ...options, format });
}

/** One row before interpretation: strings from TSV/CSV cells, any JSON value from JSONL. */
interface Row {
  line: number;
  get(column: string): unknown;
}

/** Parses a data file's content; `file` is only used in messages. */
export function parseDataset(content: string, file: string, options: DatasetOptions & { format: DatasetFormat }): Dataset {
  const fail = (line: number | undefined, problem: string): never => {
    throw new DatasetError(file, line, problem);
  };
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);
  const labelColumn = options.labelColumn ?? 'label';
  const limit = options.limit ?? Infinity;

  // Rows, and the columns the first row (or the header) offers.
  let rows: Iterable<Row>;
  let columns: string[] | undefined;
  let headerLine = 0;
  if (options.format === 'jsonl') {
    rows = jsonlRows(content, fail);
  } else {
    const records = options.format === 'tsv' ? tsvRecords(content) : csvRecords(content, fail);
    const first = records.next();
    if (first.done) return fail(undefined, 'the file is empty: expected a header row naming the columns');
    const header = first.value.fields.map((h) => h.trim());
    const dup = header.find((h, i) => header.indexOf(h) !== i);
    if (dup !== undefined) fail(first.value.line, `the header names the column '${dup}' twice`);
    columns = header;
    headerLine = first.value.line;
    rows = tableRows(records, header, options.format, fail);
  }

  // Which kind of rows: explicit text column, else pre-tokenized when input_ids is there, else a default text column.
  const iterator = rows[Symbol.iterator]();
  const firstRow = iterator.next();
  if (firstRow.done) return fail(undefined, columns ? 'the file has a header but no rows' : 'the file has no rows');
  const has = (c: string) => (columns ? columns.includes(c) : firstRow.value.get(c) !== undefined);
  const available = () => (columns ?? Object.keys((firstRow.value as JsonRow).object)).map((c) => `'${c}'`).join(', ');
  const at = columns ? headerLine : firstRow.value.line;
  const where = () => (columns ? `in the header (columns: ${available()})` : `in the first row (keys: ${available()})`);
  let kind: Dataset['kind'];
  let textColumn: string | undefined;
  if (options.textColumn !== undefined) {
    if (!has(options.textColumn)) fail(at, `no text column '${options.textColumn}' ${where()}`);
    kind = 'text';
    textColumn = options.textColumn;
  } else if (has('input_ids')) {
    kind = 'tokenized';
  } else {
    textColumn = DEFAULT_TEXT_COLUMNS.find(has);
    if (textColumn === undefined) {
      return fail(at, `no text column: looked for ${DEFAULT_TEXT_COLUMNS.map((c) => `'${c}'`).join(' and ')} and 'input_ids' ${where()}; name the text column (option 'textColumn')`);
    }
    kind = 'text';
  }
  const textPairColumn = options.textPairColumn;
  if (textPairColumn !== undefined && kind === 'text' && !has(textPairColumn)) fail(at, `no text-pair column '${textPairColumn}' ${where()}`);
  const unlabeled = !has(labelColumn) && options.labelsOptional === true && options.labelColumn === undefined;
  if (!has(labelColumn) && !unlabeled) fail(at, `no label column '${labelColumn}' ${where()}; name the label column (option 'labelColumn')`);

  const labels = new LabelMapper(options.labelNames, fail);
  const examples: Example[] = [];
  let emptyTexts = 0;
  const take = (row: Row): void => {
    const ex: Example = { line: row.line, label: -1 };
    if (kind === 'text') {
      ex.text = textOf(row, textColumn as string, fail);
      if (ex.text.trim() === '') emptyTexts++;
      if (textPairColumn !== undefined) ex.textPair = textOf(row, textPairColumn, fail);
    } else {
      const ids = tokenField(row, 'input_ids', options.format, fail);
      if (ids === undefined) return fail(row.line, "missing 'input_ids' (the file's first row is pre-tokenized, so every row must be)");
      if (ids.length === 0) fail(row.line, "'input_ids' is empty");
      ex.inputIds = ids;
      for (const field of TOKEN_FIELDS.slice(1)) {
        const v = tokenField(row, field, options.format, fail);
        if (v === undefined) continue;
        if (v.length !== ids.length) fail(row.line, `ragged row: 'input_ids' has ${ids.length} ids but '${field}' has ${v.length} values`);
        if (field === 'attention_mask') {
          if (v.some((x) => x > 1)) fail(row.line, "'attention_mask' values must be 0 or 1");
          ex.attentionMask = v;
        } else {
          ex.tokenTypeIds = v;
        }
      }
    }
    ex.label = unlabeled ? 0 : labels.raw(row.line, row.get(labelColumn), labelColumn);
    examples.push(ex);
  };
  take(firstRow.value);
  for (let r = iterator.next(); !r.done && examples.length < limit; r = iterator.next()) take(r.value);

  const { labelNames, numLabels } = unlabeled ? { labelNames: undefined, numLabels: 0 } : labels.finish(examples);
  const labelCounts = new Array<number>(numLabels).fill(0);
  if (!unlabeled) for (const ex of examples) labelCounts[ex.label]++;
  const warnings: string[] = [];
  if (emptyTexts > 0) warnings.push(`${emptyTexts} row${emptyTexts === 1 ? ' has' : 's have'} an empty text`);
  const unseen = labelCounts.flatMap((n, id) => (n === 0 ? [labelNames ? `${id} (${labelNames[id]})` : String(id)] : []));
  if (unseen.length > 0) warnings.push(`no examples of label${unseen.length === 1 ? '' : 's'} ${unseen.slice(0, 10).join(', ')}${unseen.length > 10 ? ', ...' : ''}`);
  return {
    file,
    format: options.format,
    kind,
    textColumn,
    textPairColumn: kind === 'text' ? textPairColumn : undefined,
    labelColumn,
    examples,
    labelNames,
    numLabels,
    labelCounts,
    warnings,
  };
}

/** "label ids: 0=negative, 1=positive" or "label ids: 0..1 (integers in the file)": for logs and reports. */
export function describeLabels(ds: Pick<Dataset, 'labelNames' | 'numLabels' | 'labelCounts'>): string {
  const counts = (id: number) => ` (${ds.labelCounts[id] ?? 0})`;
  if (ds.labelNames) return `label ids: ${ds.labelNames.map((n, i) => `${i}=${JSON.stringify(n)}${counts(i)}`).join(', ')}`;
  return `label ids: ${Array.from({ length: ds.numLabels }, (_, i) => `${i}${counts(i)}`).join(', ')} (integers in the file)`;
}

// ---- labels -------------------------------------------------------------------------------

/**
 * Labels are all integer ids or all class names: a mix (say "positive" among 0s and 1s) is far
 * more likely a broken row than a new class, so it is an error naming both lines.
 */
class LabelMapper {
  private mode: { kind: 'int' | 'name'; line: number; sample: string } | undefined;
  private readonly given?: Map<string, number>;
  private readonly names = new Set<string>();
  /** For name mode without given names: a name per example, resolved in finish(). */
  private readonly pending: string[] = [];

  constructor(private readonly labelNames: readonly string[] | undefined, private readonly fail: (line: number | undefined, problem: string) => never) {
    if (labelNames) {
      if (labelNames.length === 0) fail(undefined, 'the given label names are empty');
      this.given = new Map(labelNames.map((n, i) => [n, i]));
    }
  }

  /** The label's id, or (names without given names) a placeholder fixed by finish(). */
  raw(line: number, value: unknown, column: string): number {
    const fail = (why: string) => this.fail(line, why);
    let text: string;
    let int: number | undefined;
    if (value === undefined) return fail(`missing label '${column}'`);
    if (typeof value === 'number') {
      if (!Number.isInteger(value)) fail(`bad label ${value}: a label must be an integer class id or a class name`);
      text = String(value);
      int = value;
    } else if (typeof value === 'string') {
      text = value.trim();
      if (text === '') fail(`empty label in column '${column}'`);
      if (/^[+-]?\d+$/.test(text)) int = Number(text);
    } else {
      return fail(`bad label ${preview(value)}: a label must be an integer class id or a class name`);
    }
    if (int !== undefined && (int < 0 || !Number.isSafeInteger(int))) fail(`bad label ${text}: class ids must be integers >= 0`);

    if (this.given) {
      const id = this.given.get(text);
      if (id !== undefined) return id;
      if (int !== undefined && int < this.given.size) return int;
      return fail(`bad label ${JSON.stringify(text)}: not one of the label names ${[...this.given.keys()].map((n) => JSON.stringify(n)).join(', ')}${int !== undefined ? ` nor an id below ${this.given.size}` : ''}`);
    }
    const kind = int !== undefined ? 'int' : 'name';
    if (!this.mode) this.mode = { kind, line, sample: text };
    else if (this.mode.kind !== kind) {
      fail(kind === 'name'
        ? `bad label ${JSON.stringify(text)}: not an integer, but the labels before it are integer ids (line ${this.mode.line} has ${this.mode.sample})`
        : `bad label ${text}: an integer, but the labels before it are class names (line ${this.mode.line} has ${JSON.stringify(this.mode.sample)})`);
    }
    if (kind === 'int') return int as number;
    this.names.add(text);
    this.pending.push(text);
    return -1;
  }

  finish(examples: Example[]): { labelNames?: string[]; numLabels: number } {
    if (this.labelNames) return { labelNames: [...this.labelNames], numLabels: this.labelNames.length };
    if (this.mode?.kind === 'name') {
      const names = [...this.names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const ids = new Map(names.map((n, i) => [n, i]));
      examples.forEach((ex, i) => (ex.label = ids.get(this.pending[i]) as number));
      return { labelNames: names, numLabels: names.length };
    }
    let max = -1;
    for (const ex of examples) if (ex.label > max) max = ex.label;
    return { numLabels: max + 1 };
  }
}

// ---- fields -------------------------------------------------------------------------------

function textOf(row: Row, column: string, fail: (line: number, problem: string) => never): string {
  const v = row.get(column);
  if (v === undefined || v === null) return fail(row.line, `missing text '${column}'`);
  if (typeof v !== 'string') return fail(row.line, `text '${column}' must be a string, found ${preview(v)}`);
  return v;
}

/** A list of non-negative integers: a JSON array (JSONL, or a CSV/TSV cell holding one) or space-separated integers in a cell. */
function tokenField(row: Row, field: string, format: DatasetFormat, fail: (line: number, problem: string) => never): number[] | undefined {
  let v = row.get(field);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && format !== 'jsonl') {
    const s = v.trim();
    if (s.startsWith('[')) {
      try {
        v = JSON.parse(s);
      } catch {
        return fail(row.line, `'${field}' is not a valid JSON list: ${preview(s)}`);
      }
    } else {
      v = s === '' ? [] : s.split(/[\s,]+/).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    }
  }
  if (!Array.isArray(v)) return fail(row.line, `'${field}' must be a list of integers, found ${preview(v)}`);
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isSafeInteger(x) || (x as number) < 0) fail(row.line, `'${field}'[${i}] is ${preview(x)}: expected an integer >= 0`);
  }
  return v as number[];
}

function preview(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// ---- formats ------------------------------------------------------------------------------

interface JsonRow extends Row {
  object: Record<string, unknown>;
}

function* jsonlRows(content: string, fail: (line: number, problem: string) => never): Generator<JsonRow> {
  let line = 0;
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf('\n', start);
    if (end < 0) end = content.length;
    line++;
    const text = content.slice(start, end).trim();
    start = end + 1;
    if (text === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const truncated = !/[}\]]$/.test(text) ? ' (the line looks truncated)' : '';
      return fail(line, `not valid JSON${truncated}: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail(line, `each line must be a JSON object, found ${Array.isArray(value) ? 'an array' : preview(value)}`);
    }
    const object = value as Record<string, unknown>;
    yield { line, object, get: (c) => (Object.prototype.hasOwnProperty.call(object, c) ? object[c] : undefined) };
  }
}

interface TableRecord {
  line: number;
  fields: string[];
}

/** GLUE-style TSV: one record per line, no quoting (quotes are ordinary characters). Blank lines are skipped. */
function* tsvRecords(content: string): Generator<TableRecord> {
  let line = 0;
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf('\n', start);
    if (end < 0) end = content.length;
    line++;
    let text = content.slice(start, end);
    start = end + 1;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') continue;
    yield { line, fields: text.split('\t') };
  }
}

/** RFC 4180 CSV: quoted fields may hold commas, line breaks and "" (a quote). Blank lines are skipped. */
function* csvRecords(content: string, fail: (line: number, problem: string) => never): Generator<TableRecord> {
  const n = content.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const recordLine = line;
    const fields: string[] = [];
    let blank = true;
    for (;;) {
      // One field, starting at i.
      let value = '';
      if (content.charCodeAt(i) === 0x22 /* " */) {
        const quoteLine = line;
        i++;
        let closed = false;
        let from = i;
        while (i < n) {
          const c = content.charCodeAt(i);
          if (c === 0x22) {
            value += content.slice(from, i);
            if (content.charCodeAt(i + 1) === 0x22) {
              value += '"';
              i += 2;
              from = i;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === 0x0a) line++;
          i++;
        }
        if (!closed) fail(quoteLine, 'a quoted field is never closed (a missing " or a truncated file)');
        const c = content.charCodeAt(i);
        if (i < n && c !== 0x2c && c !== 0x0a && c !== 0x0d) {
          fail(line, `unexpected ${JSON.stringify(content[i])} after a closing quote (a quote inside a quoted field must be doubled: "")`);
        }
        blank = false;
      } else {
        const from = i;
        while (i < n) {
          const c = content.charCodeAt(i);
          if (c === 0x2c || c === 0x0a || (c === 0x0d && content.charCodeAt(i + 1) === 0x0a)) break;
          i++;
        }
        value = content.slice(from, i);
        if (value !== '') blank = false;
      }
      fields.push(value);
      const c = content.charCodeAt(i);
      if (c === 0x2c) {
        blank = false;
        i++;
        continue;
      }
      // End of record: \r\n, \n, a lone \r after a quoted field, or end of input.
      if (c === 0x0d) i++;
      if (content.charCodeAt(i) === 0x0a) i++;
      line++;
      break;
    }
    if (!blank) yield { line: recordLine, fields };
  }
}

function* tableRows(records: Generator<TableRecord>, header: string[], format: 'tsv' | 'csv', fail: (line: number, problem: string) => never): Generator<Row> {
  const index = new Map(header.map((h, i) => [h, i]));
  const sep = format === 'tsv' ? 'tab-separated' : 'comma-separated';
  for (const r of records) {
    if (r.fields.length !== header.length) {
      const missing = header.slice(r.fields.length).map((h) => `'${h}'`);
      fail(r.line, `the row has ${r.fields.length} ${sep} field${r.fields.length === 1 ? '' : 's'} but the header has ${header.length}` +
        (missing.length > 0 ? ` (missing ${missing.join(', ')})` : format === 'tsv' ? ' (a tab inside a text?)' : ' (an unquoted comma inside a text?)'));
    }
    const fields = r.fields;
    yield { line: r.line, get: (c) => { const k = index.get(c); return k === undefined ? undefined : fields[k]; } };
  }
}
