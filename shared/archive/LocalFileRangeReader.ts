/** RangeReader over a local file (positional reads; no whole-file buffering). */
import { open, stat } from 'node:fs/promises';
import type { RangeReader } from './RangeReader';

/**
 * A local file as a RangeReader. Each read opens the file briefly: archives are read with a few
 * large ranged reads, and no handle can leak when a caller forgets to close.
 */
export class LocalFileRangeReader implements RangeReader {
  constructor(readonly path: string) {}

  async size(): Promise<number> {
    return (await stat(this.path)).size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const fh = await open(this.path, 'r');
    try {
      const size = (await fh.stat()).size;
      const len = Math.max(0, Math.min(length, size - offset));
      const buf = Buffer.allocUnsafe(len);
      let got = 0;
      while (got < len) {
        const { bytesRead } = await fh.read(buf, got, len - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === len ? buf : buf.subarray(0, got);
    } finally {
      await fh.close();
    }
  }

  /** Nothing to release (kept so callers can treat all RangeReaders alike). */
  async close(): Promise<void> {}
}
