import { UserError } from '../errors';
import type { DType } from '../model';
import { encodeNode } from './onnx-writer';
import { attr, type NodeSpec } from './model-spec';
import { dtypeFromOnnx } from './onnx-types';
import { MemorySource, ProtoReader, WIRE_LEN } from './proto-source';
import { ProtoWriter } from './proto-writer';

/**
 * Upgrades an ONNX model whose default-domain (ai.onnx) opset is below 7 to opset 7, the way
 * ONNX's version_converter does (onnx/version_converter/convert.h), step by step through each
 * operator's versions. onnxruntime no longer has kernels for several pre-7 operator versions
 * (Add-6, Gemm-6, PRelu-6, BatchNormalization-6, AveragePool-1, Pow-1...), so such models only run
 * once upgraded.
 *
 * It works on the protobuf wire format: a message is split into its field records, only the
 * records that change are re-encoded, and every other record (initializers, doc strings, unknown
 * fields...) is copied byte-for-byte. Operators whose semantics changed in a way this upgrader does
 * not adapt are refused with an error naming the operator and the file, never silently passed on.
 */

export const TARGET_OPSET = 7;

export interface UpgradeResult {
  bytes: Uint8Array;
  /** Human-readable lines, one per change made; empty when the model was returned unchanged. */
  changes: string[];
}

/**
 * Since-versions up to 7 of every ai.onnx operator that has more than one version in opsets 1..7
 * (onnx/defs/operator_sets.h). Operators not listed here have one version from opset 1 through 7,
 * or first appear at 7, so they need no adapting.
 */
const HISTORY: Record<string, number[]> = {
  Abs: [1, 6], Add: [1, 6, 7], And: [1, 7], AveragePool: [1, 7], BatchNormalization: [1, 6, 7],
  Cast: [1, 6], Ceil: [1, 6], Clip: [1, 6], Concat: [1, 4], Div: [1, 6, 7], Dropout: [1, 6, 7],
  Elu: [1, 6], Equal: [1, 7], Exp: [1, 6], Floor: [1, 6], Gemm: [1, 6, 7], GlobalLpPool: [1, 2],
  Greater: [1, 7], GRU: [1, 3, 7], HardSigmoid: [1, 6], InstanceNormalization: [1, 6],
  LeakyRelu: [1, 6], Less: [1, 7], Log: [1, 6], LpPool: [1, 2], LSTM: [1, 7], Max: [1, 6],
  Mean: [1, 6], Min: [1, 6], Mul: [1, 6, 7], Neg: [1, 6], Or: [1, 7], Pad: [1, 2], Pow: [1, 7],
  PRelu: [1, 6, 7], Reciprocal: [1, 6], Relu: [1, 6], Reshape: [1, 5], RNN: [1, 7], Selu: [1, 6],
  Sigmoid: [1, 6], Split: [1, 2], Sqrt: [1, 6], Sub: [1, 6, 7], Sum: [1, 6], Tanh: [1, 6],
  Tile: [1, 6], Upsample: [1, 7], Xor: [1, 7],
};

/** Ops whose step to version 6 only dropped the `consumed_inputs` attribute (convert.h, 5 -> 6). */
const CONSUMED_INPUTS_ONLY = new Set([
  'Abs', 'Add', 'BatchNormalization', 'Ceil', 'Clip', 'Div', 'Dropout', 'Elu', 'Exp', 'Floor',
  'HardSigmoid', 'InstanceNormalization', 'LeakyRelu', 'Log', 'Max', 'Mean', 'Min', 'Mul', 'Neg',
  'PRelu', 'Reciprocal', 'Relu', 'Selu', 'Sigmoid', 'Sqrt', 'Sub', 'Sum', 'Tanh',
]);

/** Binary ops whose legacy `broadcast`/`axis` became numpy broadcasting at 7. */
const BROADCAST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow']);
/** Logical/comparison ops that also moved to numpy broadcasting at 7; adapted only without legacy broadcasting. */
const LOGICAL_OPS = new Set(['And', 'Or', 'Xor', 'Equal', 'Greater', 'Less']);

