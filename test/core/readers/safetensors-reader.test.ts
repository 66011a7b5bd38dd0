import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelReadError, type ModelFile, type TensorInfo } from '../../../src/core/model';
import { safetensorsReader } from '../../../src/core/readers/safetensors-reader';

const CORPUS = path.resolve(__dirname, '../../../../shared/corpus/bert-family');

let tmp: string;
before(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'st-reader-'));
});
after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Writes u64 N (or `lengthOverride`), the header (JSON value, text or raw bytes), and `dataBytes` zero bytes. */
async function writeSafetensors(name: string, header: unknown, dataBytes: number, lengthOverride?: bigint, dir = tmp): Promise<string> {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthOverride ?? BigInt(text.length));
  const file = path.join(dir, name);
  await fs.writeFile(file, Buffer.concat([len, text, Buffer.alloc(dataBytes)]));
  return file;
}

async function writeRaw(name: string, bytes: Buffer | string): Promise<string> {
  const file = path.join(tmp, name);
  await fs.writeFile(file, bytes);
  return file;
}

/** The read must fail fast with a ModelReadError naming `named` (default: the file) and matching `cause`. */
async function refused(file: string, cause: RegExp, named = file, options?: { maxHeaderBytes?: number }): Promise<void> {
  const start = performance.now();
  await assert.rejects(safetensorsReader.read(file, options), (e: unknown) => {
    assert.ok(e instanceof ModelReadError, `expected ModelReadError, got ${String(e)}`);
    assert.ok(e.message.includes(named), `message should name ${named}: ${e.message}`);
    assert.match(e.message, cause);
    return true;
  });
  assert.ok(performance.now() - start < 1000, 'refusal should be fast');
}

function f32(name: string, shape: number[], begin: number): [string, unknown] {
  const bytes = shape.reduce((a, b) => a * b, 1) * 4;
  return [name, { dtype: 'F32', shape, data_offsets: [begin, begin + bytes] }];
}

function byName(model: ModelFile, name: string): TensorInfo {
  const t = model.tensors.find((x) => x.name === name);
  assert.ok(t, `tensor ${name} not found`);
  return t;
}

/** Data spans, in offset order, cover [8 + N, file size) with no gap or overlap. */
async function assertTiles(model: ModelFile, file: string): Promise<void> {
  const fh = await fs.open(file, 'r');
  const lenBuf = Buffer.alloc(8);
  await fh.read(lenBuf, 0, 8, 0);
  const size = (await fh.stat()).size;
  await fh.close();
  let at = 8 + Number(lenBuf.readBigUInt64LE(0));
  const spans = model.tensors
    .filter((t) => t.data.kind === 'raw' && t.data.file === file)
    .map((t) => (t.data.kind === 'raw' ? t.data : assert.fail()))
    .sort((a, b) => a.offset - b.offset);
  for (const s of spans) {
    assert.equal(s.offset, at);
    at += s.length;
  }
  assert.equal(at, size);
}

describe('safetensors reader: real models', () => {
  const expected: Record<string, number> = { 'bert-mini': 41, 'distilbert-mini': 40, 'albert-mini': 27, 'mobilebert-mini': 79 };
  for (const [model, count] of Object.entries(expected)) {
    it(`reads ${model}`, async () => {
      const file = path.join(CORPUS, model, 'model.safetensors');
      assert.ok(safetensorsReader.accepts(file, Buffer.alloc(0)));
      const m = await safetensorsReader.read(file);
      assert.equal(m.format, 'safetensors');
      assert.equal(m.path, file);
      assert.equal(m.weightsPath, file);
      assert.equal(m.tensors.length, count);
      assert.deepEqual(m.files, [{ path: file, bytes: (await fs.stat(file)).size }]);
      assert.deepEqual(m.warnings, []);
      for (const t of m.tensors) {
        assert.equal(t.origin, 'safetensors');
        assert.equal(t.byteLength, t.elements * 4);
      }
      await assertTiles(m, file);
    });
  }

  it('bert-mini: names, shapes, parameter count', async () => {
    const m = await safetensorsReader.read(path.join(CORPUS, 'bert-mini', 'model.safetensors'));
    const emb = byName(m, 'bert.embeddings.word_embeddings.weight');
    assert.equal(emb.dtype, 'float32');
    assert.deepEqual(emb.shape, [500, 64]);
    assert.equal(emb.elements, 32000);
    assert.deepEqual(byName(m, 'bert.embeddings.position_embeddings.weight').shape, [64, 64]);
    const total = m.tensors.filter((t) => t.dtype === 'float32').reduce((s, t) => s + t.elements, 0);
    assert.equal(total, 140675);
  });

  it('accepts by name or by content', () => {
    assert.ok(safetensorsReader.accepts('/x/model.safetensors.index.json', Buffer.alloc(0)));
    assert.ok(!safetensorsReader.accepts('/x/model.onnx', Buffer.from('\x08\x07\x12\x04')));
    const head = Buffer.alloc(9);
    head.writeBigUInt64LE(100n);
    head[8] = 0x7b;
    assert.ok(safetensorsReader.accepts('/x/weights.bin', head));
  });
});

