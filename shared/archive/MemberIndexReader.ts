/**
 * Reads the member index (./memberIndex) page by page: every page is checked against the checksum
 * its parent page (or, for the root, the trailer) records for it before a byte of it is trusted,
 * so a reader that fetched three pages has verified exactly those three.
 */
import { ArchiveCorruptError } from './errors';
import { checksum8, compareHash, ENTRY_BYTES, indexLayout, type IndexLayout, type IndexTrailer } from './memberIndex';

/** Where one member's JSON record sits in manifest.json's data. */
export interface IndexEntry {
  hash: Buffer;
  recordOffset: number;
  recordLength: number;
}

function entryAt(page: Buffer, j: number): IndexEntry {
  const at = j * ENTRY_BYTES;
  return { hash: page.subarray(at, at + 8), recordOffset: page.readUInt32LE(at + 8), recordLength: page.readUInt32LE(at + 12) };
}

/** Page-by-page access to one archive's index; pages are cached once verified. */
export class MemberIndexReader {
  private readonly layout: IndexLayout;
  private readonly pages = new Map<string, Buffer>();

  constructor(
    /** Reads `length` bytes at `offset` of the index content (the skippable frame minus its 8-byte header). */
    private readonly readContent: (offset: number, length: number) => Promise<Buffer>,
    readonly trailer: IndexTrailer,
    private readonly archive: string | undefined,
  ) {
    this.layout = indexLayout(trailer.count, trailer.pageEntries);
  }

  private bad(detail: string): never {
    throw new ArchiveCorruptError({ archive: this.archive, check: 'index' }, `member index: ${detail}`);
  }

  /** Page `i` of `level`, verified against its parent's entry (checksum and first hash) and sorted. */
  private async page(level: number, i: number): Promise<Buffer> {
    const key = `${level}/${i}`;
    const cached = this.pages.get(key);
    if (cached) return cached;
    const pe = this.trailer.pageEntries;
    const n = Math.min(pe, this.layout.entries[level]! - i * pe);
    if (!(n > 0)) this.bad(`no page ${i} at level ${level}`);
    let expected: Buffer;
    let first: Buffer | undefined;
    if (level === this.layout.pages.length - 1) {
      expected = this.trailer.rootChecksum;
    } else {
      const parent = await this.page(level + 1, Math.floor(i / pe));
      const at = (i % pe) * ENTRY_BYTES;
      first = parent.subarray(at, at + 8);
      expected = parent.subarray(at + 8, at + 16);
    }
    const bytes = await this.readContent(this.layout.starts[level]! + i * pe * ENTRY_BYTES, n * ENTRY_BYTES);
    if (bytes.length !== n * ENTRY_BYTES) this.bad(`short page ${i} at level ${level}`);
    if (!checksum8(bytes).equals(expected)) this.bad(`checksum mismatch in page ${i} of level ${level}`);
    if (first && !bytes.subarray(0, 8).equals(first)) this.bad(`page ${i} of level ${level} does not start with the hash its parent names`);
    for (let j = 1; j < n; j++) if (compareHash(bytes, (j - 1) * ENTRY_BYTES, bytes, j * ENTRY_BYTES) > 0) this.bad(`page ${i} of level ${level} is not sorted`);
    this.pages.set(key, bytes);
    return bytes;
  }

  /** The entries whose hash equals `hash` (one in practice; more only on a 64-bit collision). */
  async find(hash: Buffer): Promise<IndexEntry[]> {
    const levels = this.layout.pages.length;
    if (levels === 0) return [];
    const pe = this.trailer.pageEntries;
    // Descend to the leftmost leaf that can hold `hash`: the last child whose first hash is below it.
    let i = 0;
    for (let level = levels - 1; level > 0; level--) {
      const p = await this.page(level, i);
      let lo = 0;
      let hi = p.length / ENTRY_BYTES - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (compareHash(p, mid * ENTRY_BYTES, hash, 0) < 0) lo = mid;
        else hi = mid - 1;
      }
      i = i * pe + lo;
    }
    const out: IndexEntry[] = [];
    for (let leaf = i; leaf < this.layout.pages[0]!; leaf++) {
      const p = await this.page(0, leaf);
      const n = p.length / ENTRY_BYTES;
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (compareHash(p, mid * ENTRY_BYTES, hash, 0) < 0) lo = mid + 1;
        else hi = mid;
      }
      let j = lo;
      for (; j < n && compareHash(p, j * ENTRY_BYTES, hash, 0) === 0; j++) out.push(entryAt(p, j));
      if (j < n || leaf + 1 >= this.layout.pages[0]!) break;
      // The page ended on or below `hash`: equal hashes may continue on the next leaf, whose first
      // hash its parent names (no leaf read unless it does).
      const parent = await this.page(1, Math.floor((leaf + 1) / pe));
      if (compareHash(parent, ((leaf + 1) % pe) * ENTRY_BYTES, hash, 0) !== 0) break;
    }
    return out;
  }

  /** Every entry in index order, each page verified (the whole-index check of a full read). */
  async all(): Promise<IndexEntry[]> {
    const out: IndexEntry[] = [];
    const leaves = this.layout.pages[0] ?? 0;
    let prev: Buffer | undefined;
    for (let leaf = 0; leaf < leaves; leaf++) {
      const p = await this.page(0, leaf);
      if (prev && compareHash(prev, 0, p, 0) > 0) this.bad(`leaf ${leaf} is out of order`);
      for (let j = 0; j < p.length / ENTRY_BYTES; j++) out.push(entryAt(p, j));
      prev = p.subarray(p.length - ENTRY_BYTES);
    }
    // Upper pages are verified on the way down to each leaf; check none is left unvisited.
    for (let level = 1; level < this.layout.pages.length; level++) {
      for (let i = 0; i < this.layout.pages[level]!; i++) await this.page(level, i);
    }
    return out;
  }
}