// ---------------------------------------------------------------------------------------------
// Generic wire-level records

/** One field of a message as stored: the whole record (tag included) and its payload. */
export interface WireRecord {
  field: number;
  wire: number;
  /** The record's bytes exactly as in the input: tag, length (for LEN) and payload. */
  raw: Uint8Array;
  /** LEN: the content; VARINT: the varint bytes; I32/I64: the fixed bytes. */
  payload: Uint8Array;
  /** Set when the record was changed: the new LEN content, re-encoded with a fresh tag and length. */
  replaced?: Uint8Array;
}

/** Splits a message into its field records (no copies: views into `bytes`). */
export function decodeRecords(bytes: Uint8Array, name: string): WireRecord[] {
  const r = new ProtoReader(new MemorySource(name, bytes), 0, bytes.length);
  const out: WireRecord[] = [];
  while (!r.done()) {
    const start = r.pos;
    const { field, wire } = r.tag();
    let payloadStart: number;
    if (wire === WIRE_LEN) {
      const n = r.length();
      payloadStart = r.pos;
      r.advance(n);
    } else {
      payloadStart = r.pos;
      r.skip(wire);
    }
    out.push({ field, wire, raw: bytes.subarray(start, r.pos), payload: bytes.subarray(payloadStart, r.pos) });
  }
  return out;
}

/** Re-encodes records: unchanged ones byte-for-byte, replaced ones with a new tag and length. */
export function encodeRecords(recs: readonly WireRecord[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const rec of recs) {
    if (rec.replaced) parts.push(new ProtoWriter().bytes(rec.field, rec.replaced).finish());
    else parts.push(rec.raw);
  }
  return Buffer.concat(parts);
}

function lenRecord(field: number, content: Uint8Array): WireRecord {
  return { field, wire: WIRE_LEN, raw: new Uint8Array(0), payload: content, replaced: content };
}

function content(rec: WireRecord): Uint8Array {
  return rec.replaced ?? rec.payload;
}

function utf8(rec: WireRecord): string {
  return Buffer.from(content(rec)).toString('utf8');
}

function reader(bytes: Uint8Array, name: string): ProtoReader {
  return new ProtoReader(new MemorySource(name, bytes), 0, bytes.length);
}

function varintOf(rec: WireRecord, name: string): number {
  return reader(rec.payload, name).int64();
}

// ---------------------------------------------------------------------------------------------
// Shapes known in a graph scope

/** A value's shape as far as the model says: dims (numbers or symbolic), or null when its rank is unknown. */
type Shape = Array<number | string | null> | null;

class Scope {
  private readonly shapes = new Map<string, Shape>();
  constructor(private readonly parent?: Scope) {}
  set(name: string, shape: Shape): void {
    // A name declared twice (graph input and value_info, say): keep what is known.
    if (shape !== null || !this.shapes.has(name)) this.shapes.set(name, shape);
  }
  get(name: string): Shape {
    if (this.shapes.has(name)) return this.shapes.get(name) ?? null;
    return this.parent ? this.parent.get(name) : null;
  }
}

function tensorDims(bytes: Uint8Array, name: string): { name: string; dims: number[]; dtype: DType } {
  const r = reader(bytes, name);
  const dims: number[] = [];
  let tensorName = '';
  let dtype: DType = 'unknown';
  while (!r.done()) {
    const { field, wire } = r.tag();
    if (field === 1) r.repeated(wire, () => r.int64(), dims);
    else if (field === 2) dtype = dtypeFromOnnx(r.varint());
    else if (field === 8) tensorName = r.string();
    else r.skip(wire);
  }
  return { name: tensorName, dims, dtype };
}

