/** Pull-style reading of exact byte counts from an async iterable of chunks (the decompressed tar stream). */

/** Reads exact byte counts from a chunk iterator without copying when a chunk suffices. */
export class ByteSource {
  private current: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes handed out so far (the uncompressed tar offset). */
  position = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  private async fill(): Promise<boolean> {
    while (this.current.length === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.current = r.value;
    }
    return true;
  }

  /** Up to `max` bytes (at least 1), or undefined at end of input. */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const out = this.current.length <= max ? this.current : this.current.subarray(0, max);
    this.current = this.current.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** The next `n` bytes as a view, without consuming them, when the current chunk holds them all. */
  peek(n: number): Buffer | undefined {
    return this.current.length >= n ? this.current.subarray(0, n) : undefined;
  }

  /** Exactly `n` bytes, or fewer only if the input ends first. */
  async readExact(n: number): Promise<Buffer> {
    const first = await this.readSome(n);
    if (!first || first.length === n) return first ?? Buffer.alloc(0);
    const parts = [first];
    let have = first.length;
    while (have < n) {
      const b = await this.readSome(n - have);
      if (!b) break;
      parts.push(b);
      have += b.length;
    }
    return Buffer.concat(parts, have);
  }

  /** Discards `n` bytes; returns how many were actually skipped. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      const b = await this.readSome(left);
      if (!b) break;
      left -= b.length;
    }
    return n - left;
  }
}
