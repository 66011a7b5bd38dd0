import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelReadError } from '../../../src/core/model';
import type { ModelFile } from '../../../src/core/model';
import { pytorchReader } from '../../../src/core/readers/pytorch-reader';
import { BERT_FAMILY as CORPUS, BERT_MODELS as MODELS } from '../../helpers/paths';
import { makeZip, P, pk, tensorPickle, type ZipInput } from '../../helpers/torch-zip';

// ---------------------------------------------------------------------------------------------
// Helpers: a safetensors header reader (the ZIP writer and pickle assembler are in helpers/torch-zip.ts).

interface SafetensorsEntry { dtype: string; shape: number[]; data_offsets: [number, number] }

function readSafetensors(file: string): { dataStart: number; tensors: Record<string, SafetensorsEntry> } {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n)) as Record<string, SafetensorsEntry>;
  delete header.__metadata__;
  return { dataStart: 8 + n, tensors: header };
}

let tmp = '';
let counter = 0;
function writeTmp(data: Buffer, ext = '.bin'): string {
  const file = path.join(tmp, `case-${++counter}${ext}`);
  fs.writeFileSync(file, data);
  return file;
}

/** Asserts a fast, clean ModelReadError whose message names the file and contains `cause`. */
async function expectReadError(file: string, cause: RegExp): Promise<ModelReadError> {
  const t0 = Date.now();
  let caught: unknown;
  try {
    await pytorchReader.read(file);
  } catch (e) {
    caught = e;
  }
  const elapsed = Date.now() - t0;
  assert.ok(caught instanceof ModelReadError, `expected a ModelReadError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.ok(caught.message.includes(file), `message should name the file: ${caught.message}`);
  assert.match(caught.message, cause);
  assert.ok(elapsed < 1000, `took ${elapsed} ms`);
  return caught;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mcl-pytorch-reader-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('pytorchReader on the bert-family corpus', () => {
  for (const model of MODELS) {
    it(`${model}: names, shapes and bytes match model.safetensors`, async () => {
      const binPath = path.join(CORPUS, model, 'pytorch_model.bin');
      const st = readSafetensors(path.join(CORPUS, model, 'model.safetensors'));
      const m: ModelFile = await pytorchReader.read(binPath);

      assert.equal(m.format, 'pytorch');
      assert.equal(m.path, binPath);
      assert.equal(m.weightsPath, binPath);
      assert.deepEqual(m.files, [{ path: binPath, bytes: fs.statSync(binPath).size }]);
      assert.equal(m.metadata.archive, 'pytorch_model');
      assert.equal(m.metadata.version, '3');
      assert.deepEqual(m.warnings, []);

      const floats = m.tensors.filter((t) => t.dtype.startsWith('float') || t.dtype === 'bfloat16');
      assert.deepEqual(floats.map((t) => t.name).sort(), Object.keys(st.tensors).sort());

      const bin = fs.readFileSync(binPath);
      const stBuf = fs.readFileSync(path.join(CORPUS, model, 'model.safetensors'));
      for (const t of m.tensors) {
        const ref = st.tensors[t.name];
        if (!ref) continue;
        assert.deepEqual(t.shape, ref.shape, t.name);
        assert.equal(t.origin, 'state-dict');
        assert.equal(t.elements, ref.shape.reduce((a, b) => a * b, 1));
        assert.equal(t.byteLength, t.elements * 4);
        assert.match(t.storageKey ?? '', /^pytorch_model\/data\/\d+$/);
        assert.equal(t.data.kind, 'raw', t.name);
        if (t.data.kind !== 'raw') continue;
        assert.equal(t.data.file, binPath);
        assert.equal(t.data.length, t.byteLength);
        const mine = bin.subarray(t.data.offset, t.data.offset + t.data.length);
        const theirs = stBuf.subarray(st.dataStart + ref.data_offsets[0], st.dataStart + ref.data_offsets[1]);
        assert.ok(mine.equals(theirs), `${t.name}: bytes differ from safetensors`);
      }
    });
  }

  it('accepts torch extensions and ZIP magic', () => {
    const zip = Buffer.from('PK\x03\x04', 'latin1');
    const other = Buffer.from('ONNX');
    for (const ext of ['.bin', '.pt', '.pth', '.ckpt', '.PT']) assert.equal(pytorchReader.accepts(`m${ext}`, other), true, ext);
    assert.equal(pytorchReader.accepts('model', zip), true);
    assert.equal(pytorchReader.accepts('model.onnx', other), false);
    assert.equal(pytorchReader.format, 'pytorch');
  });
});

describe('pytorchReader on built checkpoints', () => {
  // A checkpoint dict: {'state_dict': OrderedDict(w, a view of w, a transposed view), 'epoch': 5}.
  const storage = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) storage.writeFloatLE(i, i * 4);
  const checkpointPickle = pk(
    P.proto(2), '}',
    P.str('state_dict'), P.global('collections', 'OrderedDict'), ')R', '(',
    P.str('w'), tensorPickle('0', 6, 0, [2, 3], [3, 1]),
    P.str('w_tail'), tensorPickle('0', 6, 2, [2], [1]),
    P.str('w_t'), tensorPickle('0', 6, 0, [3, 2], [1, 3]),
    'u', 's',
    P.str('epoch'), P.int(5), 's',
    P.str('name'), P.shortStr('run-1'), 's',
    '.',
  );

  for (const variant of ['plain', 'zip64', 'deflated storage'] as const) {
    it(`reads a wrapped state dict (${variant} ZIP)`, async () => {
      const zip = makeZip([
        { name: 'ckpt/data.pkl', data: checkpointPickle, deflate: variant === 'deflated storage' },
        { name: 'ckpt/data/0', data: storage, deflate: variant === 'deflated storage' },
        { name: 'ckpt/version', data: Buffer.from('3\n') },
        { name: 'ckpt/byteorder', data: Buffer.from('little') },
      ], { zip64: variant === 'zip64' });
      const file = writeTmp(zip, '.ckpt');
      const m = await pytorchReader.read(file);

      assert.deepEqual(m.tensors.map((t) => t.name), ['w', 'w_tail', 'w_t']);
      assert.equal(m.metadata.stateDictKey, 'state_dict');
      assert.equal(m.metadata.archive, 'ckpt');
      assert.equal(m.metadata.byteorder, 'little');
      assert.equal(new Set(m.tensors.map((t) => t.storageKey)).size, 1, 'views share one storage');
      assert.equal(m.tensors[0].storageKey, 'ckpt/data/0');
      const [w, tail, wt] = m.tensors;
      assert.deepEqual([w.shape, tail.shape, wt.shape], [[2, 3], [2], [3, 2]]);
      assert.deepEqual([w.storageOffset, tail.storageOffset], [0, 2]);
      assert.equal(wt.data.kind, 'none', 'a transposed view has no contiguous bytes');

      if (variant === 'deflated storage') {
        assert.equal(w.data.kind, 'none');
        assert.ok(m.warnings.some((s) => s.includes('compressed')));
        return;
      }
      assert.ok(m.warnings.some((s) => s.includes('non-contiguous')));
      assert.equal(w.data.kind, 'raw');
      assert.equal(tail.data.kind, 'raw');
      if (w.data.kind !== 'raw' || tail.data.kind !== 'raw') return;
      const bytes = fs.readFileSync(file);
      assert.ok(bytes.subarray(w.data.offset, w.data.offset + w.data.length).equals(storage));
      const t = bytes.subarray(tail.data.offset, tail.data.offset + tail.data.length);
      assert.deepEqual([t.readFloatLE(0), t.readFloatLE(4)], [2, 3]);
    });
  }

  it('reads protocol 4 pickles (FRAME, STACK_GLOBAL, MEMOIZE, BINGET) and _rebuild_parameter', async () => {
    const body = pk(
      P.shortStr('collections'), P.shortStr('OrderedDict'), '\x93', '\x94', ')R', '\x94',
      P.shortStr('w'),
      P.shortStr('torch._utils'), P.shortStr('_rebuild_parameter'), '\x93',
      '(',
      P.shortStr('torch._utils'), P.shortStr('_rebuild_tensor_v2'), '\x93', '\x94',
      '(', P.tuple(P.shortStr('storage'), P.shortStr('torch'), P.shortStr('FloatStorage'), '\x93', P.shortStr('0'), P.shortStr('cpu'), P.int(6)), 'Q',
      P.int(0), P.tuple(P.int(6)), P.tuple(P.int(1)), '\x89', 'h\x00', ')R', 't', 'R',
      '\x88', 'h\x00', ')R', 't', 'R',
      's', '.',
    );
    const frame = Buffer.alloc(9);
    frame[0] = 0x95;
    frame.writeBigUInt64LE(BigInt(body.length), 1);
    const file = writeTmp(makeZip([{ name: 'p4/data.pkl', data: pk(P.proto(4), frame, body) }, { name: 'p4/data/0', data: storage }]));
    const m = await pytorchReader.read(file);
    assert.deepEqual(m.tensors.map((t) => [t.name, t.dtype, t.shape]), [['w', 'float32', [6]]]);
  });

  it('keeps full paths when tensors sit under several top-level keys', async () => {
    const pickle = pk(
      P.proto(2), '}', '(',
      P.str('model'), '}', P.str('w'), tensorPickle('0', 6, 0, [6], [1]), 's',
      P.str('ema'), '}', P.str('w'), tensorPickle('0', 6, 0, [6], [1]), 's',
      'u', '.',
    );
    const file = writeTmp(makeZip([{ name: 'a/data.pkl', data: pickle }, { name: 'a/data/0', data: storage }]));
    const m = await pytorchReader.read(file);
    assert.deepEqual(m.tensors.map((t) => t.name), ['model.w', 'ema.w']);
    assert.equal(m.metadata.stateDictKey, undefined);
  });
});

describe('pytorchReader refuses bad input', () => {
  const pwned = `/tmp/pwned-${crypto.randomBytes(6).toString('hex')}`;
  const wrap = (pickle: Buffer, extra: ZipInput[] = []) => writeTmp(makeZip([{ name: 'archive/data.pkl', data: pickle }, ...extra]));

  it('refuses os.system via GLOBAL + REDUCE, and runs nothing', async () => {
    const file = wrap(pk(P.proto(2), P.global('os', 'system'), P.tuple(P.str(`touch ${pwned}`)), 'R.'));
    const e = await expectReadError(file, /refused to load: the pickle references os\.system, which is not part of a PyTorch state dict \(it could run code\)/);
    assert.ok(e instanceof ModelReadError);
    assert.equal(fs.existsSync(pwned), false);
  });

  it('refuses posix.system via STACK_GLOBAL + REDUCE, and runs nothing', async () => {
    const file = wrap(pk(P.proto(4), P.shortStr('posix'), P.shortStr('system'), '\x93', P.tuple(P.str(`touch ${pwned}`)), 'R.'));
    await expectReadError(file, /refused to load: the pickle references posix\.system/);
    assert.equal(fs.existsSync(pwned), false);
  });

  it('refuses builtins.eval, subprocess.Popen and getattr tricks', async () => {
    for (const [module, name] of [['builtins', 'eval'], ['__builtin__', 'eval'], ['subprocess', 'Popen'], ['builtins', 'getattr'], ['torch', 'load']]) {
      const file = wrap(pk(P.proto(2), P.global(module, name), P.tuple(P.str('1+1')), 'R.'));
      await expectReadError(file, new RegExp(`refused to load: the pickle references ${module}\\.${name}\\b`));
    }
    // A dotted STACK_GLOBAL name must not reach past the allow-list either.
    const file = wrap(pk(P.proto(4), P.shortStr('torch._utils'), P.shortStr('_rebuild_tensor_v2.__globals__'), '\x93.'));
    await expectReadError(file, /refused to load/);
  });

  it('names harmless but unsupported torch rebuilders', async () => {
    const file = wrap(pk(P.proto(2), P.global('torch._utils', '_rebuild_qtensor'), ')R.'));
    await expectReadError(file, /_rebuild_qtensor \(quantized tensors\), which this reader does not support/);
  });

  it('rejects a truncated .bin (cut at half)', async () => {
    const bin = fs.readFileSync(path.join(CORPUS, 'bert-mini', 'pytorch_model.bin'));
    await expectReadError(writeTmp(bin.subarray(0, bin.length >> 1)), /truncated/);
  });

  it('rejects a ZIP whose central directory offset is past the end', async () => {
    const zip = makeZip([{ name: 'archive/data.pkl', data: pk(P.proto(2), '}.') }]);
    zip.writeUInt32LE(zip.length + 1000, zip.length - 22 + 16);
    await expectReadError(writeTmp(zip), /central directory .* outside the file/);
  });

  it('rejects flipped bytes in data.pkl (CRC mismatch)', async () => {
    const bin = Buffer.from(fs.readFileSync(path.join(CORPUS, 'bert-mini', 'pytorch_model.bin')));
    const dataStart = 30 + bin.readUInt16LE(26) + bin.readUInt16LE(28); // data.pkl is the first entry
    for (let i = 100; i < 110; i++) bin[dataStart + i] ^= 0xff;
    await expectReadError(writeTmp(bin), /data\.pkl.*CRC-32 mismatch/);
  });

  it('survives random corruption of data.pkl with a valid CRC: success or ModelReadError, never a crash', async () => {
    const bin = fs.readFileSync(path.join(CORPUS, 'albert-mini', 'pytorch_model.bin'));
    const dataStart = 30 + bin.readUInt16LE(26) + bin.readUInt16LE(28);
    const pickle = bin.subarray(dataStart, dataStart + 4692);
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let round = 0; round < 150; round++) {
      const bad = Buffer.from(pickle);
      for (let k = 0; k < 1 + rand(4); k++) bad[rand(bad.length)] = rand(256);
      const file = wrap(bad, [{ name: 'archive/data/0', data: Buffer.alloc(32000) }]);
      try {
        await pytorchReader.read(file);
      } catch (e) {
        assert.ok(e instanceof ModelReadError, `round ${round}: ${(e as Error).stack}`);
        assert.ok(e.message.includes(file));
      }
      fs.rmSync(file);
    }
  });

  it('rejects an unknown opcode, naming the byte and position', async () => {
    const file = wrap(pk(P.proto(2), '}', '\xff', '.'));
    await expectReadError(file, /unknown pickle opcode 0xff.*offset 3/);
  });

  it('handles 100000 levels of nested lists without overflowing the stack', async () => {
    const file = wrap(pk(P.proto(2), ']'.repeat(100_000), 'a'.repeat(99_999), '.'));
    await expectReadError(file, /nests dicts\/lists more than \d+ levels/);
    const inDict = wrap(pk(P.proto(2), '}', P.str('x'), ']'.repeat(100_000), 'a'.repeat(99_999), 's.'));
    await expectReadError(inDict, /nests dicts\/lists more than \d+ levels/);
    const marks = wrap(pk(P.proto(2), '('.repeat(200_000), '.'));
    await expectReadError(marks, /MARKs/);
  });

  it('rejects a stored storage whose compressed size is smaller than its size (found by the fuzzer: its tensor was mapped over the next entry)', async () => {
    const zip = makeZip([
      { name: 'archive/data.pkl', data: pk(P.proto(2), '}', P.str('w'), tensorPickle('0', 6, 0, [6], [1]), 's.') },
      { name: 'archive/data/0', data: Buffer.alloc(24) },
      { name: 'archive/version', data: Buffer.from('3\n') },
    ]);
    const central = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1'), zip.indexOf(Buffer.from('archive/data/0')) + 1);
    const storage = zip.indexOf(Buffer.from('PK\x01\x02', 'latin1'), central + 1);
    assert.equal(zip.toString('utf8', storage + 46, storage + 46 + 14), 'archive/data/0');
    zip.writeUInt32LE(20, storage + 20); // 20 bytes stored, 24 declared
    await expectReadError(writeTmp(zip), /ZIP entry "archive\/data\/0" is stored uncompressed but its sizes differ \(20 bytes stored, 24 declared\)/);
  });

  it('rejects a storage key that escapes the data/ folder and a view past its storage', async () => {
    const escape = wrap(pk(P.proto(2), '}', P.str('w'), tensorPickle('../version', 1, 0, [1], [1]), 's.'));
    await expectReadError(escape, /storage key "\.\.\/version" is not a valid entry name/);
    const past = wrap(pk(P.proto(2), '}', P.str('w'), tensorPickle('0', 6, 4, [3], [1]), 's.'), [{ name: 'archive/data/0', data: Buffer.alloc(24) }]);
    await expectReadError(past, /tensor "w": view .* reaches past its storage/);
    const missing = wrap(pk(P.proto(2), '}', P.str('w'), tensorPickle('7', 6, 0, [6], [1]), 's.'));
    await expectReadError(missing, /storage "archive\/data\/7" is not in the archive/);
  });

  it('refuses _rebuild_from_type_v2 nested in itself (no recursion on hostile nesting)', async () => {
    let args = P.tuple();
    for (let i = 0; i < 20_000; i++) {
      args = P.tuple(P.global('torch._tensor', '_rebuild_from_type_v2'), P.global('torch', 'Tensor'), args, '}');
    }
    const file = wrap(pk(P.proto(2), P.global('torch._tensor', '_rebuild_from_type_v2'), args, 'R.'));
    await expectReadError(file, /_rebuild_from_type_v2 nested in itself/);
  });

  it('rejects an empty file', async () => {
    await expectReadError(writeTmp(Buffer.alloc(0)), /empty file/);
  });

  it('rejects a Git LFS pointer', async () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 577836\n';
    await expectReadError(writeTmp(Buffer.from(pointer)), /Git LFS pointer/);
  });

  it('rejects a legacy (non-zip) torch.save file', async () => {
    const legacy = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
    await expectReadError(writeTmp(legacy, '.pt'), /legacy \(pre-1\.6, non-zip\) torch\.save format is not supported; re-save it with torch\.save\(\.\.\., _use_new_zipfile_serialization=True\)/);
  });

  it('rejects a TorchScript archive', async () => {
    const file = writeTmp(makeZip([
      { name: 'model/data.pkl', data: pk(P.proto(2), '}.') },
      { name: 'model/constants.pkl', data: pk(P.proto(2), ').') },
      { name: 'model/code/__torch__.py', data: Buffer.from('class M: pass\n') },
    ]), '.pt');
    await expectReadError(file, /TorchScript archive: not supported, export a state_dict/);
  });

  it('rejects a ZIP that is not a torch checkpoint, and a non-ZIP file', async () => {
    await expectReadError(writeTmp(makeZip([{ name: 'readme.txt', data: Buffer.from('hi') }])), /no <archive>\/data\.pkl entry/);
    await expectReadError(writeTmp(Buffer.from('GGUF and more bytes here')), /not a PyTorch checkpoint/);
  });

  it('rejects a data.pkl that is not a state dict', async () => {
    await expectReadError(wrap(pk(P.proto(2), P.int(7), '.')), /holds a int, not a state dict/);
  });
});
