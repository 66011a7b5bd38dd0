import type { DType } from '../model';
import { ModelReadError } from '../model';

/**
 * A pickle virtual machine that executes nothing.
 *
 * Python's pickle format is a small stack machine whose GLOBAL/STACK_GLOBAL opcodes import any
 * callable and whose REDUCE opcode calls it: loading an untrusted .bin with torch.load (without
 * weights_only) can run `os.system`. Here, a global resolves only through an allow-list of what
 * torch.save writes for a state dict, and each allowed global is a pure JS function that builds
 * a plain data description (a dict, a tuple, a tensor's shape and storage reference). Anything
 * else is refused, by name, before it could be "called".
 *
 * The VM is a loop, not a recursion, and everything it accumulates is bounded (stack, marks,
 * memo, string and integer sizes, opcode count), so hostile input ends in a ModelReadError.
 */

// ---------------------------------------------------------------------------------------------
// Values

/** Python values as data. Python ints become numbers, or bigints past 2^53. */
export type PyValue =
  | null | boolean | number | bigint | string | Buffer
  | PyList | PyTuple | PyDict | PySet
  | PyCallable | PyType | TorchDType | TorchStorageType | TorchStorageRef | TorchTensor;

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** dict and OrderedDict, keeping insertion order; primitive keys are looked up by value. */
export class PyDict {
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  /** Instance attributes set by BUILD (an OrderedDict state dict carries `_metadata` here). */
  attrs?: PyDict;
  private readonly index = new Map<PyValue, number>();

  set(key: PyValue, value: PyValue): void {
    const i = this.index.get(key);
    if (i !== undefined) {
      this.values[i] = value;
      return;
    }
    this.index.set(key, this.keys.length);
    this.keys.push(key);
    this.values.push(value);
  }

  get(key: PyValue): PyValue | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.values[i];
  }

  get size(): number {
    return this.keys.length;
  }
}

export class PySet {
  constructor(readonly items: PyValue[], readonly frozen: boolean) {}
}

/** An allowed global that REDUCE/NEWOBJ may "call": a pure function from arguments to data. */
export class PyCallable {
  constructor(
    readonly qualname: string,
    readonly call: (args: readonly PyValue[], fail: (problem: string) => never) => PyValue,
  ) {}
}

/** An allowed class used only as a marker (torch.Tensor, Parameter): it cannot be called. */
export class PyType {
  constructor(readonly qualname: string) {}
}

/** A torch dtype object, e.g. the global torch.float16. */
export class TorchDType {
  constructor(readonly qualname: string, readonly dtype: DType) {}
}

/** A storage class such as torch.FloatStorage: in a persistent id it says the storage's dtype. */
export class TorchStorageType {
  constructor(readonly qualname: string, readonly dtype: DType) {}
}

/** What a storage persistent id resolves to: which archive entry holds the bytes, and its type. */
export class TorchStorageRef {
  constructor(
    readonly key: string,
    readonly storageType: TorchStorageType,
    readonly location: string,
    /** Elements of storageType.dtype in the storage. */
    readonly numel: number,
  ) {}
}

/** A tensor as _rebuild_tensor_v2 describes it: a strided view of a storage. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
    readonly isParameter: boolean,
  ) {}
}

/** A short, non-recursive description of a value for error messages. */
export function pyTypeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (v instanceof PyList) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PySet) return v.frozen ? 'frozenset' : 'set';
  if (v instanceof PyCallable || v instanceof PyType || v instanceof TorchDType || v instanceof TorchStorageType) return v.qualname;
  if (v instanceof TorchStorageRef) return 'storage';
  return 'tensor';
}

// ---------------------------------------------------------------------------------------------
// The allow-list

type Fail = (problem: string) => never;

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32', HalfStorage: 'float16', BFloat16Storage: 'bfloat16', DoubleStorage: 'float64',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool', ComplexFloatStorage: 'complex64', ComplexDoubleStorage: 'complex128',
};

