// Every file the project writes for the user (models, run files, checkpoints, exports) goes
// through here: a temp file beside the target, fsync, then rename, so a crash or a full disk
// never leaves a half-written file where a good one was.
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export function writeAtomically(file: string, parts: Uint8Array[]): void {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    for (const p of parts) {
      let off = 0;
      while (off < p.length) off += writeSync(fd, p, off, p.length - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, file);
}
