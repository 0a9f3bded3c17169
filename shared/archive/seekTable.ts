/**
 * The zstd seekable-format seek table (contrib/seekable_format in facebook/zstd): a skippable
 * frame (magic 0x184D2A5E) of entries {compressed u32, decompressed u32, checksum u32} and a
 * 9-byte footer {frames u32, descriptor u8, magic 0x8F92EAB1}, all little-endian.
 */
import { ArchiveCorruptError } from './errors';
import { MAX_FRAME_BYTES, MAX_FRAME_COMPRESSED_BYTES } from './limits';
import { INDEX_MAGIC, parseIndexTrailer, TRAILER_BYTES, type IndexTrailer } from './memberIndex';
import type { RangeReader } from './RangeReader';

export const SKIPPABLE_MAGIC = 0x184d2a5e;
export const SEEKABLE_MAGIC = 0x8f92eab1;
const FOOTER_SIZE = 9;
const CHECKSUM_FLAG = 0x80;
/** How much of the tail is fetched first: enough for ~5000 frames' entries in one read. */
export const TAIL_READ_BYTES = 64 * 1024;

/** One frame of the archive, with its absolute compressed and uncompressed offsets. */
export interface SeekFrame {
  compressedOffset: number;
  compressedSize: number;
  decompressedOffset: number;
  decompressedSize: number;
  /** Low 32 bits of XXH64 of the frame's content (the zstd frame checksum), if recorded. */
  checksum?: number;
}

/** The parsed seek table. */
export interface SeekTable {
  frames: SeekFrame[];
  /** Bytes of compressed frames (the archive size minus tableSize). */
  compressedSize: number;
  decompressedSize: number;
  /**
   * Bytes after the last compressed frame: the seek-table skippable frame and, when there is one,
   * the member index frame right before it (so compressedSize + tableSize is the archive's size).
   */
  tableSize: number;
  /**
   * Of tableSize, the member index's skippable frame (header included): 0 in archives written
   * before the index (and in stock seekable archives).
   */
  indexFrameSize: number;
  /** The member index's trailer, when readSeekTable found one (its pages are read by ArchiveReader). */
  index?: IndexTrailer;
}

/** Smallest member index frame: skippable header and trailer. */
const MIN_INDEX_FRAME = 8 + TRAILER_BYTES;

/** Seek-table frame bytes for the given frames, with per-frame checksums. */
export function encodeSeekTable(frames: { compressedSize: number; decompressedSize: number; checksum: number }[]): Buffer {
  const entries = frames.length * 12;
  const buf = Buffer.alloc(8 + entries + FOOTER_SIZE);
  buf.writeUInt32LE(SKIPPABLE_MAGIC, 0);
  buf.writeUInt32LE(entries + FOOTER_SIZE, 4);
  let p = 8;
  for (const f of frames) {
    buf.writeUInt32LE(f.compressedSize, p);
    buf.writeUInt32LE(f.decompressedSize, p + 4);
    buf.writeUInt32LE(f.checksum >>> 0, p + 8);
    p += 12;
  }
  buf.writeUInt32LE(frames.length, p);
  buf.writeUInt8(CHECKSUM_FLAG, p + 4);
  buf.writeUInt32LE(SEEKABLE_MAGIC, p + 5);
  return buf;
}

