/** RangeReader over a local file (positional reads; no whole-file buffering). */
import { open, type FileHandle } from 'node:fs/promises';
import type { RangeReader } from './RangeReader';

/** A local file as a RangeReader; call close() when done. */
export class LocalFileRangeReader implements RangeReader {
  private handle: Promise<FileHandle> | undefined;

  constructor(readonly path: string) {}

  private fh(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'r');
    return this.handle;
  }

  async size(): Promise<number> {
    return (await (await this.fh()).stat()).size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const fh = await this.fh();
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
  }

  async close(): Promise<void> {
    if (this.handle) await (await this.handle).close();
    this.handle = undefined;
  }
}
