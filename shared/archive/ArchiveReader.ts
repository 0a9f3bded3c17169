/** Random access to one archive through a RangeReader: index from the tail, members by their frames. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DCtx } from 'zstd-napi/binding';
import { ArchiveCorruptError, NoSuchMemberError } from './errors';
import { MAX_MANIFEST_BYTES } from './limits';
import { parseManifest, type Manifest, type ManifestObject } from './manifest';
import { MAX_RECORD_BYTES, memberHash, type IndexTrailer } from './memberIndex';
import { MemberIndexReader } from './MemberIndexReader';
import { MANIFEST_NAME, OBJECTS_PREFIX, validateMemberName } from './memberName';
import type { RangeReader } from './RangeReader';
import { decompressSeekFrame } from './seekFrame';
import { framesCovering, readSeekTable, type SeekFrame, type SeekTable } from './seekTable';
import { BLOCK, isZeroBlock, parseHeaderBlock, parsePax } from './tarHeader';

/** Frames fetched per ranged read when a member spans many small frames. */
const MAX_READ_BYTES = 32 * 1024 * 1024;
/** Compressed bytes fetched per ranged read while walking back from the tail to manifest.json. */
const MANIFEST_READ_BYTES = 4 * 1024 * 1024;
/** Tar blocks around the manifest's JSON (its header, padding, end-of-archive blocks) in its frames. */
const MANIFEST_SLACK_BYTES = 1024 * 1024;

/** Counters of what was fetched through the RangeReader. */
export interface ArchiveReaderStats {
  bytesRead: number;
  reads: number;
}

/** The archive's index: seek table and manifest. */
export interface ArchiveIndex {
  seekTable: SeekTable;
  manifest: Manifest;
}

/** Reads one archive through ranged reads; never decompresses more than the frames it needs. */
export class ArchiveReader {
  readonly stats: ArchiveReaderStats = { bytesRead: 0, reads: 0 };
  private index: ArchiveIndex | undefined;
  private table: Promise<SeekTable> | undefined;
  /** Where the frames end (the index frame starts): only reads from here on come from `tail`. */
  private indexStart = Infinity;
  private memberIndex: MemberIndexReader | undefined;
  private byRelativeKey: Map<string, ManifestObject> | undefined;
  /**
   * The archive's last bytes as first fetched: later reads of the member index inside them cost
   * nothing (its trailer and root page are there in practice). Frames are always fetched
   * explicitly, so what a member or the manifest costs stays visible in the stats.
   */
  private tail: { start: number; bytes: Buffer } | undefined;
  private readonly dctx = new DCtx();

  constructor(
    private readonly reader: RangeReader,
    /** Name used in error messages. */
    readonly archiveName?: string,
  ) {}

  private async read(offset: number, length: number): Promise<Buffer> {
    const t = this.tail;
    if (t && offset >= t.start && offset >= this.indexStart && offset + length <= t.start + t.bytes.length) return t.bytes.subarray(offset - t.start, offset - t.start + length);
    const b = await this.reader.read(offset, length);
    this.stats.bytesRead += b.length;
    this.stats.reads++;
    if (b.length < length) throw new ArchiveCorruptError({ archive: this.archiveName, check: 'truncated' }, `short read at ${offset} (${b.length} of ${length} bytes)`);
    return b;
  }

  /** The seek table (one tail read, which also holds the member index's trailer and root page in practice). */
  async readSeekTable(): Promise<SeekTable> {
    this.table ??= (async () => {
      const size = await this.reader.size();
      const counted: RangeReader = {
        size: async () => size,
        read: async (o, l) => {
          const b = await this.read(o, l);
          if (o + l === size && (!this.tail || o < this.tail.start)) this.tail = { start: o, bytes: b };
          return b;
        },
      };
      const table = await readSeekTable(counted, this.archiveName);
      this.indexStart = table.compressedSize;
      if (table.frames.length === 0) throw new ArchiveCorruptError({ archive: this.archiveName, check: 'seek-table' }, 'seek table lists no frames');
      return table;
    })();
    return this.table;
  }

