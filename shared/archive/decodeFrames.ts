/**
 * An archive's frames decoded in parallel on a FrameDecoderPool and handed out in order, with a
 * bounded window in flight (never the whole archive). The compressed bytes come from a
 * RangeReader (large positional reads of consecutive frames) or from one sequential stream (an S3
 * GET) cut at the seek table's frame boundaries; either way the archive must hold exactly the
 * frames its seek table lists, then the table itself: this is the whole-archive check that lets a
 * pass vouch for the table later ranged reads trust.
 */
import type { Readable } from 'node:stream';
import { ArchiveCorruptError } from './errors';
import type { DecodedFrame, FrameDecoderPool } from './FrameDecoderPool';
import type { RangeReader } from './RangeReader';
import { parseSeekTable, type SeekFrame, type SeekTable } from './seekTable';

/** One frame's compressed bytes, in a buffer from the pool's take() (given back once decoded). */
export interface CompressedFrame {
  index: number;
  entry: SeekFrame;
  bytes: Buffer;
}

/** Compressed bytes fetched per positional read (several small frames at once). */
const READ_BYTES = 8 * 1024 * 1024;

/** Frames of `table` read from `reader` in order, READ_BYTES or one frame per read. */
export async function* framesFromReader(reader: RangeReader, table: SeekTable, pool: FrameDecoderPool, archive?: string): AsyncGenerator<CompressedFrame> {
  const size = await reader.size();
  if (size !== table.compressedSize + table.tableSize) {
    throw new ArchiveCorruptError({ archive, check: 'seek-table' }, `archive has ${size} bytes, its seek table describes ${table.compressedSize + table.tableSize}`);
  }
  const frames = table.frames;
  for (let i = 0; i < frames.length; ) {
    let j = i;
    let len = frames[i]!.compressedSize;
    while (j + 1 < frames.length && len + frames[j + 1]!.compressedSize <= READ_BYTES) len += frames[++j]!.compressedSize;
    const buf = await reader.read(frames[i]!.compressedOffset, len);
    if (buf.length < len) throw new ArchiveCorruptError({ archive, check: 'truncated' }, `short read at ${frames[i]!.compressedOffset} (${buf.length} of ${len} bytes)`);
    for (let p = 0; i <= j; i++) {
      const f = frames[i]!;
      // Copied into a shared buffer the workers already know (compressed bytes: ~1/3 of the output).
      const bytes = pool.take(f.compressedSize);
      buf.copy(bytes, 0, p, p + f.compressedSize);
      yield { index: i, entry: f, bytes };
      p += f.compressedSize;
    }
  }
}

/**
 * Frames of `table` cut from one sequential stream of the whole archive. After the last frame the
 * stream must hold exactly the seek table, listing the same frames (a stream of another version
 * than the table was read from fails here, or at the first frame that disagrees).
 */
export async function* framesFromStream(input: Readable, table: SeekTable, pool: FrameDecoderPool, archive?: string): AsyncGenerator<CompressedFrame> {
  const bad = (check: 'seek-table' | 'truncated', detail: string): never => {
    throw new ArchiveCorruptError({ archive, check }, detail);
  };
  const frames = table.frames;
  let i = 0;
  let cur: Buffer | undefined = frames.length > 0 ? pool.take(frames[0]!.compressedSize) : undefined;
  let fill = 0;
  const tail = Buffer.allocUnsafe(table.tableSize);
  let tailFill = 0;
  try {
    for await (const chunk of input) {
      let src = chunk as Buffer;
      while (src.length > 0) {
        if (cur) {
          const n = Math.min(src.length, cur.length - fill);
          src.copy(cur, fill, 0, n);
          fill += n;
          src = src.subarray(n);
          if (fill === cur.length) {
            yield { index: i, entry: frames[i]!, bytes: cur };
            i++;
            fill = 0;
            cur = i < frames.length ? pool.take(frames[i]!.compressedSize) : undefined;
          }
          continue;
        }
        if (tailFill + src.length > tail.length) bad('seek-table', 'archive continues past its seek table');
        src.copy(tail, tailFill);
        tailFill += src.length;
        src = src.subarray(src.length);
      }
    }
  } finally {
    input.destroy();
    if (cur) pool.give(cur);
  }
  if (cur || tailFill < tail.length) bad('truncated', `archive ends at frame ${i} of ${frames.length}${cur ? '' : ' (inside its seek table)'}`);
  const streamed = parseSeekTable(tail, table.compressedSize + table.tableSize, archive);
  if ('needBytes' in streamed) return bad('seek-table', 'seek table is not a whole skippable frame');
  if (streamed.frames.length !== frames.length) bad('seek-table', `the streamed seek table lists ${streamed.frames.length} frames, the one read first ${frames.length}`);
  streamed.frames.forEach((f, k) => {
    const g = frames[k]!;
    if (f.compressedSize !== g.compressedSize || f.decompressedSize !== g.decompressedSize || f.checksum !== g.checksum) {
      bad('seek-table', `frame ${k}: the streamed seek table disagrees with the one read first`);
    }
  });
}