describe('safetensors reader: valid edge cases', () => {
  it('accepts a header padded with spaces, reads __metadata__, orders by offset', async () => {
    const header = JSON.stringify(Object.fromEntries([f32('b', [2], 8), ['__metadata__', { format: 'pt' }], f32('a', [2], 0)]));
    const file = await writeSafetensors('padded.safetensors', `  ${header}      `, 16);
    const m = await safetensorsReader.read(file);
    assert.deepEqual(m.tensors.map((t) => t.name), ['a', 'b']);
    assert.deepEqual(m.metadata, { format: 'pt' });
    const b = byName(m, 'b');
    assert.deepEqual(b.data, { kind: 'raw', file, offset: 8 + header.length + 8 + 8, length: 8 });
  });

  it('newer dtypes are validated and shown as unknown with a warning', async () => {
    const file = await writeSafetensors('e8m0.safetensors', {
      s: { dtype: 'F8_E8M0', shape: [4], data_offsets: [0, 4] },
      q: { dtype: 'F4', shape: [2, 3], data_offsets: [4, 7] },
    }, 7);
    const m = await safetensorsReader.read(file);
    assert.equal(byName(m, 's').dtype, 'unknown');
    assert.equal(byName(m, 'q').byteLength, 3);
    assert.equal(m.warnings.length, 2);
    assert.match(m.warnings.join('\n'), /F8_E8M0/);
  });

  it('zero-element tensors take no bytes', async () => {
    const file = await writeSafetensors('zero.safetensors', {
      e: { dtype: 'F32', shape: [0, 3], data_offsets: [0, 0] },
      a: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
    }, 8);
    const m = await safetensorsReader.read(file);
    assert.equal(byName(m, 'e').elements, 0);
    assert.equal(byName(m, 'a').elements, 1);
  });
});