  /**
   * Seek table and manifest, without decompressing the rest. With a member index, the manifest is
   * found through it and the index is cross-checked against the manifest (every entry points at
   * exactly its object's record), so every whole-manifest reader (router, verify, restore) also
   * vouches for the index that one-member lookups trust.
   */
  async readIndex(): Promise<ArchiveIndex> {
    if (this.index) return this.index;
    const seekTable = await this.readSeekTable();
    if (seekTable.index) {
      const { manifest, data } = await this.readManifestAt(seekTable, seekTable.index);
      await this.crossCheck(seekTable, seekTable.index, manifest, data);
      this.index = { seekTable, manifest };
      return this.index;
    }
    const frames = seekTable.frames;
    // The writer starts manifest.json on a fresh frame: walk back from the last frame until one
    // begins with its header. One frame (one read) in practice; a manifest of many thousands of
    // objects spans many frames, fetched a few MiB per read. The walk stops at the largest
    // manifest a reader accepts, judged on the seek table's sizes before a frame is fetched, so
    // frames of highly compressible junk cannot make us buffer gigabytes. (It once also stopped
    // after 64 frames: with 64 KiB frames a valid batch of ~13,000 objects had a manifest no
    // reader found, and the router quarantined it.)
    const parts: Buffer[] = [];
    let held = 0;
    let block: { start: number; bytes: Buffer } | undefined;
    for (let first = frames.length - 1; first >= 0; first--) {
      const f = frames[first]!;
      held += f.decompressedSize;
      if (held > MAX_MANIFEST_BYTES + MANIFEST_SLACK_BYTES) break;
      if (!block || f.compressedOffset < block.start) {
        // The last frame alone first (the manifest's only frame in practice: a one-member read
        // stays small); past it, this frame and the ones before it, up to MANIFEST_READ_BYTES, in one read.
        let lo = first;
        while (block && lo > 0 && f.compressedOffset + f.compressedSize - frames[lo - 1]!.compressedOffset <= MANIFEST_READ_BYTES) lo--;
        const start = frames[lo]!.compressedOffset;
        block = { start, bytes: await this.read(start, f.compressedOffset + f.compressedSize - start) };
      }
      const at = f.compressedOffset - block.start;
      const data = this.decompressFrame(block.bytes.subarray(at, at + f.compressedSize), f);
      parts.unshift(data);
      const header = this.manifestHeader(data);
      if (!header) continue;
      const all = parts.length === 1 ? data : Buffer.concat(parts, held);
      if (header.size > MAX_MANIFEST_BYTES || header.dataStart + header.size > all.length) {
        throw new ArchiveCorruptError(
          { archive: this.archiveName, member: MANIFEST_NAME, check: 'manifest' },
          `manifest.json header claims ${header.size} bytes, more than the ${Math.min(MAX_MANIFEST_BYTES, all.length - header.dataStart)} that can follow it`,
        );
      }
      const manifest = parseManifest(all.toString('utf8', header.dataStart, header.dataStart + header.size), this.archiveName);
      this.index = { seekTable, manifest };
      return this.index;
    }
    throw new ArchiveCorruptError({ archive: this.archiveName, member: MANIFEST_NAME, check: 'manifest' }, 'manifest.json not found at the start of the final frames');
  }

  /** manifest.json where the index trailer says it is: its header checked, then parsed whole. */
  private async readManifestAt(table: SeekTable, t: IndexTrailer): Promise<{ manifest: Manifest; data: Buffer }> {
    const bad = (detail: string): never => {
      throw new ArchiveCorruptError({ archive: this.archiveName, member: MANIFEST_NAME, check: 'index' }, `member index: ${detail}`);
    };
    const end = t.dataOffset + t.size;
    // Caps before anything is fetched: the manifest's own limit, a header of at most a few blocks.
    if (t.size > MAX_MANIFEST_BYTES || t.dataOffset - t.headerOffset > 64 * 1024 || end > table.decompressedSize) {
      bad(`manifest range ${t.headerOffset}..${end} is not one a reader accepts in this archive`);
    }
    const bytes = await this.readRange(table, t.headerOffset, end, MANIFEST_NAME);
    const header = this.manifestHeader(bytes);
    if (!header || header.dataStart !== t.dataOffset - t.headerOffset || header.size !== t.size) bad(`no manifest.json header of ${t.size} bytes at ${t.headerOffset}`);
    const data = bytes.subarray(header!.dataStart);
    return { manifest: parseManifest(data.toString('utf8'), this.archiveName), data };
  }

