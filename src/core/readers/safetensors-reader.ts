import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DType, ModelFile, ModelReader, ReadOptions, TensorInfo } from '../model';
import { ModelReadError } from '../model';
import { RandomAccessFile, lfsPointerProblem, withFile } from '../io/random-access-file';

/*
 * safetensors: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header, then the byte
 * buffer. Only the header is read. The file is untrusted, so the header is checked the way the
 * reference implementation (huggingface/safetensors, Metadata::validate) checks it: a bounded
 * length, known dtypes, shape x dtype size == byte span, and spans that tile the buffer exactly
 * (no holes, no overlaps, ending at end of file). A file that passes here can be sliced safely.
 */

/** The reference implementation's MAX_HEADER_SIZE: a longer header is refused, never allocated. */
const DEFAULT_MAX_HEADER_BYTES = 100_000_000;

const INDEX_SUFFIX = '.safetensors.index.json';

/**
 * Safetensors dtype names. `bits` is kept separately from DType because the byte-length check
 * must work even for dtypes we cannot decode (shown as 'unknown', whose DTYPE_BITS is 0).
 * A Map, not an object literal, so names like "constructor" cannot match a prototype key.
 */
const DTYPES = new Map<string, { dtype: DType; bits: number }>([
  ['F64', { dtype: 'float64', bits: 64 }],
  ['F32', { dtype: 'float32', bits: 32 }],
  ['F16', { dtype: 'float16', bits: 16 }],
  ['BF16', { dtype: 'bfloat16', bits: 16 }],
  ['I64', { dtype: 'int64', bits: 64 }],
  ['I32', { dtype: 'int32', bits: 32 }],
  ['I16', { dtype: 'int16', bits: 16 }],
  ['I8', { dtype: 'int8', bits: 8 }],
  ['U64', { dtype: 'uint64', bits: 64 }],
  ['U32', { dtype: 'uint32', bits: 32 }],
  ['U16', { dtype: 'uint16', bits: 16 }],
  ['U8', { dtype: 'uint8', bits: 8 }],
  ['BOOL', { dtype: 'bool', bits: 8 }],
  ['F8_E4M3', { dtype: 'float8e4m3fn', bits: 8 }],
  ['F8_E5M2', { dtype: 'float8e5m2', bits: 8 }],
  ['C64', { dtype: 'complex64', bits: 64 }],
  // Newer microscaling types (safetensors >= 0.6). Their sizes are known, so files holding them
  // are still validated, but nothing downstream decodes them; their packing is not pinned down
  // against our float4e2m1 decoder, so they are 'unknown' (with a warning) rather than guessed.
  ['F8_E8M0', { dtype: 'unknown', bits: 8 }],
  ['F6_E2M3', { dtype: 'unknown', bits: 6 }],
  ['F6_E3M2', { dtype: 'unknown', bits: 6 }],
  ['F4', { dtype: 'unknown', bits: 4 }],
]);

export const safetensorsReader: ModelReader = {
  format: 'safetensors',
  accepts(file: string, head: Buffer): boolean {
    const lower = file.toLowerCase();
    if (lower.endsWith('.safetensors') || lower.endsWith(INDEX_SUFFIX)) return true;
    // Renamed files: a plausible header length followed by the JSON object's '{'.
    if (head.length < 9) return false;
    const n = head.readBigUInt64LE(0);
    return n >= 2n && n <= BigInt(DEFAULT_MAX_HEADER_BYTES) && head[8] === 0x7b;
  },
  async read(file: string, options?: ReadOptions): Promise<ModelFile> {
    const abs = path.resolve(file);
    const limit = options?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
    return abs.toLowerCase().endsWith(INDEX_SUFFIX) ? readIndex(abs, limit) : readSingle(abs, limit);
  },
};

/** One tensor entry of a header, validated; offsets are relative to the byte buffer. */
interface Entry {
  name: string;
  stDtype: string;
  dtype: DType;
  shape: number[];
  elements: number;
  begin: number;
  end: number;
}