/** Parses a seek table from the archive's tail bytes; `tail` must end at the end of the archive. */
export function parseSeekTable(tail: Buffer, archiveSize: number, archive?: string): SeekTable | { needBytes: number } {
  const bad = (detail: string): never => {
    throw new ArchiveCorruptError({ archive, check: 'seek-table' }, detail);
  };
  if (tail.length < FOOTER_SIZE) bad('archive too small for a seek table');
  const foot = tail.length - FOOTER_SIZE;
  if (tail.readUInt32LE(foot + 5) !== SEEKABLE_MAGIC) bad('no seek table (seekable magic 0x8F92EAB1 missing at the end)');
  const count = tail.readUInt32LE(foot);
  const descriptor = tail.readUInt8(foot + 4);
  if ((descriptor & 0x7c) !== 0) bad(`reserved seek-table descriptor bits set (0x${descriptor.toString(16)})`);
  const entrySize = descriptor & CHECKSUM_FLAG ? 12 : 8;
  const tableSize = 8 + count * entrySize + FOOTER_SIZE;
  if (tableSize > archiveSize) bad(`seek table claims ${count} frames, more than the archive can hold`);
  if (tableSize > tail.length) return { needBytes: tableSize };
  const start = tail.length - tableSize;
  if (tail.readUInt32LE(start) !== SKIPPABLE_MAGIC) bad('seek-table skippable frame magic missing');
  if (tail.readUInt32LE(start + 4) !== tableSize - 8) bad('seek-table frame size disagrees with its frame count');
  const frames: SeekFrame[] = [];
  let c = 0;
  let d = 0;
  // Readers allocate each frame's output (and read its input) by these sizes: cap them at what
  // our writer can produce before anyone allocates, so a forged entry is a typed, permanent
  // error and never a 4 GiB allocation (whose failure would look retryable).
  const maxCompressed = Math.min(MAX_FRAME_COMPRESSED_BYTES, archiveSize - tableSize);
  for (let i = 0, p = start + 8; i < count; i++, p += entrySize) {
    const compressedSize = tail.readUInt32LE(p);
    const decompressedSize = tail.readUInt32LE(p + 4);
    if (decompressedSize > MAX_FRAME_BYTES) bad(`frame ${i} claims ${decompressedSize} decompressed bytes, more than the ${MAX_FRAME_BYTES} a frame can hold`);
    if (compressedSize > maxCompressed) {
      bad(`frame ${i} claims ${compressedSize} compressed bytes, more than the ${maxCompressed} a frame can take${maxCompressed < MAX_FRAME_COMPRESSED_BYTES ? ' in this archive' : ''}`);
    }
    const frame: SeekFrame = { compressedOffset: c, compressedSize, decompressedOffset: d, decompressedSize };
    if (entrySize === 12) frame.checksum = tail.readUInt32LE(p + 8);
    frames.push(frame);
    c += compressedSize;
    d += decompressedSize;
  }
  // The frames tile the archive up to the seek table, but for the member index's frame, which
  // sits right before the table (the seekable format lists zstd frames only).
  const gap = archiveSize - tableSize - c;
  if (gap < 0 || (gap > 0 && gap < MIN_INDEX_FRAME)) {
    bad(`frames total ${c} compressed bytes + ${tableSize}-byte seek table, but the archive has ${archiveSize} bytes (truncated or altered)`);
  }
  return { frames, compressedSize: c, decompressedSize: d, tableSize: tableSize + gap, indexFrameSize: gap };
}

/**
 * Reads and validates the seek table with one tail read (two if the table is larger than 64 KiB),
 * and the member index's trailer just before it when there is one (in the same read in practice).
 */
export async function readSeekTable(reader: RangeReader, archive?: string): Promise<SeekTable> {
  const size = await reader.size();
  const first = Math.min(size, TAIL_READ_BYTES);
  let tail = await reader.read(size - first, first);
  let parsed = parseSeekTable(tail, size, archive);
  if ('needBytes' in parsed) {
    tail = await reader.read(size - parsed.needBytes, parsed.needBytes);
    parsed = parseSeekTable(tail, size, archive);
    if ('needBytes' in parsed) throw new ArchiveCorruptError({ archive, check: 'seek-table' }, 'seek table unreadable');
  }
  if (parsed.indexFrameSize > 0) {
    // [header 8][content ... trailer 64] right before the table.
    const frameStart = parsed.compressedSize;
    const tailStart = size - tail.length;
    const at = (offset: number, length: number): Promise<Buffer> =>
      offset >= tailStart ? Promise.resolve(tail.subarray(offset - tailStart, offset - tailStart + length)) : reader.read(offset, length);
    const header = await at(frameStart, 8);
    if (header.length !== 8 || header.readUInt32LE(0) !== INDEX_MAGIC || header.readUInt32LE(4) !== parsed.indexFrameSize - 8) {
      throw new ArchiveCorruptError({ archive, check: 'seek-table' }, `${parsed.indexFrameSize} bytes between the last frame and the seek table are not a member index frame (truncated or altered)`);
    }
    const trailer = await at(frameStart + parsed.indexFrameSize - TRAILER_BYTES, TRAILER_BYTES);
    parsed.index = parseIndexTrailer(trailer, parsed.indexFrameSize - 8, archive);
  }
  return parsed;
}

/** Indexes of the frames overlapping the uncompressed range [start, end). */
export function framesCovering(table: SeekTable, start: number, end: number): { first: number; last: number } {
  const f = table.frames;
  let lo = 0;
  let hi = f.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (f[mid]!.decompressedOffset <= start) lo = mid;
    else hi = mid - 1;
  }
  let last = lo;
  while (last + 1 < f.length && f[last + 1]!.decompressedOffset < end) last++;
  return { first: lo, last };
}