const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float16: 'float16', half: 'float16', bfloat16: 'bfloat16',
  float64: 'float64', double: 'float64', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32',
  int16: 'int16', short: 'int16', int8: 'int8', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64',
  bool: 'bool', complex64: 'complex64', cfloat: 'complex64', complex128: 'complex128', cdouble: 'complex128',
  float8_e4m3fn: 'float8e4m3fn', float8_e4m3fnuz: 'float8e4m3fnuz', float8_e5m2: 'float8e5m2', float8_e5m2fnuz: 'float8e5m2fnuz',
};

/**
 * torch globals that are harmless but build things this reader does not model (quantized,
 * sparse, meta tensors...): refusing them with a specific message beats "could run code".
 */
const UNSUPPORTED_TORCH: Record<string, string> = {
  'torch._utils._rebuild_qtensor': 'quantized tensors',
  'torch._utils._rebuild_sparse_tensor': 'sparse tensors',
  'torch._utils._rebuild_sparse_csr': 'sparse tensors',
  'torch._utils._rebuild_meta_tensor_no_storage': 'meta tensors (no data)',
  'torch._utils._rebuild_wrapper_subclass': 'tensor subclasses',
  'torch._utils._rebuild_device_tensor_from_numpy': 'tensors saved from numpy arrays',
  'torch._utils._rebuild_nested_tensor': 'nested tensors',
  'torch._utils._rebuild_mkldnn_tensor': 'MKL-DNN tensors',
  'torch._utils._rebuild_xla_tensor': 'XLA tensors',
  'torch._utils._rebuild_mps_tensor': 'MPS tensors',
};

function safeInt(v: PyValue, what: string, fail: Fail): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(`${what} must be an integer, got ${pyTypeName(v)}`);
  return v as number;
}

function intTuple(v: PyValue, what: string, fail: Fail): number[] {
  if (!(v instanceof PyTuple) && !(v instanceof PyList)) return fail(`${what} must be a tuple of ints, got ${pyTypeName(v)}`);
  return v.items.map((x) => {
    const n = safeInt(x, what, fail);
    if (n < 0) fail(`${what} has a negative entry (${n})`);
    return n;
  });
}

function argsOf(args: readonly PyValue[], min: number, max: number, qualname: string, fail: Fail): void {
  if (args.length < min || args.length > max) {
    fail(`${qualname} called with ${args.length} arguments, expected ${min === max ? min : `${min} to ${max}`}`);
  }
}

function rebuildTensor(qualname: string, args: readonly PyValue[], fail: Fail, minArgs: number, maxArgs: number): TorchTensor {
  argsOf(args, minArgs, maxArgs, qualname, fail);
  const [storage, offset, size, stride, requiresGrad] = args;
  if (!(storage instanceof TorchStorageRef)) return fail(`${qualname}: the storage argument is a ${pyTypeName(storage)}, not a storage`);
  const shape = intTuple(size, `${qualname} size`, fail);
  const strides = intTuple(stride, `${qualname} stride`, fail);
  if (strides.length !== shape.length) fail(`${qualname}: size has ${shape.length} dims but stride has ${strides.length}`);
  const storageOffset = safeInt(offset, `${qualname} storage offset`, fail);
  if (storageOffset < 0) fail(`${qualname}: negative storage offset ${storageOffset}`);
  return new TorchTensor(storage, storageOffset, shape, strides, requiresGrad === true, false);
}

function rebuildParameter(qualname: string, args: readonly PyValue[], fail: Fail, n: number): TorchTensor {
  argsOf(args, n, n, qualname, fail);
  const data = args[0];
  if (!(data instanceof TorchTensor)) return fail(`${qualname}: data is a ${pyTypeName(data)}, not a tensor`);
  return new TorchTensor(data.storage, data.storageOffset, data.shape, data.stride, args[1] === true, true);
}