/** ValueInfoProto -> name and shape (null when the type carries no shape). */
function valueInfoShape(bytes: Uint8Array, name: string): { name: string; shape: Shape } {
  let vname = '';
  let shape: Shape = null;
  for (const rec of decodeRecords(bytes, name)) {
    if (rec.field === 1) vname = utf8(rec);
    else if (rec.field === 2 && rec.wire === WIRE_LEN) {
      for (const t of decodeRecords(rec.payload, name)) {
        if (t.field !== 1 || t.wire !== WIRE_LEN) continue; // tensor_type only
        for (const tt of decodeRecords(t.payload, name)) {
          if (tt.field !== 2 || tt.wire !== WIRE_LEN) continue;
          const dims: Array<number | string | null> = [];
          for (const d of decodeRecords(tt.payload, name)) {
            if (d.field !== 1 || d.wire !== WIRE_LEN) continue;
            let dim: number | string | null = null;
            for (const dv of decodeRecords(d.payload, name)) {
              if (dv.field === 1) dim = varintOf(dv, name);
              else if (dv.field === 2) dim = utf8(dv);
            }
            dims.push(dim);
          }
          shape = dims;
        }
      }
    }
  }
  return { name: vname, shape };
}

// ---------------------------------------------------------------------------------------------
// Nodes

interface AttrView {
  rec: WireRecord;
  name: string;
  i?: number;
  ints?: number[];
  f?: number;
  s?: string;
  /** TensorProto bytes (attribute t). */
  t?: Uint8Array;
}

function decodeAttr(rec: WireRecord, name: string): AttrView {
  const a: AttrView = { rec, name: '' };
  const r = reader(rec.payload, name);
  const ints: number[] = [];
  while (!r.done()) {
    const { field, wire } = r.tag();
    switch (field) {
      case 1: a.name = r.string(); break;
      case 2: a.f = r.float32(); break;
      case 3: a.i = r.int64(); break;
      case 4: a.s = r.string(); break;
      case 5: a.t = r.bytes(r.length()); break;
      case 8: r.repeated(wire, () => r.int64(), ints); break;
      default: r.skip(wire);
    }
  }
  if (ints.length) a.ints = ints;
  return a;
}

class NodeView {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  changed = false;
  /** Nodes to insert before this one (already encoded). */
  readonly before: Uint8Array[] = [];

  constructor(readonly rec: WireRecord, readonly recs: WireRecord[], readonly index: number) {
    let opType = '';
    let domain = '';
    let name = '';
    for (const r of recs) {
      if (r.field === 1) this.inputs.push(utf8(r));
      else if (r.field === 2) this.outputs.push(utf8(r));
      else if (r.field === 3) name = utf8(r);
      else if (r.field === 4) opType = utf8(r);
      else if (r.field === 7) domain = utf8(r);
    }
    this.opType = opType;
    this.domain = domain;
    this.name = name;
  }

  /** How messages refer to this node. */
  get id(): string {
    return this.name ? `node '${this.name}'` : `node #${this.index} (${this.opType} -> ${this.outputs[0] ?? '?'})`;
  }

  attrs(file: string): AttrView[] {
    return this.recs.filter((r) => r.field === 5 && r.wire === WIRE_LEN).map((r) => decodeAttr(r, file));
  }

  attr(name: string, file: string): AttrView | undefined {
    return this.attrs(file).find((a) => a.name === name);
  }

  removeAttr(name: string, file: string): AttrView | undefined {
    const a = this.attr(name, file);
    if (!a) return undefined;
    this.recs.splice(this.recs.indexOf(a.rec), 1);
    this.changed = true;
    return a;
  }

  /** Adds an attribute after the node's last attribute (or after op_type). */
  addAttr(encoded: ProtoWriter): void {
    let at = -1;
    for (let i = 0; i < this.recs.length; i++) if (this.recs[i].field === 5 || this.recs[i].field === 4) at = i;
    this.recs.splice(at + 1, 0, lenRecord(5, encoded.finish()));
    this.changed = true;
  }

  renameAttr(from: string, to: string, file: string): boolean {
    const a = this.attr(from, file);
    if (!a) return false;
    const recs = decodeRecords(a.rec.payload, file);
    for (const r of recs) if (r.field === 1) r.replaced = Buffer.from(to, 'utf8');
    a.rec.replaced = encodeRecords(recs);
    this.changed = true;
    return true;
  }

