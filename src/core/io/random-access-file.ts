import { promises as fs } from 'node:fs';
import { ModelReadError } from '../model';

/**
 * Bounded random-access reads. Readers ask for exactly the byte ranges they need, so a header
 * is parsed without touching the weights, and a length field pointing past the end of the
 * file becomes a ModelReadError instead of a short read or a huge allocation.
 */
export class RandomAccessFile {
  private constructor(readonly path: string, private readonly handle: fs.FileHandle, readonly size: number) {}

  static async open(path: string): Promise<RandomAccessFile> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (e) {
      throw new ModelReadError(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new ModelReadError(path, 'not a regular file');
      return new RandomAccessFile(path, handle, st.size);
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Reads [offset, offset+length); throws naming the file when the range is outside it. */
  async read(offset: number, length: number, what = 'data'): Promise<Buffer> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new ModelReadError(this.path, `${what}: invalid range (offset ${offset}, length ${length})`);
    }
    if (offset + length > this.size) {
      throw new ModelReadError(this.path, `${what}: range ${offset}..${offset + length} is past the end of the file (${this.size} bytes); the file is truncated or corrupt`);
    }
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buf, done, length - done, offset + done);
      if (bytesRead === 0) throw new ModelReadError(this.path, `${what}: unexpected end of file at ${offset + done}`);
      done += bytesRead;
    }
    return buf;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Opens, runs `fn`, always closes. */
export async function withFile<T>(path: string, fn: (f: RandomAccessFile) => Promise<T>): Promise<T> {
  const f = await RandomAccessFile.open(path);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** Git LFS pointer files are what a clone without LFS leaves in place of weights: say so plainly. */
export function lfsPointerProblem(head: Buffer): string | undefined {
  if (head.subarray(0, 40).toString('latin1').startsWith('version https://git-lfs.github.com/spec/')) {
    return 'this is a Git LFS pointer file, not the model itself: fetch the real file (git lfs pull) and open it again';
  }
  return undefined;
}