interface Header {
  size: number;
  /** N: the data buffer starts at 8 + N. */
  headerLength: number;
  metadata: Record<string, string>;
  /** Sorted by data offset, i.e. in file order. */
  entries: Entry[];
}

async function readSingle(file: string, limit: number): Promise<ModelFile> {
  const header = await withFile(file, (f) => readHeader(f, limit));
  const tensors = header.entries.map((e) => toTensorInfo(e, file, header.headerLength));
  const warnings = dtypeWarnings(header.entries);
  if (tensors.length === 0) warnings.push('the file holds no tensors');
  return {
    path: file,
    weightsPath: file,
    format: 'safetensors',
    files: [{ path: file, bytes: header.size }],
    tensors,
    metadata: header.metadata,
    warnings,
  };
}

/** Reads and validates the header of an open safetensors file, touching only its first 8 + N bytes. */
async function readHeader(f: RandomAccessFile, maxHeaderBytes: number): Promise<Header> {
  const file = f.path;
  if (f.size === 0) throw new ModelReadError(file, 'empty file (0 bytes): not a safetensors file');
  const head = await f.read(0, Math.min(f.size, 64), 'file start');
  const lfs = lfsPointerProblem(head);
  if (lfs) throw new ModelReadError(file, lfs);
  if (f.size < 8) {
    throw new ModelReadError(file, (await lookalike(f, head))
      ?? `file is only ${f.size} bytes: a safetensors file starts with an 8-byte header length`);
  }
  // BigInt: a u64 above 2^53 must be compared exactly, not rounded into a plausible number.
  const n = head.readBigUInt64LE(0);
  if (n > BigInt(f.size - 8)) {
    throw new ModelReadError(file, (await lookalike(f, head))
      ?? `header length ${n} is larger than the file (${f.size} bytes): the file is truncated or not safetensors`);
  }
  if (n > BigInt(maxHeaderBytes)) {
    throw new ModelReadError(file, `header length ${n} exceeds the limit of ${maxHeaderBytes} bytes for a safetensors header`);
  }
  const headerLength = Number(n);
  if (headerLength < 2) throw new ModelReadError(file, `header length ${headerLength} is too small to hold a JSON object`);

  const bytes = await f.read(8, headerLength, 'header');
  let text: string;
  try {
    // fatal: invalid UTF-8 is an error, as in the reference; ignoreBOM keeps a BOM so JSON.parse refuses it too.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new ModelReadError(file, 'header is not valid UTF-8');
  }
  // Leading or trailing spaces (writers pad the header to 8-byte alignment) are fine for JSON.parse.
  const json = parseJsonObject(file, text, 'header');

  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') metadata = checkMetadata(file, value);
    else entries.push(checkEntry(file, name, value));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end || (a.name < b.name ? -1 : 1));
  checkLayout(file, entries, f.size - 8 - headerLength);
  return { size: f.size, headerLength, metadata, entries };
}

/** For a file whose first bytes make no sense as safetensors: say what it looks like instead. */
async function lookalike(f: RandomAccessFile, head: Buffer): Promise<string | undefined> {
  const first = head.toString('latin1').trimStart()[0];
  if (first === '{' || first === '[') {
    const tail = await f.read(Math.max(0, f.size - 64), Math.min(f.size, 64), 'file end');
    const last = tail.toString('latin1').trimEnd().slice(-1);
    if (last === '}' || last === ']') {
      return 'this looks like a JSON file, not safetensors (a safetensors file starts with an 8-byte header length)';
    }
  }
  if (first === '<') return 'this looks like an HTML or XML page, not safetensors (a failed download?)';
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1'))) {
    return 'this is a zip archive (a PyTorch checkpoint?), not safetensors';
  }
  return undefined;
}