  setInput(i: number, value: string): void {
    const recs = this.recs.filter((r) => r.field === 1);
    if (i < recs.length) {
      recs[i].replaced = Buffer.from(value, 'utf8');
    } else {
      // Append after the last input (inputs come first in every encoder, but do not rely on it).
      let at = -1;
      for (let k = 0; k < this.recs.length; k++) if (this.recs[k].field === 1) at = k;
      for (let k = recs.length; k <= i; k++) this.recs.splice(++at, 0, lenRecord(1, Buffer.from(k === i ? value : '', 'utf8')));
    }
    this.inputs[i] = value;
    this.changed = true;
  }

  removeInputsFrom(i: number): void {
    let seen = 0;
    for (let k = 0; k < this.recs.length; k++) {
      if (this.recs[k].field !== 1) continue;
      if (seen++ >= i) { this.recs.splice(k, 1); k--; }
    }
    this.inputs.length = Math.min(this.inputs.length, i);
    this.changed = true;
  }
}

function intAttr(name: string, value: number): ProtoWriter {
  return new ProtoWriter().string(1, name).varint(20, 2).varint(3, value);
}

// ---------------------------------------------------------------------------------------------
// The upgrade

/** What upgradeLegacyOpset throws for a node it cannot upgrade faithfully. */
export class LegacyOpsetUpgradeError extends UserError {
  constructor(file: string, problem: string) {
    super('opset-upgrade', problem, file);
    this.name = 'LegacyOpsetUpgradeError';
  }
}

interface Context {
  file: string;
  fromOpset: number;
  changes: string[];
  usedNames: Set<string>;
  counter: number;
}

function refuse(ctx: Context, node: NodeView, reason: string): never {
  throw new LegacyOpsetUpgradeError(ctx.file, `cannot upgrade ${node.opType} from opset ${ctx.fromOpset} to ${TARGET_OPSET} (${node.id}): ${reason}`);
}

function freshName(ctx: Context, base: string): string {
  let n: string;
  do n = `${base}__opset7_${ctx.counter++}`; while (ctx.usedNames.has(n));
  ctx.usedNames.add(n);
  return n;
}

function fmtShape(s: Shape): string {
  return s === null ? 'unknown' : `[${s.map((d) => (d === null ? '?' : d)).join(',')}]`;
}

/** Inserts `Unsqueeze(axes)` on input `i` of `node` (the opset-7 Unsqueeze takes axes as an attribute). */
function unsqueezeInput(ctx: Context, node: NodeView, i: number, axes: number[]): string {
  const src = node.inputs[i];
  const out = freshName(ctx, src);
  const spec: NodeSpec = { opType: 'Unsqueeze', inputs: [src], outputs: [out], attributes: { axes: attr.ints(axes) } };
  if (node.name) spec.name = freshName(ctx, `${node.name}_unsqueeze_input${i}`);
  node.before.push(encodeNode(spec).finish());
  node.setInput(i, out);
  return out;
}

function isDefaultDomain(d: string): boolean {
  return d === '' || d === 'ai.onnx';
}

/** Version of an op in effect at an opset, per HISTORY. */
function versionAt(history: number[], opset: number): number {
  let v = history[0];
  for (const h of history) if (h <= opset) v = h;
  return v;
}

function adaptNode(ctx: Context, node: NodeView, scope: Scope): void {
  const history = HISTORY[node.opType];
  if (!history) return;
  const from = versionAt(history, ctx.fromOpset);
  const to = versionAt(history, TARGET_OPSET);
  if (from === to) return;
  const steps = history.filter((v) => v > from && v <= to);
  let v = from;
  const notes: string[] = [];
  for (const next of steps) {
    step(ctx, node, scope, v, next, notes);
    v = next;
  }
  ctx.changes.push(`${node.id}: ${node.opType}-${from} -> ${node.opType}-${to}${notes.length ? `: ${notes.join('; ')}` : ': no change needed'}`);
}