/** Python's `bytes(...)`/`bytearray(...)`/`_codecs.encode(...)` as pickle protocol 2 uses them. */
function encodeText(qualname: string, args: readonly PyValue[], fail: Fail): Buffer {
  if (args.length === 0) return Buffer.alloc(0);
  const [s, enc] = args;
  if (Buffer.isBuffer(s) && args.length === 1) return Buffer.from(s);
  if (typeof s !== 'string') return fail(`${qualname} expects a str, got ${pyTypeName(s)}`);
  const encoding = enc === undefined ? 'utf-8' : enc;
  if (typeof encoding !== 'string') return fail(`${qualname}: encoding is a ${pyTypeName(encoding)}`);
  const e = encoding.toLowerCase().replace(/[_-]/g, '');
  if (e === 'latin1' || e === 'iso88591') return Buffer.from(s, 'latin1');
  if (e === 'utf8' || e === 'ascii') return Buffer.from(s, 'utf8');
  return fail(`${qualname}: unsupported encoding ${JSON.stringify(encoding.slice(0, 40))}`);
}

function iterableItems(qualname: string, v: PyValue | undefined, fail: Fail): PyValue[] {
  if (v === undefined) return [];
  if (v instanceof PyList || v instanceof PyTuple || v instanceof PySet) return [...v.items];
  if (v instanceof PyDict) return [...v.keys];
  return fail(`${qualname} expects a list, tuple or set, got ${pyTypeName(v)}`);
}

function buildAllowList(): Map<string, PyValue> {
  const m = new Map<string, PyValue>();
  const fn = (qualname: string, call: PyCallable['call']) => m.set(qualname, new PyCallable(qualname, call));

  fn('collections.OrderedDict', (args, fail) => {
    argsOf(args, 0, 1, 'collections.OrderedDict', fail);
    const d = new PyDict();
    const src = args[0];
    if (src instanceof PyDict) src.keys.forEach((k, i) => d.set(k, src.values[i]));
    else if (src !== undefined) {
      for (const pair of iterableItems('collections.OrderedDict', src, fail)) {
        if (!(pair instanceof PyList || pair instanceof PyTuple) || pair.items.length !== 2) fail('collections.OrderedDict: items must be (key, value) pairs');
        const [k, v] = (pair as PyTuple).items;
        d.set(k, v);
      }
    }
    return d;
  });

  fn('torch._utils._rebuild_tensor_v2', (a, f) => rebuildTensor('torch._utils._rebuild_tensor_v2', a, f, 6, 7));
  fn('torch._utils._rebuild_tensor', (a, f) => rebuildTensor('torch._utils._rebuild_tensor', a, f, 4, 4));
  fn('torch._utils._rebuild_parameter', (a, f) => rebuildParameter('torch._utils._rebuild_parameter', a, f, 3));
  fn('torch._utils._rebuild_parameter_with_state', (a, f) => rebuildParameter('torch._utils._rebuild_parameter_with_state', a, f, 4));
  // Plain tensors with Python attributes pickle as _rebuild_from_type_v2(func, torch.Tensor, args, state):
  // "call" func (itself allow-listed) and drop the attributes.
  fn('torch._tensor._rebuild_from_type_v2', (args, fail) => {
    argsOf(args, 4, 4, 'torch._tensor._rebuild_from_type_v2', fail);
    const [func, type, inner] = args;
    if (!(func instanceof PyCallable)) return fail(`torch._tensor._rebuild_from_type_v2: ${pyTypeName(func)} is not callable`);
    // torch passes a tensor rebuilder here, never itself; refusing self-nesting keeps this call
    // from recursing once per level of a hostile, deeply nested argument tuple.
    if (func.qualname === 'torch._tensor._rebuild_from_type_v2') return fail('torch._tensor._rebuild_from_type_v2 nested in itself');
    if (!(type instanceof PyType)) return fail(`torch._tensor._rebuild_from_type_v2: ${pyTypeName(type)} is not an allowed tensor type`);
    if (!(inner instanceof PyTuple)) return fail('torch._tensor._rebuild_from_type_v2: arguments must be a tuple');
    return func.call(inner.items, fail);
  });
  fn('torch.Size', (args, fail) => {
    argsOf(args, 0, 1, 'torch.Size', fail);
    return new PyTuple(args.length ? intTuple(args[0], 'torch.Size', fail) : []);
  });
  fn('torch.device', (args, fail) => {
    argsOf(args, 1, 2, 'torch.device', fail);
    const [type, index] = args;
    if (typeof type !== 'string') return fail('torch.device: type must be a str');
    return index === undefined || index === null ? type : `${type}:${safeInt(index, 'torch.device index', fail)}`;
  });
  fn('_codecs.encode', (a, f) => encodeText('_codecs.encode', a, f));
  for (const b of ['builtins', '__builtin__']) {
    fn(`${b}.bytes`, (a, f) => encodeText('bytes', a, f));
    fn(`${b}.bytearray`, (a, f) => encodeText('bytearray', a, f));
    fn(`${b}.set`, (a, f) => (argsOf(a, 0, 1, 'set', f), new PySet(iterableItems('set', a[0], f), false)));
    fn(`${b}.frozenset`, (a, f) => (argsOf(a, 0, 1, 'frozenset', f), new PySet(iterableItems('frozenset', a[0], f), true)));
  }

  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) m.set(`torch.${name}`, new TorchStorageType(`torch.${name}`, dtype));
  // An untyped storage is bytes; TypedStorage without a dtype cannot say what it holds.
  for (const q of ['torch.UntypedStorage', 'torch.storage.UntypedStorage']) m.set(q, new TorchStorageType(q, 'uint8'));
  for (const q of ['torch.TypedStorage', 'torch.storage.TypedStorage']) m.set(q, new TorchStorageType(q, 'unknown'));
  for (const [name, dtype] of Object.entries(TORCH_DTYPES)) m.set(`torch.${name}`, new TorchDType(`torch.${name}`, dtype));
  for (const q of ['torch.Tensor', 'torch._tensor.Tensor', 'torch.nn.parameter.Parameter', 'torch.nn.Parameter']) m.set(q, new PyType(q));
  return m;
}

