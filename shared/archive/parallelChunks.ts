/**
 * The decompressed tar stream of one of our archives, from frames decoded in parallel
 * (decodeFrames.ts), for readArchiveStream's seek-table path: each chunk is one whole decoded
 * frame, a view of a pooled shared buffer that is counted (FrameRef) so a consumer can borrow a
 * member's bytes without a copy; and the workers hash every manifest member wholly inside a frame.
 */
import type { Readable } from 'node:stream';
import { decodeFrames, framesFromReader, framesFromStream } from './decodeFrames';
import type { DecompressState } from './decompressFrames';
import { sharedFrameDecoderPool, type DecodedFrame, type FrameDecoderPool } from './FrameDecoderPool';
import type { Manifest, ManifestObject } from './manifest';
import type { RangeReader } from './RangeReader';
import type { SeekFrame, SeekTable } from './seekTable';
import { padding } from './tarHeader';

/** A decoded frame's shared buffer, counted: back to the pool once the reader and every borrower let go. */
export class FrameRef {
  private refs = 1;
  constructor(private readonly frame: DecodedFrame) {}

  /** One more holder; the returned function lets go (once). */
  retain(): () => void {
    this.refs++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.drop();
    };
  }

  /** The reader lets go. */
  drop(): void {
    if (--this.refs === 0) this.frame.release();
  }
}

/** The manifest member whose header, data or padding holds an uncompressed offset (to name it in errors). */
export function manifestMemberAt(manifest: Manifest | undefined): (offset: number) => string | undefined {
  let objs: ManifestObject[] | undefined;
  return (offset) => {
    objs ??= [...(manifest?.objects ?? [])].sort((a, b) => a.header_offset - b.header_offset);
    let lo = 0;
    let hi = objs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (objs[mid]!.header_offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    const o = objs[lo];
    return o && o.header_offset <= offset && offset < o.offset + o.size + padding(o.size) ? `objects/${o.relative_key}` : undefined;
  };
}

/** What parallelChunks needs from its reader. */
export interface ParallelChunksOptions {
  archive: string | undefined;
  manifest: Manifest | undefined;
  decoders: FrameDecoderPool | undefined;
  memberAt: (offset: number) => string | undefined;
  /** Updated as frames are handed out (error attribution). */
  state: DecompressState;
  /** Filled with the workers' sha256 of members wholly inside a frame, by data offset, before that frame is handed out. */
  digestAt: Map<number, string>;
  /** The frame at hand, as each is handed out (undefined once done). */
  onFrame: (f: FrameRef | undefined) => void;
}

/** Decoded frames of `input` in order, each checked against `table`. */
export async function* parallelChunks(input: { reader: RangeReader } | { stream: Readable }, table: SeekTable, opts: ParallelChunksOptions): AsyncGenerator<Buffer> {
  const { archive, state, digestAt } = opts;
  const pool = opts.decoders ?? sharedFrameDecoderPool();
  const source = 'reader' in input ? framesFromReader(input.reader, table, pool, archive) : framesFromStream(input.stream, table, pool, archive);
  // Members sorted by data offset: each frame asks its worker for the digests of those wholly inside it.
  const objs = opts.manifest ? [...opts.manifest.objects].sort((a, b) => a.offset - b.offset) : [];
  let next = 0;
  const ranges = new Map<number, number[]>();
  const hashRanges = (index: number, f: SeekFrame): number[] => {
    const end = f.decompressedOffset + f.decompressedSize;
    const r: number[] = [];
    while (next < objs.length && objs[next]!.offset < f.decompressedOffset) next++;
    for (; next < objs.length && objs[next]!.offset + objs[next]!.size <= end; next++) {
      const o = objs[next]!;
      if (o.size > 0) r.push(o.offset - f.decompressedOffset, o.size);
    }
    if (r.length > 0) ranges.set(index, r);
    return r;
  };
  let index = 0;
  // The reader keeps the frame at hand and the one before (a header's view may outlive one frame boundary).
  const held: FrameRef[] = [];
  try {
    for await (const f of decodeFrames(source, pool, { archive, memberAt: opts.memberAt, hashRanges })) {
      const ref = new FrameRef(f);
      held.push(ref);
      if (held.length > 2) held.shift()!.drop();
      opts.onFrame(ref);
      const r = ranges.get(index);
      ranges.delete(index);
      if (r) f.digests.forEach((d, k) => d && digestAt.set(f.entry.decompressedOffset + r[2 * k]!, d));
      state.frameStart = f.entry.decompressedOffset;
      state.position = f.entry.decompressedOffset + f.entry.decompressedSize;
      index++;
      if (f.data.length > 0) yield f.data;
    }
  } finally {
    opts.onFrame(undefined);
    for (const h of held) h.drop();
  }
}
