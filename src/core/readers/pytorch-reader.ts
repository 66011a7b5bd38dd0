import * as nodePath from 'node:path';
import { byteLengthOf, DTYPE_BITS, ModelReadError, product } from '../model';
import type { ModelFile, ModelReader, ReadOptions, TensorData, TensorInfo } from '../model';
import { lfsPointerProblem, withFile } from '../io/random-access-file';
import type { RandomAccessFile } from '../io/random-access-file';
import { ZipArchive } from './zip-archive';
import type { ZipEntry } from './zip-archive';
import {
  PyDict, PyList, PyTuple, TorchStorageRef, TorchStorageType, TorchTensor, pyTypeName, unpickle,
} from './restricted-unpickler';
import type { PyValue } from './restricted-unpickler';

/**
 * PyTorch checkpoints (torch.save, zip format, PyTorch >= 1.6), read without executing them.
 *
 * A torch.save file is a ZIP archive: `<archive>/data.pkl` is a pickle of the saved object, in
 * which every tensor is `_rebuild_tensor_v2(storage, offset, size, stride, ...)` and every
 * storage a persistent id ('storage', StorageClass, key, location, numel) naming the entry
 * `<archive>/data/<key>` that holds its bytes, stored uncompressed. Reading is header-only: the
 * ZIP directory, data.pkl, a few tiny metadata entries and one 30-byte local header per storage
 * (to learn where its bytes start); never the storages themselves.
 */

const EXTENSIONS = new Set(['.bin', '.pt', '.pth', '.ckpt']);
const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/** data.pkl size accepted when ReadOptions.maxHeaderBytes is not given: ~100x a 100k-tensor state dict. */
const DEFAULT_MAX_PICKLE_BYTES = 128 * 1024 * 1024;
/** Dict/list nesting we walk; real checkpoints nest a handful of levels. */
const MAX_NESTING = 64;

/**
 * Top-level keys that wrap the state dict in training checkpoints ({'state_dict': ...},
 * {'model': ...}). When every tensor sits under one of these, the key is stripped so names match
 * the model's own parameter names. If tensors sit under several keys (model + optimizer state),
 * nothing is stripped: full dotted paths are the only unambiguous names then.
 */
const WRAPPER_KEYS = new Set(['state_dict', 'model_state_dict', 'model_state', 'model', 'module', 'net', 'network', 'weights', 'params']);

export const pytorchReader: ModelReader = {
  format: 'pytorch',
  accepts(path: string, head: Buffer): boolean {
    return EXTENSIONS.has(nodePath.extname(path).toLowerCase()) || isZip(head);
  },
  read(path: string, options?: ReadOptions): Promise<ModelFile> {
    const abs = nodePath.resolve(path);
    return withFile(abs, (f) => readCheckpoint(f, abs, options ?? {}));
  },
};

function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.subarray(0, 4).equals(ZIP_MAGIC);
}