function dropAttr(ctx: Context, node: NodeView, name: string, notes: string[]): AttrView | undefined {
  const a = node.removeAttr(name, ctx.file);
  if (a) notes.push(`removed ${name}${a.i !== undefined ? `=${a.i}` : a.ints ? `=[${a.ints.join(',')}]` : ''}`);
  return a;
}

function step(ctx: Context, node: NodeView, scope: Scope, from: number, to: number, notes: string[]): void {
  const op = node.opType;
  // --- to 2, 4, 5 (only reached from opset 1..4 models)
  if (op === 'Pad' && to === 2) {
    // Pad-1 `paddings` has the same layout as Pad-2 `pads`: [x1_begin, x2_begin, ..., x1_end, x2_end, ...].
    if (node.renameAttr('paddings', 'pads', ctx.file)) notes.push('renamed paddings to pads');
    return;
  }
  if (op === 'Split' && to === 2) {
    if (node.inputs.length > 1 && node.inputs[1] !== '') refuse(ctx, node, 'Split-1 takes the split sizes as a second input; Split-2 only as an attribute');
    if (node.inputs.length > 1) { node.removeInputsFrom(1); notes.push('removed the empty second input'); }
    return;
  }
  if ((op === 'GlobalLpPool' || op === 'LpPool') && to === 2) refuse(ctx, node, 'the p attribute changed from float to int at opset 2');
  if (op === 'GRU' && to === 3) return; // GRU-3 only added linear_before_reset (default 0 = GRU-1 behaviour)
  if (op === 'Concat' && to === 4) {
    // Concat-1's axis defaulted to 1; from 4 it is required (convert.h: SetAttributeIfAbsent(axis, 1)).
    if (!node.attr('axis', ctx.file)) { node.addAttr(intAttr('axis', 1)); notes.push('set axis=1 (the Concat-1 default)'); }
    return;
  }
  if (op === 'Reshape' && to === 5) {
    dropAttr(ctx, node, 'consumed_inputs', notes);
    const shape = node.removeAttr('shape', ctx.file);
    if (!shape) refuse(ctx, node, 'Reshape-1 without a shape attribute');
    const dims = shape.ints ?? [];
    const out = freshName(ctx, `${node.outputs[0] ?? 'reshape'}_shape`);
    node.before.push(encodeNode({
      opType: 'Constant', inputs: [], outputs: [out],
      attributes: { value: attr.t({ name: out, dtype: 'int64', dims: [dims.length], values: BigInt64Array.from(dims.map(BigInt)) }) },
    }).finish());
    node.setInput(1, out);
    notes.push(`moved shape=[${dims.join(',')}] to a Constant input '${out}'`);
    return;
  }
  // --- to 6
  if (to === 6) {
    if (op === 'Cast') refuse(ctx, node, "Cast-1's `to` is a type name string; Cast-6 takes a type code");
    if (op === 'Tile') refuse(ctx, node, 'Tile-1 takes tiles and axis inputs; Tile-6 takes a repeats input');
    if (op === 'Gemm') return; // compatible (convert.h: CompatibleAdapter)
    if (CONSUMED_INPUTS_ONLY.has(op)) { dropAttr(ctx, node, 'consumed_inputs', notes); return; }
  }
  // --- to 7
  if (to === 7) {
    if (BROADCAST_OPS.has(op)) { broadcastForward(ctx, node, scope, notes); return; }
    if (op === 'Gemm') {
      // Gemm-6 broadcast C (suffix-aligned) to (M, N); Gemm-7 broadcasts C unidirectionally: the same result.
      dropAttr(ctx, node, 'broadcast', notes);
      return;
    }
    if (op === 'AveragePool') return; // AveragePool-7 added count_include_pad, default 0 = AveragePool-1 behaviour
    if (op === 'PRelu') { preluSlope(ctx, node, scope, notes); return; }
    if (op === 'BatchNormalization' || op === 'Dropout') {
      const isTest = node.attr('is_test', ctx.file)?.i ?? 0;
      // Opset 7 dropped is_test: the runtime runs these in inference mode. A node in training mode
      // (is_test=0, the default) computed batch statistics / random masks: not the same result.
      if (isTest === 0) refuse(ctx, node, 'is_test=0 (training mode) has no opset-7 equivalent; only is_test=1 nodes are upgraded');
      dropAttr(ctx, node, 'is_test', notes);
      dropAttr(ctx, node, 'consumed_inputs', notes);
      return;
    }
    if (LOGICAL_OPS.has(op)) {
      const b = node.attr('broadcast', ctx.file)?.i ?? 0;
      if (b !== 0) refuse(ctx, node, 'legacy broadcast=1 on logical/comparison ops is not adapted');
      dropAttr(ctx, node, 'broadcast', notes);
      dropAttr(ctx, node, 'axis', notes);
      return;
    }
    if (op === 'Upsample') refuse(ctx, node, 'Upsample-7 replaced height_scale/width_scale with scales');
    if (op === 'RNN' || op === 'GRU' || op === 'LSTM') refuse(ctx, node, 'the output_sequence attribute was removed at opset 7');
  }
  refuse(ctx, node, `no adapter from ${op}-${from} to ${op}-${to}`);
}

