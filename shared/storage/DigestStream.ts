/** A pass-through stream that hashes what flows through it and can refuse to end on a mismatch. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface DigestExpectation {
  /** Expected sha256 (hex). */
  sha256?: string;
  /** Expected byte count. */
  size?: number;
  /** Called at the end with the actual values when they differ; its Error fails the stream. */
  onMismatch: (actual: { sha256: string; size: number }) => Error;
}

/**
 * Hashes bytes (sha256, optionally md5) as they pass. With an expectation, a mismatch fails the
 * stream in flush, i.e. BEFORE it ends: a consumer (lib-storage, a file writer) never sees a
 * clean end, so it never commits.
 */
export class DigestStream extends Transform {
  private readonly sha = createHash('sha256');
  private readonly md5: Hash | undefined;
  private count = 0;
  private done: { sha256: string; md5?: string } | undefined;

  constructor(opts: { md5?: boolean; expect?: DigestExpectation } = {}) {
    super();
    this.md5 = opts.md5 ? createHash('md5') : undefined;
    this.expect = opts.expect;
  }

  private readonly expect: DigestExpectation | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sha.update(chunk);
    this.md5?.update(chunk);
    this.count += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.done = { sha256: this.sha.digest('hex'), md5: this.md5?.digest('hex') };
    const e = this.expect;
    if (e && ((e.sha256 !== undefined && e.sha256.toLowerCase() !== this.done.sha256) || (e.size !== undefined && e.size !== this.count))) {
      cb(e.onMismatch({ sha256: this.done.sha256, size: this.count }));
      return;
    }
    cb();
  }

  /** Bytes seen so far. (Not `size`: lib-storage would read that as the total length.) */
  get byteCount(): number {
    return this.count;
  }

  /** Hex sha256; only after the stream flushed. */
  get sha256(): string {
    if (!this.done) throw new Error('DigestStream: sha256 read before the end of the stream');
    return this.done.sha256;
  }

  /** Hex md5 (when enabled); only after the stream flushed. */
  get md5Hex(): string {
    if (!this.done?.md5) throw new Error('DigestStream: md5 not enabled or read before the end');
    return this.done.md5;
  }
}