async function readCheckpoint(f: RandomAccessFile, file: string, options: ReadOptions): Promise<ModelFile> {
  const fail = (problem: string): never => {
    throw new ModelReadError(file, problem);
  };
  if (f.size === 0) fail('empty file');
  const head = await f.read(0, Math.min(f.size, 64), 'file header');
  const lfs = lfsPointerProblem(head);
  if (lfs) fail(lfs);
  if (!isZip(head)) {
    // Pre-1.6 torch.save wrote a bare pickle stream (protocol 2: 0x80 0x02) followed by raw storages.
    if (head[0] === 0x80) {
      fail('legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with torch.save(..., _use_new_zipfile_serialization=True)');
    }
    fail(`not a PyTorch checkpoint: torch.save files are ZIP archives, but this file starts with ${head.subarray(0, 4).toString('hex')}`);
  }

  const zip = await ZipArchive.open(f);
  const warnings: string[] = [];
  if (zip.duplicateNames.length) warnings.push(`the archive repeats ${zip.duplicateNames.length} entry name(s) (e.g. "${zip.duplicateNames[0]}"); the first of each was used`);

  // TorchScript (torch.jit.save) is also a ZIP with data.pkl, but its tensors belong to code.
  if (zip.entries.some((e) => /^[^/]+\/(constants\.pkl$|code\/)/.test(e.name))) {
    fail('TorchScript archive: not supported, export a state_dict instead (torch.save(model.state_dict(), path)) and open that');
  }
  const pickles = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pickles.length === 0) fail('no <archive>/data.pkl entry: this ZIP archive is not a torch.save checkpoint');
  if (pickles.length > 1) warnings.push(`the archive holds ${pickles.length} data.pkl entries; "${pickles[0].name}" was read`);
  const pklEntry = pickles[0];
  const archive = pklEntry.name.slice(0, pklEntry.name.indexOf('/'));

  const metadata: Record<string, string> = { archive };
  const smallText = async (name: string, max: number): Promise<string | undefined> => {
    const e = zip.get(name);
    return e ? (await zip.read(e, max)).toString('utf8').trim() : undefined;
  };
  const version = (await smallText(`${archive}/version`, 64)) ?? (await smallText(`${archive}/.data/version`, 64));
  if (version !== undefined) metadata.version = version;
  const byteorder = await smallText(`${archive}/byteorder`, 16);
  if (byteorder !== undefined) {
    if (byteorder !== 'little' && byteorder !== 'big') fail(`${archive}/byteorder says "${byteorder.slice(0, 16)}", expected "little" or "big"`);
    metadata.byteorder = byteorder;
  }
  const serializationId = await smallText(`${archive}/.data/serialization_id`, 256);
  if (serializationId !== undefined) metadata.serializationId = serializationId;

  const maxPickle = options.maxHeaderBytes ?? DEFAULT_MAX_PICKLE_BYTES;
  const pkl = await zip.read(pklEntry, maxPickle);
  const root = unpickle(pkl, {
    file,
    what: pklEntry.name,
    persistentLoad: storagePersistentLoad(),
  });

  const found = collectTensors(root, archive, file, pklEntry.name);
  const stripped = stripWrappers(found);
  if (stripped.length) metadata.stateDictKey = stripped.join('.');

  const tensors = await describeTensors(found, { zip, archive, file, bigEndian: byteorder === 'big', warnings });
  return {
    path: file,
    weightsPath: file,
    format: 'pytorch',
    files: [{ path: file, bytes: f.size }],
    tensors,
    metadata,
    warnings,
  };
}

/** torch.save's persistent ids: ('storage', StorageClass, key, location, numel). */
function storagePersistentLoad(): (pid: PyValue, fail: (p: string) => never) => PyValue {
  const byKey = new Map<string, TorchStorageRef>();
  return (pid, fail) => {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
      return fail(`persistent id is a ${pyTypeName(pid)}, not a ('storage', type, key, location, numel) tuple`);
    }
    const [, type, key, location, numel] = pid.items;
    if (!(type instanceof TorchStorageType)) return fail(`storage type is a ${pyTypeName(type)}, not a storage class`);
    // The key names an archive entry: keep it to a plain file name so it cannot point elsewhere.
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,128}$/.test(key) || key === '.' || key === '..') {
      return fail(`storage key ${typeof key === 'string' ? JSON.stringify(key.slice(0, 40)) : pyTypeName(key)} is not a valid entry name`);
    }
    if (typeof location !== 'string') return fail(`storage location is a ${pyTypeName(location)}, not a str`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return fail(`storage ${key} has an invalid element count`);
    const known = byKey.get(key);
    if (known && known.storageType === type && known.numel === numel) return known;
    const ref = new TorchStorageRef(key, type, location, numel);
    if (!known) byKey.set(key, ref);
    return ref;
  };
}

interface FoundTensor {
  path: string[];
  tensor: TorchTensor;
}

/**
 * Every tensor reachable through dicts, lists and tuples, with its key path. Other values
 * (epoch counters, config strings, OrderedDict `_metadata`) are ignored. Depth-limited; a
 * container reached twice (shared or cyclic references) is walked once.
 */
function collectTensors(root: PyValue, archive: string, file: string, what: string): FoundTensor[] {
  if (root instanceof TorchTensor) return [{ path: [archive], tensor: root }];
  if (!(root instanceof PyDict || root instanceof PyList || root instanceof PyTuple)) {
    throw new ModelReadError(file, `${what} holds a ${pyTypeName(root)}, not a state dict`);
  }
  const found: FoundTensor[] = [];
  const visited = new Set<PyValue>();
  const walk = (v: PyValue, path: string[]): void => {
    if (v instanceof TorchTensor) {
      found.push({ path, tensor: v });
      return;
    }
    if (!(v instanceof PyDict || v instanceof PyList || v instanceof PyTuple) || visited.has(v)) return;
    if (path.length >= MAX_NESTING) {
      throw new ModelReadError(file, `${what} nests dicts/lists more than ${MAX_NESTING} levels deep; that is not a state dict`);
    }
    visited.add(v);
    if (v instanceof PyDict) {
      v.keys.forEach((k, i) => {
        if (typeof k === 'string' || typeof k === 'number' || typeof k === 'bigint') walk(v.values[i], [...path, String(k)]);
      });
    } else {
      v.items.forEach((item, i) => walk(item, [...path, String(i)]));
    }
  };
  walk(root, []);
  return found;
}

