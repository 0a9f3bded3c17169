/**
 * One member read with what a catalog row already says (data offset, size, sha256): only the
 * seek table and the frames covering the data are fetched, not the manifest. For big archives
 * of many small files the manifest frame costs as much as the member's own frame, so this
 * halves the bytes of a one-file restore. Verified by sha256 like every other read.
 */
import { createHash } from 'node:crypto';
import { DCtx } from 'zstd-napi/binding';
import { ArchiveCorruptError, decompressSeekFrame, type RangeReader, type SeekTable } from '../archive';

/** Frames fetched per ranged read when the member spans many frames. */
const MAX_READ_BYTES = 32 * 1024 * 1024;

/** What the catalog knows about a member. */
export interface KnownMember {
  /** Uncompressed offset of the member's data in the tar stream (catalog member_offset). */
  offset: number;
  size: number;
  sha256: string;
}

/** The member's bytes, frame by frame; throws ArchiveCorruptError at the end on a sha256 mismatch. */
export async function* readKnownMember(reader: RangeReader, table: SeekTable, m: KnownMember, names: { archive?: string; member: string }): AsyncGenerator<Buffer> {
  const end = m.offset + m.size;
  if (end > table.decompressedSize) throw new ArchiveCorruptError({ ...names, check: 'manifest' }, `catalog range ${m.offset}..${end} is outside the archive`);
  const frames = table.frames;
  let i = frames.findIndex((f) => f.decompressedOffset + f.decompressedSize > m.offset);
  const hash = createHash('sha256');
  const dctx = new DCtx();
  while (m.size > 0 && i >= 0 && i < frames.length && frames[i]!.decompressedOffset < end) {
    let j = i;
    let len = frames[i]!.compressedSize;
    while (j + 1 < frames.length && frames[j + 1]!.decompressedOffset < end && len + frames[j + 1]!.compressedSize <= MAX_READ_BYTES) len += frames[++j]!.compressedSize;
    const buf = await reader.read(frames[i]!.compressedOffset, len);
    if (buf.length < len) throw new ArchiveCorruptError({ ...names, check: 'truncated' }, `short read at ${frames[i]!.compressedOffset}`);
    let p = 0;
    for (let k = i; k <= j; k++) {
      const f = frames[k]!;
      // Size, span and seek-table checksum of the frame, as every other reader checks them.
      const out = decompressSeekFrame(dctx, buf.subarray(p, p + f.compressedSize), f, names);
      p += f.compressedSize;
      const lo = Math.max(m.offset, f.decompressedOffset) - f.decompressedOffset;
      const hi = Math.min(end, f.decompressedOffset + f.decompressedSize) - f.decompressedOffset;
      const slice = out.subarray(lo, hi);
      hash.update(slice);
      yield slice;
    }
    i = j + 1;
  }
  const got = hash.digest('hex');
  if (got !== m.sha256) throw new ArchiveCorruptError({ ...names, check: 'sha256' }, `sha256 mismatch (catalog ${m.sha256}, computed ${got})`);
}