/**
 * Add/Sub/Mul/Div-6 and Pow-1 -> 7 (convert.h: BroadcastForwardCompatibility). Legacy broadcasting
 * aligned the second input with the first starting at `axis` (or at the end, without axis); numpy
 * broadcasting always aligns at the end. When the two differ, Unsqueeze the second input with
 * trailing 1s so numpy aligns it where `axis` said.
 */
function broadcastForward(ctx: Context, node: NodeView, scope: Scope, notes: string[]): void {
  dropAttr(ctx, node, 'consumed_inputs', notes);
  const broadcast = dropAttr(ctx, node, 'broadcast', notes)?.i ?? 0;
  const axisAttr = dropAttr(ctx, node, 'axis', notes);
  if (broadcast === 0 || axisAttr?.i === undefined) return; // same shapes, or suffix alignment: numpy agrees
  const a = scope.get(node.inputs[0]);
  const b = scope.get(node.inputs[1]);
  if (a === null || b === null) {
    refuse(ctx, node, `broadcast=1 with axis=${axisAttr.i} needs the ranks of both inputs, but '${node.inputs[a === null ? 0 : 1]}' has no known shape (graph inputs, initializers, value_info and Constants give none)`);
  }
  const ra = a.length;
  const rb = b.length;
  const axis = axisAttr.i < 0 ? axisAttr.i + ra : axisAttr.i;
  const trailing = ra - axis - rb;
  if (axis < 0 || trailing < 0) refuse(ctx, node, `axis=${axisAttr.i} does not fit input shapes ${fmtShape(a)} and ${fmtShape(b)}`);
  if (trailing === 0 || rb === 0) return;
  const axes = Array.from({ length: trailing }, (_, k) => rb + k);
  const out = unsqueezeInput(ctx, node, 1, axes);
  notes.push(`inserted Unsqueeze(axes=[${axes.join(',')}]) -> '${out}' so input ${fmtShape(b)} aligns at axis ${axis} of ${fmtShape(a)} under numpy broadcasting`);
}

/**
 * PRelu-6 -> 7. PRelu-6 applied a slope of shape [C] per channel (axis 1); PRelu-7 broadcasts the
 * slope numpy-style, which would align [C] with the last axis. For inputs of rank r > 2, Unsqueeze
 * the slope to [C, 1, ..., 1]. (ONNX's converter registers a CompatibleAdapter here, which is only
 * right for rank-2 inputs or a single shared slope.)
 */