/** Everything a torch.save'd state dict may reference, and nothing else. */
export const TORCH_STATE_DICT_GLOBALS: ReadonlyMap<string, PyValue> = buildAllowList();

// ---------------------------------------------------------------------------------------------
// The VM

export interface UnpickleLimits {
  maxStack: number;
  /** Open MARKs at once. */
  maxMarks: number;
  maxMemo: number;
  maxOps: number;
  /** Largest str/bytes value. */
  maxStringBytes: number;
  /** Largest LONG1/LONG4/text integer, in bytes/digits. */
  maxIntBytes: number;
}

export const DEFAULT_UNPICKLE_LIMITS: UnpickleLimits = {
  maxStack: 1_000_000,
  maxMarks: 100_000,
  maxMemo: 4_000_000,
  maxOps: 100_000_000,
  maxStringBytes: 64 * 1024 * 1024,
  maxIntBytes: 1024,
};

export interface UnpickleOptions {
  /** The file being read, for error messages. */
  file: string;
  /** What inside the file is being unpickled (e.g. "archive/data.pkl"), for error messages. */
  what?: string;
  /** Resolves BINPERSID/PERSID ids (torch: storages). Without it, persistent ids are refused. */
  persistentLoad?: (pid: PyValue, fail: Fail) => PyValue;
  /** The allow-list; defaults to TORCH_STATE_DICT_GLOBALS. */
  globals?: ReadonlyMap<string, PyValue>;
  limits?: Partial<UnpickleLimits>;
}