describe('safetensors reader: sharded index', () => {
  async function sharded(dirName: string, extra?: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(tmp, dirName);
    await fs.mkdir(dir);
    await writeSafetensors('model-00001-of-00002.safetensors', Object.fromEntries([f32('a', [2, 3], 0), f32('b', [4], 24), ['__metadata__', { format: 'pt' }]]), 40, undefined, dir);
    await writeSafetensors('model-00002-of-00002.safetensors', Object.fromEntries([f32('c', [5], 0), f32('stray', [1], 20)]), 24, undefined, dir);
    await extra?.(dir);
    return dir;
  }
  async function writeIndex(dir: string, weightMap: Record<string, string>): Promise<string> {
    const file = path.join(dir, 'model.safetensors.index.json');
    await fs.writeFile(file, JSON.stringify({ metadata: { total_size: 64 }, weight_map: weightMap }, null, 2));
    return file;
  }

  it('reads tensors from both shards', async () => {
    const dir = await sharded('ok');
    const index = await writeIndex(dir, { a: 'model-00001-of-00002.safetensors', b: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors' });
    const m = await safetensorsReader.read(index);
    assert.equal(m.path, index);
    assert.equal(m.weightsPath, index);
    assert.deepEqual(m.tensors.map((t) => t.name), ['a', 'b', 'c', 'stray']);
    assert.deepEqual(byName(m, 'a').shape, [2, 3]);
    assert.deepEqual(byName(m, 'c').shape, [5]);
    const shard1 = await fs.realpath(path.join(dir, 'model-00001-of-00002.safetensors'));
    const shard2 = await fs.realpath(path.join(dir, 'model-00002-of-00002.safetensors'));
    assert.deepEqual(byName(m, 'a').data, { kind: 'raw', file: shard1, offset: 8 + (await fs.stat(shard1)).size - 8 - 40, length: 24 });
    const cData = byName(m, 'c').data;
    assert.ok(cData.kind === 'raw' && cData.file === shard2);
    assert.deepEqual(m.files.map((f) => f.path), [index, shard1, shard2]);
    assert.equal(m.metadata.total_size, '64');
    assert.equal(m.metadata.format, 'pt');
    assert.match(m.warnings.join('\n'), /'stray' \(in model-00002-of-00002\.safetensors\)/);
    await assertTiles(m, shard1);
    await assertTiles(m, shard2);
  });

  it('refuses a tensor the index maps to a shard that lacks it', async () => {
    const dir = await sharded('missing');
    const index = await writeIndex(dir, { a: 'model-00001-of-00002.safetensors', zz: 'model-00002-of-00002.safetensors' });
    await refused(index, /'zz'/);
  });

  it("refuses '../outside.safetensors'", async () => {
    const dir = await sharded('dotdot');
    await writeSafetensors('outside.safetensors', Object.fromEntries([f32('a', [1], 0)]), 4);
    const index = await writeIndex(dir, { a: '../outside.safetensors' });
    await refused(index, /\.\.\/outside\.safetensors.*not a plain file name/);
  });

  it('refuses an absolute shard path', async () => {
    const dir = await sharded('absolute');
    const outside = await writeSafetensors('outside-abs.safetensors', Object.fromEntries([f32('a', [1], 0)]), 4);
    const index = await writeIndex(dir, { a: outside });
    await refused(index, /absolute path/);
  });

  it('refuses a symlink inside the folder that points outside it', async () => {
    const outside = await writeSafetensors('outside-link.safetensors', Object.fromEntries([f32('a', [1], 0)]), 4);
    const dir = await sharded('symlink', (d) => fs.symlink(outside, path.join(d, 'model-link.safetensors')));
    const index = await writeIndex(dir, { a: 'model-link.safetensors' });
    await refused(index, /model-link\.safetensors.*outside the index's folder/);
  });

  it('refuses a shard that does not exist', async () => {
    const dir = await sharded('absent');
    const index = await writeIndex(dir, { a: 'model-00009-of-00009.safetensors' });
    await refused(index, /cannot be found/);
  });
});

describe('safetensors reader: bad input', () => {
  const twoF32 = Object.fromEntries([f32('a', [2], 0), f32('b', [2], 8)]);

  it('empty file', async () => refused(await writeRaw('empty.safetensors', Buffer.alloc(0)), /empty file/));
  it('4-byte file', async () => refused(await writeRaw('short.safetensors', Buffer.from([1, 2, 3, 4])), /only 4 bytes/));

  it('header length 0xFFFFFFFFFFFFFFFF', async () => {
    const file = await writeSafetensors('max.safetensors', twoF32, 16, 0xffffffffffffffffn);
    await refused(file, /header length 18446744073709551615 is larger than the file/);
  });

  it('header length 2^40', async () => {
    const file = await writeSafetensors('tera.safetensors', twoF32, 16, 2n ** 40n);
    await refused(file, /header length 1099511627776 is larger than the file/);
  });

  it('header length within the file but over the 100 MB limit (sparse file)', async () => {
    const file = await writeSafetensors('sparse.safetensors', '{}', 0, 110_000_000n);
    await fs.truncate(file, 120_000_000);
    await refused(file, /header length 110000000 exceeds the limit of 100000000/);
  });

  it('header length over maxHeaderBytes', async () => {
    const file = await writeSafetensors('limit.safetensors', twoF32, 16);
    await refused(file, /exceeds the limit of 16 bytes/, file, { maxHeaderBytes: 16 });
  });

  it('header length past the end of the file', async () => {
    const file = await writeSafetensors('past.safetensors', '{}', 0, 100n);
    await refused(file, /header length 100 is larger than the file \(10 bytes\)/);
  });

  it('header that is not JSON', async () => refused(await writeSafetensors('nojson.safetensors', 'hello, world', 0), /header is not valid JSON/));
  it('header that is not UTF-8', async () =>
    refused(await writeSafetensors('latin1.safetensors', Buffer.from('{"\xff": 1}', 'latin1'), 0), /header is not valid UTF-8/));
  it('header array instead of object', async () => refused(await writeSafetensors('array.safetensors', '[1, 2]', 0), /must be a JSON object, found an array/));
  it('duplicate tensor names', async () =>
    refused(await writeSafetensors('dup.safetensors', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4), /key 'a' twice/));

  it('overlapping offsets', async () => {
    const file = await writeSafetensors('overlap.safetensors', Object.fromEntries([f32('a', [2], 0), f32('b', [2], 4)]), 12);
    await refused(file, /tensors 'a' and 'b' overlap/);
  });

  it('a hole between tensors', async () => {
    const file = await writeSafetensors('hole.safetensors', Object.fromEntries([f32('a', [2], 0), f32('b', [2], 12)]), 20);
    await refused(file, /hole between tensors 'a' \(ends at 8\) and 'b' \(begins at 12\)/);
  });

  it('bytes after the last tensor', async () => refused(await writeSafetensors('trailing.safetensors', twoF32, 20), /4 trailing bytes/));

  it('shape x dtype size differs from the byte span', async () => {
    const file = await writeSafetensors('size.safetensors', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8);
    await refused(file, /tensor 'a': shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 8\] span 8/);
  });

  it('data_offsets past the end of the file', async () => {
    const file = await writeSafetensors('pastend.safetensors', twoF32, 8);
    await refused(file, /data of 'b' ends at 16 but the file's data section is 8 bytes/);
  });

  it('begin after end', async () =>
    refused(await writeSafetensors('reversed.safetensors', { a: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, 4), /begin after they end/));

  it('unknown dtype', async () =>
    refused(await writeSafetensors('dtype.safetensors', { a: { dtype: 'F12', shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'a': unknown dtype "F12"/));

  it('prototype key as dtype', async () =>
    refused(await writeSafetensors('proto.safetensors', { a: { dtype: 'constructor', shape: [1], data_offsets: [0, 4] } }, 4), /unknown dtype "constructor"/));

  it('a shape nested 20000 arrays deep (found by the fuzzer: printing it overflowed the stack)', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const file = await writeSafetensors('deep.safetensors', `{"a":{"dtype":"F32","shape":${deep},"data_offsets":[0,4]}}`, 4);
    await refused(file, /tensor 'a': shape must be a list of non-negative integers, found \[\[\[\[\.\.\.\]\]\]\]/);
    const offsets = await writeSafetensors('deep-offsets.safetensors', `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,${deep}]}}`, 4);
    await refused(offsets, /tensor 'a': data_offsets must be \[begin, end\] with non-negative integers, found \[0,\[\[\[\.\.\.\]\]\]\]/);
  });

  it('negative dimension', async () =>
    refused(await writeSafetensors('negative.safetensors', { a: { dtype: 'F32', shape: [-1, 2], data_offsets: [0, 8] } }, 8), /tensor 'a': shape must be a list of non-negative integers/));

  it('sub-byte dtype that does not fill whole bytes', async () =>
    refused(await writeSafetensors('f4odd.safetensors', { a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, 2), /whole number of bytes/));

  it('__metadata__ with a non-string value', async () =>
    refused(await writeSafetensors('meta.safetensors', { __metadata__: { n: 3 } }, 0), /__metadata__ must map strings to strings, but 'n' is the number 3/));

  it('a Git LFS pointer file', async () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 567084\n';
    await refused(await writeRaw('lfs.safetensors', pointer), /Git LFS pointer/);
  });

  it('a JSON file named .safetensors', async () =>
    refused(await writeRaw('config.safetensors', '{\n  "hidden_size": 64,\n  "model_type": "bert"\n}\n'), /looks like a JSON file, not safetensors/));
});