function preluSlope(ctx: Context, node: NodeView, scope: Scope, notes: string[]): void {
  dropAttr(ctx, node, 'consumed_inputs', notes);
  const slope = scope.get(node.inputs[1]);
  if (slope === null) refuse(ctx, node, `the rank of slope '${node.inputs[1]}' is unknown`);
  if (slope.length !== 1) return; // a scalar, or already laid out for broadcasting
  if (slope[0] === 1) return; // one slope shared by every channel
  const x = scope.get(node.inputs[0]);
  if (x === null) refuse(ctx, node, `slope ${fmtShape(slope)} is per channel but the rank of input '${node.inputs[0]}' is unknown`);
  if (x.length <= 2) return; // [N, C]: numpy already aligns [C] with axis 1
  const axes = Array.from({ length: x.length - 2 }, (_, k) => 1 + k);
  const out = unsqueezeInput(ctx, node, 1, axes);
  notes.push(`inserted Unsqueeze(axes=[${axes.join(',')}]) -> '${out}' so slope ${fmtShape(slope)} applies per channel of ${fmtShape(x)}`);
}

/** Processes a GraphProto; returns its new bytes, or undefined when nothing in it changed. */
function upgradeGraph(ctx: Context, bytes: Uint8Array, outer: Scope | undefined): Uint8Array | undefined {
  const recs = decodeRecords(bytes, ctx.file);
  const scope = new Scope(outer);
  for (const rec of recs) {
    if (rec.wire !== WIRE_LEN) continue;
    if (rec.field === 5) { const t = tensorDims(rec.payload, ctx.file); scope.set(t.name, t.dims); }
    else if (rec.field === 11 || rec.field === 12 || rec.field === 13) { const v = valueInfoShape(rec.payload, ctx.file); scope.set(v.name, v.shape); }
    else if (rec.field === 15) {
      // SparseTensorProto: values (1) carries the name, dims (3) the dense shape.
      let name = '';
      const dims: number[] = [];
      const r = reader(rec.payload, ctx.file);
      while (!r.done()) {
        const { field, wire } = r.tag();
        if (field === 1) name = tensorDims(r.bytes(r.length()), ctx.file).name;
        else if (field === 3) r.repeated(wire, () => r.int64(), dims);
        else r.skip(wire);
      }
      scope.set(name, dims);
    }
  }
  const nodes: NodeView[] = [];
  recs.forEach((rec) => {
    if (rec.field === 1 && rec.wire === WIRE_LEN) nodes.push(new NodeView(rec, decodeRecords(rec.payload, ctx.file), nodes.length));
  });
  // Constants give their outputs' shapes too.
  for (const n of nodes) {
    if (n.opType !== 'Constant' || !isDefaultDomain(n.domain) || !n.outputs[0]) continue;
    const value = n.attr('value', ctx.file);
    if (value?.t) scope.set(n.outputs[0], tensorDims(value.t, ctx.file).dims);
  }
  let changed = false;
  for (const n of nodes) {
    if (isDefaultDomain(n.domain)) adaptNode(ctx, n, scope);
    // Subgraphs (If/Loop/Scan bodies) run under the model's opset too, and see this graph's names.
    for (const a of n.recs) {
      if (a.field !== 5 || a.wire !== WIRE_LEN) continue;
      const arecs = decodeRecords(content(a), ctx.file);
      let subChanged = false;
      for (const ar of arecs) {
        if ((ar.field === 6 || ar.field === 11) && ar.wire === WIRE_LEN) {
          const g = upgradeGraph(ctx, ar.payload, scope);
          if (g) { ar.replaced = g; subChanged = true; }
        }
      }
      if (subChanged) { a.replaced = encodeRecords(arecs); n.changed = true; }
    }
    if (n.changed || n.before.length) changed = true;
  }
  if (!changed) return undefined;
  const out: WireRecord[] = [];
  const byRec = new Map(nodes.map((n) => [n.rec, n] as const));
  for (const rec of recs) {
    const n = byRec.get(rec);
    if (!n) { out.push(rec); continue; }
    for (const b of n.before) out.push(lenRecord(1, b));
    out.push(n.changed ? lenRecord(1, encodeRecords(n.recs)) : rec);
  }
  return encodeRecords(out);
}