/**
 * Names the member a failed frame holds, asked only now that every frame before it was consumed
 * (a sequential reader knows the members up to here; at dispatch it did not).
 */
function attribute(err: unknown, entry: SeekFrame, opts: DecodeFramesOptions): unknown {
  if (!(err instanceof ArchiveCorruptError) || err.member !== undefined || !opts.memberAt) return err;
  const member = opts.memberAt(entry.decompressedOffset);
  if (member === undefined) return err;
  const prefix = err.archive !== undefined ? `${err.archive}: ` : '';
  const detail = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new ArchiveCorruptError({ ...(err.archive !== undefined && { archive: err.archive }), member, check: err.check }, detail, { cause: err.cause });
}

/** Options of decodeFrames. */
export interface DecodeFramesOptions {
  archive?: string | undefined;
  /** The member holding an uncompressed offset, to name it in a frame's error. */
  memberAt?: (offset: number) => string | undefined;
  /** (start, length) pairs, relative to the frame, whose sha256 the worker computes. */
  hashRanges?: (index: number, entry: SeekFrame) => number[];
  /** Frames decoding or decoded but not yet taken (default 2 per decoder thread + 1). */
  window?: number;
  /** Decompressed bytes of those frames at most (default 96 MiB; always at least one frame). */
  windowBytes?: number;
}

/**
 * Decodes `frames` on `pool`, yielding them in order; at most `window` frames (and windowBytes
 * of output) are in flight or waiting. A frame's error (zstd, seek-table entry) is thrown when
 * its turn comes, after every frame before it was handed out. The caller releases each frame.
 */
export async function* decodeFrames(frames: AsyncIterable<CompressedFrame>, pool: FrameDecoderPool, opts: DecodeFramesOptions = {}): AsyncGenerator<DecodedFrame> {
  const window = opts.window ?? 2 * pool.threads + 1;
  const windowBytes = opts.windowBytes ?? 96 * 1024 * 1024;
  const queue: { entry: SeekFrame; done: Promise<DecodedFrame> }[] = [];
  let queued = 0;
  const it = frames[Symbol.asyncIterator]();
  let ended = false;
  try {
    for (;;) {
      while (!ended && queue.length < window && (queue.length === 0 || queued < windowBytes)) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        const { index, entry, bytes } = r.value;
        const done = pool.decode(bytes, entry, { archive: opts.archive }, opts.hashRanges?.(index, entry) ?? []);
        done.catch(() => undefined); // raised in order below; never unhandled meanwhile
        queue.push({ entry, done });
        queued += entry.decompressedSize;
      }
      const next = queue.shift();
      if (!next) return;
      queued -= next.entry.decompressedSize;
      let frame: DecodedFrame;
      try {
        frame = await next.done;
      } catch (err) {
        throw attribute(err, next.entry, opts);
      }
      yield frame;
    }
  } finally {
    // Frames decoded but never taken go back to the pool.
    for (const q of queue) q.done.then((f) => f.release(), () => undefined);
    await it.return?.(undefined);
  }
}