function parseJsonObject(file: string, text: string, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelReadError(file, `${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPlainObject(json)) {
    throw new ModelReadError(file, `${what} must be a JSON object, found ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json}`);
  }
  // JSON.parse silently keeps the last of duplicate keys; another reader might keep the first and
  // see a different tensor. Refuse the ambiguity.
  const dup = findDuplicateKey(text);
  if (dup !== undefined) throw new ModelReadError(file, `${what} has the key ${quote(dup)} twice`);
  return json;
}

function checkMetadata(file: string, value: unknown): Record<string, string> {
  if (!isPlainObject(value)) throw new ModelReadError(file, '__metadata__ must be a JSON object of strings');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new ModelReadError(file, `__metadata__ must map strings to strings, but ${quote(k)} is ${describe(v)}`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key stays an ordinary key.
  return Object.fromEntries(Object.entries(value as Record<string, string>));
}

function checkEntry(file: string, name: string, value: unknown): Entry {
  const bad = (why: string): never => {
    throw new ModelReadError(file, `tensor ${quote(name)}: ${why}`);
  };
  if (!isPlainObject(value)) return bad('entry must be an object with dtype, shape and data_offsets');
  const { dtype: stDtype, shape, data_offsets: offsets } = value;
  if (typeof stDtype !== 'string') return bad(`dtype must be a string, found ${describe(stDtype)}`);
  const type = DTYPES.get(stDtype);
  if (!type) return bad(`unknown dtype ${JSON.stringify(stDtype).slice(0, 40)} (known: ${[...DTYPES.keys()].join(', ')})`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return bad(`shape must be a list of non-negative integers, found ${preview(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return bad(`data_offsets must be [begin, end] with non-negative integers, found ${preview(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) return bad(`data_offsets [${begin}, ${end}] begin after they end`);
  // BigInt so a shape like [2^40, 2^40] cannot overflow into a false match.
  const elements = (shape as number[]).reduce((p, d) => p * BigInt(d), 1n);
  const bits = elements * BigInt(type.bits);
  if (bits % 8n !== 0n) return bad(`${elements} elements of ${stDtype} do not fill a whole number of bytes`);
  if (bits / 8n !== BigInt(end - begin)) {
    return bad(`shape [${shape.join(', ')}] of ${stDtype} needs ${bits / 8n} bytes, but data_offsets [${begin}, ${end}] span ${end - begin}`);
  }
  return { name, stDtype, dtype: type.dtype, shape: shape as number[], elements: Number(elements), begin, end };
}

/** The spans, in offset order, must tile [0, dataSize) exactly: the format allows no holes and no overlaps. */
function checkLayout(file: string, entries: Entry[], dataSize: number): void {
  const fail = (why: string): never => {
    throw new ModelReadError(file, why);
  };
  let expected = 0;
  let prev: Entry | undefined;
  for (const e of entries) {
    if (e.begin < expected && prev) {
      fail(`tensors ${quote(prev.name)} and ${quote(e.name)} overlap (${span(prev)} and ${span(e)})`);
    }
    if (e.begin > expected) {
      fail(prev
        ? `hole between tensors ${quote(prev.name)} (ends at ${expected}) and ${quote(e.name)} (begins at ${e.begin}): ${e.begin - expected} bytes belong to no tensor`
        : `hole before the first tensor ${quote(e.name)}: it begins at ${e.begin}, not 0`);
    }
    if (e.end > dataSize) fail(`data of ${quote(e.name)} ends at ${e.end} but the file's data section is ${dataSize} bytes`);
    expected = e.end;
    prev = e;
  }
  if (expected < dataSize) {
    fail(prev
      ? `the file's data section is ${dataSize} bytes but the last tensor ${quote(prev.name)} ends at ${expected}: ${dataSize - expected} trailing bytes belong to no tensor`
      : `the header lists no tensors but the file's data section is ${dataSize} bytes`);
  }
}

function toTensorInfo(e: Entry, file: string, headerLength: number): TensorInfo {
  return {
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    elements: e.elements,
    byteLength: e.end - e.begin,
    origin: 'safetensors',
    data: { kind: 'raw', file, offset: 8 + headerLength + e.begin, length: e.end - e.begin },
  };
}

function dtypeWarnings(entries: Entry[]): string[] {
  const counts = new Map<string, number>();
  for (const e of entries) if (e.dtype === 'unknown') counts.set(e.stDtype, (counts.get(e.stDtype) ?? 0) + 1);
  return [...counts].map(([d, n]) => `${n} tensor${n === 1 ? '' : 's'} of dtype ${d}, which this tool cannot decode: shown as 'unknown'`);
}

// ---- Sharded models: model.safetensors.index.json ----------------------------------------

/**
 * {"metadata": {...}, "weight_map": {tensor: shardFileName}}. Every shard is read (header only);
 * shard names come from an untrusted file, so each must be a plain name of a file in the index's
 * own folder, also after following symbolic links.
 */
async function readIndex(indexPath: string, limit: number): Promise<ModelFile> {
  const { size, text } = await withFile(indexPath, async (f) => {
    if (f.size === 0) throw new ModelReadError(indexPath, 'empty file (0 bytes): not a safetensors index');
    if (f.size > limit) throw new ModelReadError(indexPath, `index file is ${f.size} bytes, more than the limit of ${limit}`);
    const buf = await f.read(0, f.size, 'index');
    const lfs = lfsPointerProblem(buf);
    if (lfs) throw new ModelReadError(indexPath, lfs);
    return { size: f.size, text: buf.toString('utf8').replace(/^\uFEFF/, '') };
  });
  const json = parseJsonObject(indexPath, text, 'index file');
  const { weight_map: weightMap, metadata: indexMeta } = json;
  if (!isPlainObject(weightMap)) throw new ModelReadError(indexPath, `"weight_map" must be a JSON object of tensor name to shard file, found ${describe(weightMap)}`);
  if (indexMeta !== undefined && !isPlainObject(indexMeta)) throw new ModelReadError(indexPath, `"metadata" must be a JSON object, found ${describe(indexMeta)}`);

  // Group tensors by shard, keeping each shard's first tensor to name in errors.
  const byShard = new Map<string, string[]>();
  const shardOf = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string') throw new ModelReadError(indexPath, `weight_map entry for ${quote(tensor)} must be a file name, found ${describe(shard)}`);
    shardOf.set(tensor, shard);
    const list = byShard.get(shard);
    if (list) list.push(tensor);
    else byShard.set(shard, [tensor]);
  }
  if (byShard.size === 0) throw new ModelReadError(indexPath, 'weight_map lists no tensors');

  const folder = path.dirname(indexPath);
  const realFolder = await fs.realpath(folder);
  const files: ModelFile['files'] = [{ path: indexPath, bytes: size }];
  const tensors: TensorInfo[] = [];
  const entries: Entry[] = [];
  const shardMeta = new Map<string, string>();
  const unmapped: string[] = [];
  const misplaced: string[] = [];
  // One shard at a time: bounded open files, and errors reported in a stable order.
  for (const shard of [...byShard.keys()].sort()) {
    const listed = byShard.get(shard)!;
    const shardPath = await resolveShard(indexPath, realFolder, shard, listed[0]);
    const header = await withFile(shardPath, (f) => readHeader(f, limit));
    files.push({ path: shardPath, bytes: header.size });
    for (const [k, v] of Object.entries(header.metadata)) shardMeta.set(k, v);
    const present = new Set<string>();
    for (const e of header.entries) {
      present.add(e.name);
      const mapped = shardOf.get(e.name);
      if (mapped !== undefined && mapped !== shard) {
        misplaced.push(`${quote(e.name)} (in ${shard}, but the index says ${mapped})`);
        continue; // the copy the index points to is the one loaders use
      }
      if (mapped === undefined) unmapped.push(`${quote(e.name)} (in ${shard})`);
      entries.push(e);
      tensors.push(toTensorInfo(e, shardPath, header.headerLength));
    }
    const missing = listed.filter((t) => !present.has(t));
    if (missing.length > 0) {
      throw new ModelReadError(indexPath, `weight_map puts ${missing.length} tensor${missing.length === 1 ? '' : 's'} in ${shard} that it does not hold: ${missing.slice(0, 5).map(quote).join(', ')}${missing.length > 5 ? ', ...' : ''}`);
    }
  }

  const warnings = dtypeWarnings(entries);
  if (unmapped.length > 0) warnings.push(`${unmapped.length} tensor${unmapped.length === 1 ? ' is' : 's are'} in shards but not in the index's weight_map (included anyway): ${list(unmapped)}`);
  if (misplaced.length > 0) warnings.push(`${misplaced.length} tensor${misplaced.length === 1 ? ' is' : 's are'} also stored in a shard the index does not point to (ignored): ${list(misplaced)}`);
  // Index metadata (e.g. total_size) is not restricted to strings: show its values as text. It
  // overrides the shards' __metadata__. (fromEntries, not assignment, so "__proto__" stays a key.)
  for (const [k, v] of Object.entries(indexMeta ?? {})) shardMeta.set(k, typeof v === 'string' ? v : JSON.stringify(v));
  const meta = Object.fromEntries(shardMeta);
  return { path: indexPath, weightsPath: indexPath, format: 'safetensors', files, tensors, metadata: meta, warnings };
}

/** A shard must be a plain file name whose real path is directly in the index's (real) folder. */
async function resolveShard(indexPath: string, realFolder: string, shard: string, firstTensor: string): Promise<string> {
  const bad = (why: string): never => {
    throw new ModelReadError(indexPath, `weight_map entry for ${quote(firstTensor)} names shard ${JSON.stringify(shard)}, which ${why}`);
  };
  if (shard === '' || shard.includes('\0')) bad('is not a valid file name');
  if (path.isAbsolute(shard) || path.win32.isAbsolute(shard)) bad('is an absolute path; shards must be in the same folder as the index');
  if (/[\\/]/.test(shard) || shard === '.' || shard === '..') bad("is not a plain file name ('..' and path separators are not allowed); shards must be in the same folder as the index");
  let real: string;
  try {
    real = await fs.realpath(path.join(path.dirname(indexPath), shard));
  } catch (e) {
    return bad(`cannot be found beside the index (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (path.dirname(real) !== realFolder) bad(`is a link to ${real}, outside the index's folder`);
  // The resolved path is what gets opened now and by later tensor loads, so the link is not re-followed.
  return real;
}

// ---- helpers ----------------------------------------------------------------------------

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function span(e: Entry): string {
  return `${e.begin}..${e.end}`;
}

/** Names come from the file: quote them, and keep absurdly long ones from flooding a message. */
function quote(name: string): string {
  return `'${name.length > 120 ? `${name.slice(0, 117)}...` : name}'`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `the ${typeof v} ${preview(v)}`;
}

function preview(v: unknown): string {
  const s = shallowJson(v, 0);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * JSON text of a header value, cut off a few levels and items in. JSON.stringify recurses, so a
 * header nesting a shape 20000 arrays deep (valid JSON, parsed without trouble) would overflow
 * the stack while the error message about it was being written.
 */
function shallowJson(v: unknown, depth: number): string {
  if (Array.isArray(v)) {
    if (depth >= 3) return v.length ? '[...]' : '[]';
    return `[${v.slice(0, 8).map((x) => shallowJson(x, depth + 1)).join(',')}${v.length > 8 ? ',...' : ''}]`;
  }
  if (typeof v === 'object' && v !== null) return Object.keys(v).length ? '{...}' : '{}';
  return JSON.stringify(v) ?? String(v);
}

function list(items: string[]): string {
  return items.slice(0, 5).join(', ') + (items.length > 5 ? `, ... (${items.length - 5} more)` : '');
}

/**
 * The first key that appears twice in one object of `text` (already known to be valid JSON), in
 * a single pass: strings are skipped whole, and a string followed by ':' is a key.
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: Array<Set<string> | null> = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) stack.push(new Set());
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x22 /* " */) {
      // Jump to the closing quote: the next '"' not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        let slashes = 0;
        while (text.charCodeAt(j - 1 - slashes) === 0x5c /* \ */) slashes++;
        if (slashes % 2 === 0) break;
      }
      let k = j + 1;
      while (isJsonSpace(text.charCodeAt(k))) k++;
      const keys = stack[stack.length - 1];
      if (text.charCodeAt(k) === 0x3a /* : */ && keys) {
        const raw = text.slice(i + 1, j);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = j;
    }
  }
  return undefined;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