const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Runs the pickle in `data` and returns what STOP returns. Throws ModelReadError on anything bad. */
export function unpickle(data: Buffer, options: UnpickleOptions): PyValue {
  const limits = { ...DEFAULT_UNPICKLE_LIMITS, ...options.limits };
  const allowed = options.globals ?? TORCH_STATE_DICT_GLOBALS;
  const label = options.what ? `${options.what}: ` : '';
  let pos = 0; // offset of the next byte to read
  let opPos = 0; // offset of the opcode being run, for messages

  const fail = (problem: string): never => {
    throw new ModelReadError(options.file, `${label}${problem} (pickle offset ${opPos})`);
  };

  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();

  const need = (n: number): void => {
    if (n > data.length - pos) fail(`truncated pickle: needs ${n} more bytes at offset ${pos} but only ${data.length - pos} remain`);
  };
  const u8 = (): number => (need(1), data[pos++]);
  const u16 = (): number => { need(2); const v = data.readUInt16LE(pos); pos += 2; return v; };
  const u32 = (): number => { need(4); const v = data.readUInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = data.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is out of range`);
    return Number(v);
  };
  const bytes = (n: number, what: string): Buffer => {
    if (n > limits.maxStringBytes) fail(`${what} of ${n} bytes exceeds the ${limits.maxStringBytes}-byte limit`);
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  /** Protocol 0 text argument: the bytes up to '\n', without it. */
  const line = (what: string): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail(`truncated pickle: ${what} has no end of line`);
    if (end - pos > limits.maxStringBytes) fail(`${what} is longer than ${limits.maxStringBytes} bytes`);
    const s = data.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };

  const push = (v: PyValue): void => {
    if (stack.length >= limits.maxStack) fail(`pickle stack exceeds ${limits.maxStack} items`);
    stack.push(v);
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('pickle stack underflow');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const outer = marks.pop();
    if (!outer) return fail('pickle MARK expected but none is open');
    stack = outer;
    return items;
  };
  const memoPut = (index: number): void => {
    if (!memo.has(index) && memo.size >= limits.maxMemo) fail(`pickle memo exceeds ${limits.maxMemo} entries`);
    memo.set(index, top());
  };
  const memoGet = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) fail(`pickle memo has no entry ${index}`);
    push(v as PyValue);
  };
  const intFromBig = (v: bigint): number | bigint => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  const longLE = (n: number): number | bigint => {
    if (n > limits.maxIntBytes) fail(`integer of ${n} bytes exceeds the ${limits.maxIntBytes}-byte limit`);
    const b = bytes(n, 'integer');
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return intFromBig(v);
  };
  const textInt = (s: string, what: string): number | bigint => {
    const t = s.endsWith('L') ? s.slice(0, -1) : s;
    if (t.length > limits.maxIntBytes) fail(`${what} of ${t.length} digits exceeds the limit`);
    if (!/^[+-]?\d+$/.test(t)) fail(`${what} is not an integer: ${printable(t)}`);
    return intFromBig(BigInt(t));
  };
  const resolveGlobal = (module: string, name: string): void => {
    const qualname = `${module}.${name}`;
    const value = allowed.get(qualname);
    if (value !== undefined) return push(value);
    const unsupported = UNSUPPORTED_TORCH[qualname];
    if (unsupported) fail(`the pickle uses ${qualname} (${unsupported}), which this reader does not support`);
    fail(`refused to load: the pickle references ${printable(qualname)}, which is not part of a PyTorch state dict (it could run code)`);
  };
  const callGlobal = (callable: PyValue, args: PyValue, opname: string): void => {
    if (!(callable instanceof PyCallable)) fail(`${opname}: ${pyTypeName(callable)} is not callable`);
    if (!(args instanceof PyTuple)) fail(`${opname}: arguments must be a tuple, got ${pyTypeName(args)}`);
    push((callable as PyCallable).call((args as PyTuple).items, fail));
  };
  const setItems = (target: PyValue, items: PyValue[], opname: string): void => {
    if (!(target instanceof PyDict)) fail(`${opname} on a ${pyTypeName(target)}, not a dict`);
    if (items.length % 2) fail(`${opname} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) (target as PyDict).set(items[i], items[i + 1]);
  };
  const persistent = (pid: PyValue): void => {
    if (!options.persistentLoad) fail('the pickle uses persistent ids, which are not allowed here');
    push(options.persistentLoad!(pid, fail));
  };

  let ops = 0;
  while (pos < data.length) {
    if (++ops > limits.maxOps) fail(`pickle runs more than ${limits.maxOps} opcodes`);
    opPos = pos;
    const op = data[pos++];
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: { // FRAME: framing is only a hint for buffered readers; the data is all here
        const n = u64();
        if (n > data.length - pos) fail(`pickle frame of ${n} bytes runs past the end; the data is truncated`);
        break;
      }
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        if (marks.length >= limits.maxMarks) fail(`pickle nests more than ${limits.maxMarks} MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP (on an empty stack, pops the mark: CPython does the same)
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;

      // Constants and numbers
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: need(4); push(data.readInt32LE(pos)); pos += 4; break; // BININT
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x8a: push(longLE(u8())); break; // LONG1
      case 0x8b: push(longLE(u32())); break; // LONG4
      case 0x49: { // INT (text; "01"/"00" are protocol 0's True/False)
        const s = line('INT');
        push(s === '01' ? true : s === '00' ? false : textInt(s, 'INT'));
        break;
      }
      case 0x4c: push(textInt(line('LONG'), 'LONG')); break; // LONG
      case 0x47: need(8); push(data.readDoubleBE(pos)); pos += 8; break; // BINFLOAT (big-endian)
      case 0x46: push(textFloat(line('FLOAT'), fail)); break; // FLOAT

      // Strings and bytes
      case 0x58: push(bytes(u32(), 'str').toString('utf8')); break; // BINUNICODE
      case 0x8c: push(bytes(u8(), 'str').toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: push(bytes(u64(), 'str').toString('utf8')); break; // BINUNICODE8
      case 0x56: push(rawUnicodeEscape(line('UNICODE'))); break; // UNICODE
      case 0x53: push(pythonStringLiteral(line('STRING'), fail)); break; // STRING
      case 0x54: { // BINSTRING (signed length)
        need(4);
        const n = data.readInt32LE(pos);
        pos += 4;
        if (n < 0) fail('BINSTRING with a negative length');
        push(bytes(n, 'str').toString('utf8'));
        break;
      }
      case 0x55: push(bytes(u8(), 'str').toString('utf8')); break; // SHORT_BINSTRING
      case 0x42: push(Buffer.from(bytes(u32(), 'bytes'))); break; // BINBYTES
      case 0x43: push(Buffer.from(bytes(u8(), 'bytes'))); break; // SHORT_BINBYTES
      case 0x8e: push(Buffer.from(bytes(u64(), 'bytes'))); break; // BINBYTES8
      case 0x96: push(Buffer.from(bytes(u64(), 'bytearray'))); break; // BYTEARRAY8

      // Containers
      case 0x5d: push(new PyList()); break; // EMPTY_LIST
      case 0x7d: push(new PyDict()); break; // EMPTY_DICT
      case 0x29: push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x8f: push(new PySet([], false)); break; // EMPTY_SET
      case 0x85: { const a = pop(); push(new PyTuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; } // TUPLE3
      case 0x74: { const items = popMark(); push(new PyTuple(items)); break; } // TUPLE
      case 0x6c: { const items = popMark(); push(new PyList(items)); break; } // LIST
      case 0x64: { const items = popMark(); const d = new PyDict(); setItems(d, items, 'DICT'); push(d); break; } // DICT
      case 0x91: { const items = popMark(); push(new PySet(items, true)); break; } // FROZENSET
      case 0x61: { // APPEND
        const v = pop();
        const list = top();
        if (!(list instanceof PyList)) fail(`APPEND to a ${pyTypeName(list)}, not a list`);
        (list as PyList).items.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!(list instanceof PyList)) fail(`APPENDS to a ${pyTypeName(list)}, not a list`);
        for (const v of items) (list as PyList).items.push(v);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v], 'SETITEM'); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items, 'SETITEMS'); break; } // SETITEMS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof PySet) || set.frozen) fail(`ADDITEMS to a ${pyTypeName(set)}, not a set`);
        for (const v of items) (set as PySet).items.push(v);
        break;
      }

      // Memo
      case 0x71: memoPut(u8()); break; // BINPUT
      case 0x72: memoPut(u32()); break; // LONG_BINPUT
      case 0x70: memoPut(Number(textInt(line('PUT'), 'PUT index'))); break; // PUT
      case 0x94: memoPut(memo.size); break; // MEMOIZE
      case 0x68: memoGet(u8()); break; // BINGET
      case 0x6a: memoGet(u32()); break; // LONG_BINGET
      case 0x67: memoGet(Number(textInt(line('GET'), 'GET index'))); break; // GET

      // Globals and calls: the only place a pickle could reach code, so the allow-list decides.
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        resolveGlobal(module, name);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        resolveGlobal(module as string, name as string);
        break;
      }
      case 0x52: { const args = pop(); callGlobal(pop(), args, 'REDUCE'); break; } // REDUCE
      case 0x81: { const args = pop(); callGlobal(pop(), args, 'NEWOBJ'); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size) fail('NEWOBJ_EX with keyword arguments is not supported');
        callGlobal(pop(), args, 'NEWOBJ_EX');
        break;
      }
      case 0x62: { // BUILD: sets instance state; only dicts (OrderedDict attributes) and tensors have any
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) applyDictState(obj, state, fail);
        else if (!(obj instanceof TorchTensor)) fail(`BUILD cannot set state on a ${pyTypeName(obj)}`);
        break;
      }
      case 0x51: persistent(pop()); break; // BINPERSID
      case 0x50: persistent(line('PERSID')); break; // PERSID

      default: {
        const known = OPCODE_NAMES[op];
        const shown = `0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}`;
        fail(known
          ? `pickle opcode ${shown} ${known} is not supported`
          : `unknown pickle opcode ${shown}; the data is corrupt or not a pickle`);
      }
    }
  }
  opPos = pos;
  return fail('truncated pickle: the data ends before STOP');
}

function applyDictState(obj: PyDict, state: PyValue, fail: Fail): void {
  // State is a dict of attributes, or (dict, slot dict) as copyreg writes it; either part may be None.
  const parts = state instanceof PyTuple && state.items.length === 2 ? state.items : [state];
  for (const part of parts) {
    if (part === null) continue;
    if (!(part instanceof PyDict)) fail(`BUILD state for a dict is a ${pyTypeName(part)}`);
    const attrs = (obj.attrs ??= new PyDict());
    (part as PyDict).keys.forEach((k, i) => attrs.set(k, (part as PyDict).values[i]));
  }
}

function textFloat(s: string, fail: Fail): number {
  const t = s.trim().toLowerCase();
  if (t === 'inf' || t === '+inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (t === 'nan' || t === '+nan' || t === '-nan') return NaN;
  const v = Number(t);
  if (t === '' || Number.isNaN(v)) fail(`FLOAT is not a number: ${printable(s)}`);
  return v;
}

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '',
};

/** Protocol 0 STRING: a Python bytes literal in quotes (repr of a str), escapes and all. */
function pythonStringLiteral(s: string, fail: Fail): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) fail('STRING argument is not quoted');
  const body = s.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\' || i + 1 >= body.length) {
      out += c;
      continue;
    }
    const e = body[++i];
    if (Object.hasOwn(SIMPLE_ESCAPES, e)) out += SIMPLE_ESCAPES[e];
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(e)) {
      const m = /^[0-7]{1,3}/.exec(body.slice(i))![0];
      out += String.fromCharCode(parseInt(m, 8) & 0xff);
      i += m.length - 1;
    } else out += '\\' + e;
  }
  // The literal is bytes (latin1 above); py2 str in torch files is UTF-8 text.
  return Buffer.from(out, 'latin1').toString('utf8');
}

/** Protocol 0 UNICODE: raw-unicode-escape, i.e. latin1 with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m, u4: string | undefined, u8: string | undefined) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

/** Names from a hostile file go into messages: keep them short and free of control characters. */
function printable(s: string): string {
  const clipped = s.length > 200 ? `${s.slice(0, 200)}...` : s;
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return clipped.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
