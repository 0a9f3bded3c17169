/**
 * A RangeReader that remembers the last block it fetched. Restoring the members of one archive
 * in offset order then fetches every byte at most once: a member whose first frame was already
 * fetched for the previous member is served from memory, and only the rest is requested.
 */
import type { RangeReader } from '../archive';

export class ForwardRangeReader implements RangeReader {
  private last: { offset: number; data: Buffer } | undefined;
  /** Bytes actually fetched from the underlying reader. */
  bytesFetched = 0;

  constructor(private readonly inner: RangeReader) {}

  size(): Promise<number> {
    return this.inner.size();
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const last = this.last;
    if (last && offset >= last.offset && offset < last.offset + last.data.length) {
      const cached = last.data.subarray(offset - last.offset, Math.min(offset - last.offset + length, last.data.length));
      if (cached.length === length) return cached;
      const rest = await this.fetch(offset + cached.length, length - cached.length);
      return Buffer.concat([cached, rest]);
    }
    return this.fetch(offset, length);
  }

  private async fetch(offset: number, length: number): Promise<Buffer> {
    const data = await this.inner.read(offset, length);
    this.bytesFetched += data.length;
    this.last = { offset, data };
    return data;
  }
}