  /** The whole index, every page verified, against the manifest: one entry per object, at that object's record. */
  private async crossCheck(table: SeekTable, t: IndexTrailer, manifest: Manifest, data: Buffer): Promise<void> {
    const bad = (detail: string): never => {
      throw new ArchiveCorruptError({ archive: this.archiveName, check: 'index' }, `member index disagrees with the manifest: ${detail}`);
    };
    if (t.count !== manifest.objects.length) bad(`${t.count} entries for ${manifest.objects.length} objects`);
    const frame = await this.read(table.compressedSize, table.indexFrameSize);
    const whole = new MemberIndexReader(async (o, l) => frame.subarray(8 + o, 8 + o + l), t, this.archiveName);
    const entries = (await whole.all()).sort((a, b) => a.recordOffset - b.recordOffset);
    let prevEnd = 0;
    entries.forEach((e, k) => {
      const o = manifest.objects[k]!;
      if (e.recordOffset < prevEnd || e.recordOffset + e.recordLength > data.length) bad(`entry for ${JSON.stringify(o.relative_key)} points outside the objects' records`);
      prevEnd = e.recordOffset + e.recordLength;
      let rec: Partial<ManifestObject>;
      try {
        rec = JSON.parse(data.toString('utf8', e.recordOffset, prevEnd)) as Partial<ManifestObject>;
      } catch {
        return bad(`entry ${k} does not point at a JSON record`);
      }
      const same = rec.relative_key === o.relative_key && rec.key === o.key && rec.size === o.size && rec.sha256 === o.sha256 && rec.offset === o.offset && rec.header_offset === o.header_offset;
      if (!same || !memberHash(o.relative_key).equals(e.hash)) bad(`entry ${k} does not point at object ${JSON.stringify(o.relative_key)}`);
    });
  }

