/**
 * The member index: a sorted, checksummed map from each member's name to its record in
 * manifest.json, in a zstd skippable frame between the last compressed frame and the seek table
 * (README "The archive format" documents the layout byte by byte). Stock `zstd -d` skips it, so
 * `zstd -d | tar -x` sees exactly the tar stream it always did.
 *
 * Why: finding one member used to mean reading the whole manifest (3.9 MB of a 370 MB archive at
 * 24,000 members). With the index a reader fetches the tail (seek table, index trailer and root
 * page: one read), one 4 KiB page per further level, and the small manifest frame holding the
 * record. Entries are fixed-size (a 64-bit hash of the name, not the name), so pages need no
 * parsing beyond a binary search and every level is a fixed fan-out tree: bounded reads at any
 * member count. The record itself stays the manifest's own JSON, so index and manifest cannot
 * disagree on anything but where a record is, and readers cross-check that.
 */
import { createHash, hash } from 'node:crypto';
import { ArchiveCorruptError } from './errors';

/** Skippable-frame magic of the index (the seek table uses 0x184D2A5E). */
export const INDEX_MAGIC = 0x184d2a5b;
/** First 8 bytes of the trailer. */
export const TRAILER_MAGIC = Buffer.from('xrindex1', 'latin1');
export const TRAILER_BYTES = 64;
export const ENTRY_BYTES = 16;
/** Entries per page: 4 KiB pages, one ranged read each. */
export const PAGE_ENTRIES = 256;
/** A record longer than this is refused before anything is allocated (S3 metadata and tags are a few KiB at most). */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Pages per level are capped by this fan-out; a reader refuses other values (bounded page reads). */
const MAX_PAGE_ENTRIES = 4096;

/** The 8-byte index hash of a member: the first 8 bytes of SHA-256 of its relative key (UTF-8). */
export function memberHash(relativeKey: string): Buffer {
  // One-shot crypto.hash: no Hash object per member (measured ~30% cheaper at 200k members).
  return hash('sha256', relativeKey, 'buffer').subarray(0, 8);
}

/** First 8 bytes of SHA-256 of `bytes`: the checksum of a page and of the trailer. */
export function checksum8(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, 8);
}

/** Where manifest.json sits in the uncompressed tar stream. */
export interface ManifestLocation {
  /** Offset of its first tar header block. */
  headerOffset: number;
  /** Offset of its first data byte. */
  dataOffset: number;
  /** Its size in bytes. */
  size: number;
}

/** The parsed trailer. */
export interface IndexTrailer extends ManifestLocation {
  count: number;
  levels: number;
  pageEntries: number;
  rootChecksum: Buffer;
  /** Bytes of index content (pages + trailer): the skippable frame's Frame_Size. */
  contentLength: number;
}

/** Page counts per level, leaves first, and each level's byte offset in the content. */
export interface IndexLayout {
  pages: number[];
  /** Entries per level (level 0: members; level l+1: pages of level l). */
  entries: number[];
  starts: number[];
  pagesBytes: number;
}

/** The page tree's shape for `count` entries: levels are added until one has a single page. */
export function indexLayout(count: number, pageEntries: number): IndexLayout {
  const layout: IndexLayout = { pages: [], entries: [], starts: [], pagesBytes: 0 };
  if (count === 0) return layout;
  let n = count;
  for (;;) {
    const pages = Math.ceil(n / pageEntries);
    layout.starts.push(layout.pagesBytes);
    layout.entries.push(n);
    layout.pages.push(pages);
    layout.pagesBytes += n * ENTRY_BYTES;
    if (pages === 1) return layout;
    n = pages;
  }
}

