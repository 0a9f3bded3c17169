/**
 * One frame checked against its seek-table entry: exact compressed span, decompressed size and
 * the entry's checksum (the low 32 bits of XXH64 of the frame's content).
 *
 * The checksum costs no hashing: our frames carry zstd's content checksum, which is that same
 * value and which zstd verifies against the content while decompressing. So once a frame has
 * decompressed cleanly, its last 4 bytes *are* XXH64 of its content, and the entry must equal
 * them — provided the entry spans exactly one zstd frame with the checksum flag set, which is
 * checked too (an entry spanning two frames would otherwise vouch for the second only).
 */
import { DCtx, findFrameCompressedSize, MAGICNUMBER } from 'zstd-napi/binding';
import { ArchiveCorruptError } from './errors';
import type { SeekFrame } from './seekTable';

/** Frame_Header_Descriptor bit 2 (zstd format spec): the frame ends with a content checksum. */
const CONTENT_CHECKSUM_FLAG = 0x04;

/** Where an error is reported. */
export interface FrameContext {
  archive?: string | undefined;
  member?: string | undefined;
}

/** What a frame ended up being, as the sequential decoder saw it. */
export interface FrameFacts {
  compressedSize: number;
  decompressedSize: number;
  /** Its zstd content checksum (already verified by zstd), or undefined if it carries none. */
  contentChecksum: number | undefined;
}

/** The content checksum of one whole zstd frame given its first 5 bytes and its last 4, or undefined if its header says it has none. */
export function contentChecksumOf(head: Buffer, last4: Buffer): number | undefined {
  if (head.length < 5 || head.readUInt32LE(0) !== MAGICNUMBER || (head[4]! & CONTENT_CHECKSUM_FLAG) === 0) return undefined;
  return last4.readUInt32LE(0);
}

/** Throws ArchiveCorruptError (check 'seek-table', or 'zstd' for a frame without a checksum) unless the frame matches its entry. */
export function checkFrameFacts(entry: SeekFrame, facts: FrameFacts, ctx: FrameContext): void {
  const bad = (check: 'seek-table' | 'zstd', detail: string): never => {
    throw new ArchiveCorruptError({ ...ctx, check }, `frame at ${entry.compressedOffset}: ${detail}`);
  };
  if (facts.compressedSize !== entry.compressedSize) bad('seek-table', `zstd frame is ${facts.compressedSize} bytes, seek table says ${entry.compressedSize}`);
  if (facts.decompressedSize !== entry.decompressedSize) bad('seek-table', `holds ${facts.decompressedSize} bytes, seek table says ${entry.decompressedSize}`);
  if (entry.checksum === undefined) return;
  // Our writer always sets zstd's checksum flag (DESIGN.md); without it the entry cannot be checked for free.
  if (facts.contentChecksum === undefined) bad('zstd', 'zstd frame carries no content checksum');
  if (facts.contentChecksum !== entry.checksum) {
    bad('seek-table', `seek-table checksum 0x${hex(entry.checksum)} disagrees with the frame's XXH64 0x${hex(facts.contentChecksum!)}`);
  }
}

/** Decompresses one frame sized from its (already capped) entry and checks it against the entry. */
export function decompressSeekFrame(dctx: DCtx, compressed: Buffer, entry: SeekFrame, ctx: FrameContext): Buffer {
  const out = Buffer.allocUnsafe(entry.decompressedSize);
  let n: number;
  let span: number;
  try {
    n = dctx.decompress(out, compressed);
    span = findFrameCompressedSize(compressed);
  } catch (err) {
    throw new ArchiveCorruptError({ ...ctx, check: 'zstd' }, `zstd: frame at ${entry.compressedOffset}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const contentChecksum = span === compressed.length && span >= 4 ? contentChecksumOf(compressed, compressed.subarray(span - 4)) : undefined;
  checkFrameFacts(entry, { compressedSize: span, decompressedSize: n, contentChecksum }, ctx);
  return out;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
