/**
 * One member read with what a catalog row already says (data offset, size, sha256): only the
 * seek table and the frames covering the data are fetched, not the manifest. For big archives
 * of many small files the manifest frame costs as much as the member's own frame, so this
 * halves the bytes of a one-file restore. Verified by sha256 like every other read.
 *
 * Without catalog facts, lookupMembers finds a few members' manifest entries through the
 * archive's member index (its pages on the way to each name and the small manifest frame
 * holding each record), so a one-file restore still never reads the whole manifest.
 */
import { createHash } from 'node:crypto';
import { DCtx } from 'zstd-napi/binding';
import { ArchiveCorruptError, NoSuchMemberError, type ArchiveReader, type ManifestObject, type RangeReader, type SeekTable } from '../archive';
import { decompressSeekFrame } from '../archive';
import type { MemberRequest } from './plan';

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

/**
 * The manifest entries of `wanted` through the member index, one result (entry, or
 * NoSuchMemberError) per request in order. Undefined when the index cannot settle it: the archive
 * has none, or a request by object key does not resolve to that key as the key less
 * `sourcePrefix` (how the compressor names members); the caller then reads the whole manifest,
 * which is authoritative.
 */
export async function lookupMembers(reader: ArchiveReader, wanted: MemberRequest[], sourcePrefix?: string): Promise<(ManifestObject | NoSuchMemberError)[] | undefined> {
  const table = await reader.readSeekTable();
  if (!table.index) return undefined;
  const out: (ManifestObject | NoSuchMemberError)[] = [];
  for (const w of wanted) {
    if (w.relativeKey !== undefined) {
      out.push(await reader.lookupMember(w.relativeKey).catch(absentOnly));
      continue;
    }
    const key = w.objectPath;
    if (key === undefined || sourcePrefix === undefined || !key.startsWith(sourcePrefix) || key.length === sourcePrefix.length) return undefined;
    const m = await reader.lookupMember(key.slice(sourcePrefix.length)).catch(absentOnly);
    if (m instanceof NoSuchMemberError || m.key !== key) return undefined;
    out.push(m);
  }
  return out;
}

/** Absence is per member; corruption and unsafe names are the archive's and stop the lookup. */
function absentOnly(err: unknown): NoSuchMemberError {
  if (err instanceof NoSuchMemberError) return err;
  throw err;
}