/** Drops wrapper keys (see WRAPPER_KEYS) from the paths in place; returns the keys dropped. */
function stripWrappers(found: FoundTensor[]): string[] {
  const stripped: string[] = [];
  while (found.length) {
    const first = found[0].path[0];
    if (!WRAPPER_KEYS.has(first) || !found.every((t) => t.path.length > 1 && t.path[0] === first)) break;
    for (const t of found) t.path = t.path.slice(1);
    stripped.push(first);
  }
  return stripped;
}

interface DescribeContext {
  zip: ZipArchive;
  archive: string;
  file: string;
  bigEndian: boolean;
  warnings: string[];
}

/** Row-major contiguity; size-1 dims may carry any stride (torch does the same). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

async function describeTensors(found: FoundTensor[], ctx: DescribeContext): Promise<TensorInfo[]> {
  const { zip, archive, file } = ctx;
  const tensors: TensorInfo[] = [];
  const names = new Set<string>();
  const skipped = { duplicate: [] as string[], compressed: [] as string[], strided: [] as string[], unknown: [] as string[] };

  for (const { path, tensor } of found) {
    const name = path.join('.');
    if (names.has(name)) {
      skipped.duplicate.push(name);
      continue;
    }
    names.add(name);
    const { storage, shape, stride, storageOffset } = tensor;
    const bad = (problem: string): never => {
      throw new ModelReadError(file, `tensor "${name}": ${problem}`);
    };
    const dtype = storage.storageType.dtype;
    const itemBytes = DTYPE_BITS[dtype] / 8;
    const elements = product(shape);
    if (!Number.isSafeInteger(elements)) bad(`shape [${shape.join(', ')}] has too many elements`);

    const storageKey = `${archive}/data/${storage.key}`;
    const entry: ZipEntry | undefined = zip.get(storageKey);
    if (!entry) return bad(`its storage "${storageKey}" is not in the archive; the file is truncated or corrupt`);
    if (itemBytes > 0 && entry.uncompressedSize < storage.numel * itemBytes) {
      bad(`storage "${storageKey}" is ${entry.uncompressedSize} bytes, but holds ${storage.numel} ${dtype} elements (${storage.numel * itemBytes} bytes); the file is corrupt`);
    }
    if (elements > 0) {
      // The last element the view touches must lie inside the storage.
      let last = storageOffset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
      if (!Number.isSafeInteger(last) || last >= storage.numel) {
        bad(`view (offset ${storageOffset}, shape [${shape.join(', ')}], stride [${stride.join(', ')}]) reaches past its storage of ${storage.numel} elements; the file is corrupt`);
      }
    }

    const byteLength = byteLengthOf(dtype, elements);
    let data: TensorData = { kind: 'none' };
    if (elements === 0) {
      // nothing to point at
    } else if (dtype === 'unknown' || itemBytes === 0) {
      skipped.unknown.push(name);
    } else if (ctx.bigEndian) {
      // TensorData 'raw' promises little-endian bytes; leave big-endian storages unmapped.
    } else if (entry.method !== 0) {
      skipped.compressed.push(name);
    } else if (!isContiguous(shape, stride)) {
      skipped.strided.push(name);
    } else {
      const base = await zip.dataOffset(entry);
      data = { kind: 'raw', file, offset: base + storageOffset * itemBytes, length: byteLength };
    }

    tensors.push({
      name, dtype, shape: [...shape], elements, byteLength, origin: 'state-dict', data, storageKey, storageOffset,
    });
  }

  const some = (list: string[]) => `${list.slice(0, 3).map((n) => `"${n}"`).join(', ')}${list.length > 3 ? ` and ${list.length - 3} more` : ''}`;
  if (skipped.duplicate.length) ctx.warnings.push(`${skipped.duplicate.length} tensor name(s) occur twice (${some(skipped.duplicate)}); only the first of each is listed`);
  if (skipped.unknown.length) ctx.warnings.push(`${skipped.unknown.length} tensor(s) have storages of unknown element type (${some(skipped.unknown)}); their data is not mapped`);
  if (ctx.bigEndian && tensors.length) ctx.warnings.push('the checkpoint stores big-endian data; tensor data is not mapped');
  if (skipped.compressed.length) ctx.warnings.push(`${skipped.compressed.length} tensor(s) have compressed storages (${some(skipped.compressed)}); their data is not mapped`);
  if (skipped.strided.length) ctx.warnings.push(`${skipped.strided.length} tensor(s) are non-contiguous views (${some(skipped.strided)}); their data is not mapped`);
  return tensors;
}