/** Compares two 8-byte hashes as unsigned big-endian numbers (byte order). */
export function compareHash(a: Buffer, aOff: number, b: Buffer, bOff: number): number {
  for (let i = 0; i < 8; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The whole index skippable frame for `entries` (`count` packed 16-byte entries: hash, record
 * offset u32, record length u32, in any order).
 */
export function encodeMemberIndex(entries: Buffer, count: number, manifest: ManifestLocation): Buffer {
  // Sort a permutation, not the entries: one 16-byte copy per entry at the end.
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((x, y) => compareHash(entries, x * ENTRY_BYTES, entries, y * ENTRY_BYTES) || entries.readUInt32LE(x * ENTRY_BYTES + 8) - entries.readUInt32LE(y * ENTRY_BYTES + 8));
  const layout = indexLayout(count, PAGE_ENTRIES);
  const contentLength = layout.pagesBytes + TRAILER_BYTES;
  const frame = Buffer.alloc(8 + contentLength);
  frame.writeUInt32LE(INDEX_MAGIC, 0);
  frame.writeUInt32LE(contentLength, 4);
  const content = frame.subarray(8);
  for (let i = 0; i < count; i++) entries.copy(content, i * ENTRY_BYTES, order[i]! * ENTRY_BYTES, (order[i]! + 1) * ENTRY_BYTES);
  let rootChecksum: Buffer = Buffer.alloc(8);
  for (let level = 0; level < layout.pages.length; level++) {
    const pages = layout.pages[level]!;
    for (let p = 0; p < pages; p++) {
      const start = layout.starts[level]! + p * PAGE_ENTRIES * ENTRY_BYTES;
      const end = layout.starts[level]! + Math.min((p + 1) * PAGE_ENTRIES, layout.entries[level]!) * ENTRY_BYTES;
      const sum = checksum8(content.subarray(start, end));
      if (level + 1 === layout.pages.length) {
        rootChecksum = sum;
      } else {
        // The parent entry: this page's first hash and its checksum.
        const parent = layout.starts[level + 1]! + p * ENTRY_BYTES;
        content.copy(content, parent, start, start + 8);
        sum.copy(content, parent + 8);
      }
    }
  }
  const t = content.subarray(layout.pagesBytes);
  TRAILER_MAGIC.copy(t, 0);
  t.writeUInt32LE(count, 8);
  t.writeUInt32LE(layout.pages.length, 12);
  t.writeBigUInt64LE(BigInt(manifest.headerOffset), 16);
  t.writeBigUInt64LE(BigInt(manifest.dataOffset), 24);
  t.writeBigUInt64LE(BigInt(manifest.size), 32);
  rootChecksum.copy(t, 40);
  t.writeUInt32LE(contentLength, 48);
  t.writeUInt32LE(PAGE_ENTRIES, 52);
  checksum8(t.subarray(0, 56)).copy(t, 56);
  return frame;
}

/**
 * Parses and checks the trailer (its checksum, its fields against each other and against the
 * frame it ends); throws ArchiveCorruptError (check 'index').
 */
export function parseIndexTrailer(t: Buffer, frameContentLength: number, archive: string | undefined): IndexTrailer {
  const bad = (detail: string): never => {
    throw new ArchiveCorruptError({ archive, check: 'index' }, `member index: ${detail}`);
  };
  if (t.length !== TRAILER_BYTES || !t.subarray(0, 8).equals(TRAILER_MAGIC)) bad('trailer magic "xrindex1" missing');
  if (!checksum8(t.subarray(0, 56)).equals(t.subarray(56, 64))) bad('trailer checksum mismatch');
  const u64 = (at: number): number => {
    const v = t.readBigUInt64LE(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) bad(`trailer field at ${at} is out of range`);
    return Number(v);
  };
  const trailer: IndexTrailer = {
    count: t.readUInt32LE(8),
    levels: t.readUInt32LE(12),
    headerOffset: u64(16),
    dataOffset: u64(24),
    size: u64(32),
    rootChecksum: Buffer.from(t.subarray(40, 48)),
    contentLength: t.readUInt32LE(48),
    pageEntries: t.readUInt32LE(52),
  };
  if (trailer.pageEntries < 2 || trailer.pageEntries > MAX_PAGE_ENTRIES) bad(`${trailer.pageEntries} entries per page`);
  if (trailer.contentLength !== frameContentLength) bad(`trailer says ${trailer.contentLength} bytes, its frame holds ${frameContentLength}`);
  const layout = indexLayout(trailer.count, trailer.pageEntries);
  if (layout.pages.length !== trailer.levels) bad(`${trailer.levels} levels for ${trailer.count} entries (expected ${layout.pages.length})`);
  if (layout.pagesBytes + TRAILER_BYTES !== trailer.contentLength) bad(`${trailer.contentLength} bytes for ${trailer.count} entries (expected ${layout.pagesBytes + TRAILER_BYTES})`);
  if (trailer.dataOffset <= trailer.headerOffset) bad('manifest data starts before its header');
  return trailer;
}