  /** Uncompressed bytes [start, end) of the tar stream, from the frames covering them (checked against the seek table). */
  private async readRange(table: SeekTable, start: number, end: number, member: string): Promise<Buffer> {
    const { first, last } = framesCovering(table, start, end);
    const parts: Buffer[] = [];
    for (let i = first; i <= last; ) {
      let j = i;
      let len = table.frames[i]!.compressedSize;
      while (j < last && len + table.frames[j + 1]!.compressedSize <= MAX_READ_BYTES) len += table.frames[++j]!.compressedSize;
      const buf = await this.read(table.frames[i]!.compressedOffset, len);
      for (let p = 0; i <= j; i++) {
        const f = table.frames[i]!;
        const out = this.decompressFrame(buf.subarray(p, p + f.compressedSize), f, member);
        p += f.compressedSize;
        parts.push(out.subarray(Math.max(start, f.decompressedOffset) - f.decompressedOffset, Math.min(end, f.decompressedOffset + f.decompressedSize) - f.decompressedOffset));
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * One member's manifest entry without reading the manifest: the index pages on the way to its
   * name, then its record. Falls back to the whole manifest for archives without an index.
   */
  async lookupMember(relativeKey: string): Promise<ManifestObject> {
    if (this.index) return this.fromManifest(relativeKey);
    const table = await this.readSeekTable();
    const t = table.index;
    if (!t) {
      await this.readIndex();
      return this.fromManifest(relativeKey);
    }
    validateMemberName(OBJECTS_PREFIX + relativeKey, this.archiveName);
    this.memberIndex ??= new MemberIndexReader((o, l) => this.read(table.compressedSize + 8 + o, l), t, this.archiveName);
    const bad = (detail: string): never => {
      throw new ArchiveCorruptError({ archive: this.archiveName, member: OBJECTS_PREFIX + relativeKey, check: 'index' }, `member index: ${detail}`);
    };
    if (t.size > MAX_MANIFEST_BYTES || t.dataOffset + t.size > table.decompressedSize) bad('manifest range is outside the archive');
    for (const e of await this.memberIndex.find(memberHash(relativeKey))) {
      // Capped before the record's frames are fetched.
      if (e.recordLength > MAX_RECORD_BYTES || e.recordOffset + e.recordLength > t.size) bad(`record ${e.recordOffset}+${e.recordLength} is outside manifest.json`);
      const start = t.dataOffset + e.recordOffset;
      const text = (await this.readRange(table, start, start + e.recordLength, MANIFEST_NAME)).toString('utf8');
      const m = parseRecord(text, this.archiveName, OBJECTS_PREFIX + relativeKey);
      if (m.relative_key === relativeKey) return m;
      // Another name with the same 64-bit hash: keep looking.
      if (!memberHash(m.relative_key).equals(e.hash)) bad(`entry for hash ${e.hash.toString('hex')} points at the record of ${JSON.stringify(m.relative_key)}`);
    }
    throw new NoSuchMemberError(this.archiveName, relativeKey);
  }

  private fromManifest(relativeKey: string): ManifestObject {
    this.byRelativeKey ??= new Map(this.index!.manifest.objects.map((o) => [o.relative_key, o]));
    const m = this.byRelativeKey.get(relativeKey);
    if (!m) throw new NoSuchMemberError(this.archiveName, relativeKey);
    return m;
  }

  /** If `data` starts with manifest.json's header(s), its size and where its bytes start. */
  private manifestHeader(data: Buffer): { size: number; dataStart: number } | undefined {
    let pos = 0;
    let pathOverride: string | undefined;
    while (pos + BLOCK <= data.length) {
      const block = data.subarray(pos, pos + BLOCK);
      if (isZeroBlock(block)) return undefined;
      let h;
      try {
        h = parseHeaderBlock(block, this.archiveName);
      } catch {
        return undefined;
      }
      pos += BLOCK;
      if (h.type === 'x') {
        pathOverride = parsePax(data.subarray(pos, pos + h.size), this.archiveName).path;
        pos += Math.ceil(h.size / BLOCK) * BLOCK;
        continue;
      }
      const name = pathOverride ?? h.name;
      return name === MANIFEST_NAME ? { size: h.size, dataStart: pos } : undefined;
    }
    return undefined;
  }

  /** One frame, sized from its capped seek-table entry and checked against it (size, span, checksum). */
  private decompressFrame(compressed: Buffer, f: SeekFrame, member?: string): Buffer {
    return decompressSeekFrame(this.dctx, compressed, f, { archive: this.archiveName, member });
  }

  /** The manifest entry of `relativeKey` (through the member index when there is one), or NoSuchMemberError. */
  async member(relativeKey: string): Promise<ManifestObject> {
    return this.lookupMember(relativeKey);
  }

  /**
   * One member's bytes, fetched frame by frame (only the frames covering it). The stream errors
   * with ArchiveCorruptError if its tar header or sha256 disagrees with the manifest.
   */
  async openMember(relativeKey: string): Promise<Readable> {
    const seekTable = await this.readSeekTable();
    const m = await this.member(relativeKey);
    const name = OBJECTS_PREFIX + m.relative_key;
    validateMemberName(name, this.archiveName);
    const start = m.header_offset;
    const end = m.offset + m.size;
    if (end > seekTable.decompressedSize || start > m.offset) {
      throw new ArchiveCorruptError({ archive: this.archiveName, member: name, check: 'manifest' }, `manifest range ${start}..${end} is outside the archive`);
    }
    const { first, last } = framesCovering(seekTable, start, end);
    return Readable.from(this.memberChunks(seekTable, first, last, m, name), { objectMode: false });
  }

  private async *memberChunks(table: SeekTable, first: number, last: number, m: ManifestObject, name: string): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let header: Buffer[] = [];
    let headerLen = m.offset - m.header_offset;
    let i = first;
    while (i <= last) {
      // Batch consecutive frames into one ranged read, up to MAX_READ_BYTES.
      let j = i;
      let len = table.frames[i]!.compressedSize;
      while (j < last && len + table.frames[j + 1]!.compressedSize <= MAX_READ_BYTES) len += table.frames[++j]!.compressedSize;
      const buf = await this.read(table.frames[i]!.compressedOffset, len);
      let p = 0;
      for (let k = i; k <= j; k++) {
        const f = table.frames[k]!;
        const data = this.decompressFrame(buf.subarray(p, p + f.compressedSize), f, name);
        p += f.compressedSize;
        const lo = Math.max(m.header_offset, f.decompressedOffset) - f.decompressedOffset;
        const hi = Math.min(m.offset + m.size, f.decompressedOffset + f.decompressedSize) - f.decompressedOffset;
        let slice = data.subarray(lo, hi);
        if (headerLen > 0) {
          const h = slice.subarray(0, headerLen);
          header.push(h);
          headerLen -= h.length;
          slice = slice.subarray(h.length);
          if (headerLen === 0) {
            this.checkHeader(Buffer.concat(header), m, name);
            header = [];
          }
        }
        if (slice.length > 0) {
          hash.update(slice);
          yield slice;
        }
      }
      i = j + 1;
    }
    const got = hash.digest('hex');
    if (got !== m.sha256) {
      throw new ArchiveCorruptError({ archive: this.archiveName, member: name, check: 'sha256' }, `sha256 mismatch (manifest ${m.sha256}, computed ${got})`);
    }
  }

  /** The member's own tar header must name it and give its size (a manifest/member disagreement otherwise). */
  private checkHeader(bytes: Buffer, m: ManifestObject, name: string): void {
    let pos = 0;
    let pax: Record<string, string> = {};
    for (;;) {
      if (pos + BLOCK > bytes.length) break;
      const h = parseHeaderBlock(bytes.subarray(pos, pos + BLOCK), this.archiveName);
      pos += BLOCK;
      if (h.type === 'x') {
        pax = parsePax(bytes.subarray(pos, pos + h.size), this.archiveName);
        pos += Math.ceil(h.size / BLOCK) * BLOCK;
        continue;
      }
      const hname = pax.path ?? h.name;
      const hsize = pax.size !== undefined ? Number(pax.size) : h.size;
      if (hname === name && hsize === m.size && pos === bytes.length) return;
      throw new ArchiveCorruptError(
        { archive: this.archiveName, member: name, check: 'manifest' },
        `tar header at ${m.header_offset} is ${JSON.stringify(hname)} (${hsize} bytes), manifest says ${JSON.stringify(name)} (${m.size} bytes)`,
      );
    }
    throw new ArchiveCorruptError({ archive: this.archiveName, member: name, check: 'tar-header' }, `no tar header at ${m.header_offset}`);
  }
}

/** One object's record from manifest.json, validated as the whole manifest's objects are. */
function parseRecord(text: string, archive: string | undefined, member: string): ManifestObject {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ArchiveCorruptError({ archive, member, check: 'index' }, 'member index points at a record that is not JSON', { cause: err });
  }
  const { manifestObjectSchema } = require('./manifestSchema') as typeof import('./manifestSchema');
  const parsed = manifestObjectSchema.safeParse(raw);
  if (!parsed.success) throw new ArchiveCorruptError({ archive, member, check: 'index' }, 'member index points at a record that is not a manifest object');
  validateMemberName(parsed.data.relative_key, archive);
  validateMemberName(OBJECTS_PREFIX + parsed.data.relative_key, archive);
  return parsed.data;
}
