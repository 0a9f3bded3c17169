/**
 * The frames one sequential pass decoded, held at the end to the seek table the stream ends with:
 * same frame count, and per frame the same compressed span, decompressed size and checksum. This
 * is what lets a whole-archive pass (the router's, verify's) vouch for the seek table that later
 * ranged reads rely on.
 */
import type { FrameEnd } from './decompressFrames';
import { ArchiveCorruptError } from './errors';
import { checkFrameFacts, type FrameFacts } from './seekFrame';
import { parseSeekTable } from './seekTable';

export class FrameLog {
  private readonly frames: (FrameFacts & { decompressedOffset: number })[] = [];
  private decompressed = 0;
  private compressed = 0;
  /** The last frame, when it was a skippable frame small enough to be the seek table. */
  private last: { kind: 'zstd' } | { kind: 'skippable'; bytes: Buffer | undefined } | undefined;
  /** Sizes of the skippable frames since the last zstd frame (the member index, then the seek table). */
  private trailing: number[] = [];

  /** Records one frame as decompressFrames reports it. */
  record(f: FrameEnd): void {
    this.compressed += f.compressedSize;
    if (f.kind === 'skippable') {
      this.last = { kind: 'skippable', bytes: f.bytes };
      this.trailing.push(f.compressedSize);
      return;
    }
    this.trailing = [];
    this.frames.push({ compressedSize: f.compressedSize, decompressedSize: f.decompressedSize, contentChecksum: f.contentChecksum, decompressedOffset: this.decompressed });
    this.decompressed += f.decompressedSize;
    this.last = { kind: 'zstd' };
  }

  /**
   * Throws ArchiveCorruptError (check 'seek-table') unless the stream ended with a seek table
   * that describes exactly the frames decoded. `memberAt` names the member holding an offset.
   */
  check(archive: string | undefined, memberAt: (offset: number) => string | undefined): void {
    const bad = (detail: string): never => {
      throw new ArchiveCorruptError({ archive, check: 'seek-table' }, detail);
    };
    if (this.last?.kind !== 'skippable') bad('archive does not end with a seek table');
    const bytes = (this.last as { bytes: Buffer | undefined }).bytes;
    if (!bytes) bad(`archive ends with a skippable frame too large to be the seek table of its ${this.frames.length} frames`);
    const table = parseSeekTable(bytes!, this.compressed, archive);
    if ('needBytes' in table) return bad('seek table is not a whole skippable frame');
    // The seek table accounts for the bytes between the frames and itself: they must be exactly
    // one skippable frame (the member index), or none in archives written before it.
    const between = this.trailing.slice(0, -1);
    if (table.indexFrameSize === 0 ? between.length !== 0 : between.length !== 1 || between[0] !== table.indexFrameSize) {
      bad(`${between.length} skippable frame(s) of ${between.join('+') || 0} bytes between the last frame and the seek table, which accounts for ${table.indexFrameSize}`);
    }
    if (table.frames.length !== this.frames.length) bad(`seek table lists ${table.frames.length} frames, the archive has ${this.frames.length}`);
    table.frames.forEach((entry, i) => {
      const seen = this.frames[i]!;
      checkFrameFacts(entry, seen, { archive, member: memberAt(seen.decompressedOffset) });
    });
  }
}