/** Every value and node name in a graph and its subgraphs, so inserted names never collide. */
function collectNames(bytes: Uint8Array, file: string, out: Set<string>): void {
  for (const rec of decodeRecords(bytes, file)) {
    if (rec.wire !== WIRE_LEN) continue;
    if (rec.field === 1) {
      for (const nr of decodeRecords(rec.payload, file)) {
        if ((nr.field === 1 || nr.field === 2 || nr.field === 3) && nr.wire === WIRE_LEN) out.add(utf8(nr));
        else if (nr.field === 5 && nr.wire === WIRE_LEN) {
          for (const ar of decodeRecords(nr.payload, file)) {
            if ((ar.field === 6 || ar.field === 11) && ar.wire === WIRE_LEN) collectNames(ar.payload, file, out);
          }
        }
      }
    } else if (rec.field === 5) out.add(tensorDims(rec.payload, file).name);
    else if (rec.field === 11 || rec.field === 12 || rec.field === 13) out.add(valueInfoShape(rec.payload, file).name);
  }
}

function decodeOpset(rec: WireRecord, file: string): { domain: string; version: number; recs: WireRecord[] } {
  const recs = decodeRecords(rec.payload, file);
  let domain = '';
  let version = 0;
  for (const r of recs) {
    if (r.field === 1) domain = utf8(r);
    else if (r.field === 2) version = varintOf(r, file);
  }
  return { domain, version, recs };
}

/**
 * Rewrites a model whose default-domain opset is below 7 to opset 7. Models at opset 7 or later,
 * and models without a default-domain opset import, come back unchanged (the same bytes).
 * Throws an Error naming the operator and the file when a node cannot be upgraded faithfully.
 */
export function upgradeLegacyOpset(bytes: Uint8Array, fileName: string): UpgradeResult {
  const recs = decodeRecords(bytes, fileName);
  const opsetRecs = recs.filter((r) => r.field === 8 && r.wire === WIRE_LEN);
  const defaults = opsetRecs.map((r) => ({ rec: r, ...decodeOpset(r, fileName) })).filter((o) => isDefaultDomain(o.domain));
  if (defaults.length === 0) return { bytes, changes: [] };
  if (defaults.length > 1) throw new Error(`${fileName}: the model imports the default ONNX domain ${defaults.length} times`);
  const opset = defaults[0];
  if (opset.version >= TARGET_OPSET) return { bytes, changes: [] };

  for (const r of recs) {
    if (r.field !== 25 || r.wire !== WIRE_LEN) continue;
    // FunctionProto.opset_import (9): local functions carry their own imports; not upgraded here.
    for (const fr of decodeRecords(r.payload, fileName)) {
      if (fr.field === 9 && fr.wire === WIRE_LEN) {
        const o = decodeOpset(fr, fileName);
        if (isDefaultDomain(o.domain) && o.version < TARGET_OPSET) {
          throw new LegacyOpsetUpgradeError(fileName, `cannot upgrade from opset ${opset.version} to ${TARGET_OPSET}: a local function imports ai.onnx opset ${o.version}, and functions are not upgraded`);
        }
      }
    }
  }

  const usedNames = new Set<string>();
  for (const r of recs) if (r.field === 7 && r.wire === WIRE_LEN) collectNames(r.payload, fileName, usedNames);
  const ctx: Context = { file: fileName, fromOpset: opset.version, changes: [], usedNames, counter: 0 };
  ctx.changes.push(`opset import ${opset.domain || 'ai.onnx'}: ${opset.version} -> ${TARGET_OPSET}`);

  for (const r of recs) {
    if (r.field === 7 && r.wire === WIRE_LEN) {
      const g = upgradeGraph(ctx, r.payload, undefined);
      if (g) r.replaced = g;
    }
  }
  const versionRec = opset.recs.find((r) => r.field === 2);
  const newVersion = new ProtoWriter().varint(2, TARGET_OPSET).finish();
  const versionRecord: WireRecord = { field: 2, wire: 0, raw: newVersion, payload: newVersion.subarray(1) };
  if (versionRec) opset.recs.splice(opset.recs.indexOf(versionRec), 1, versionRecord);
  else opset.recs.push(versionRecord);
  opset.rec.replaced = encodeRecords(opset.recs);
  return { bytes: encodeRecords(recs), changes: ctx.changes };
}
