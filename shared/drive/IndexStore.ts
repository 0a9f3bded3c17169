/**
 * One subject's file index while a run works, on local disk rather than in memory (Bitcask's
 * design): every entry is a JSONL line appended to a log file in the run's spool folder, and a
 * KeyDir maps each file id to the offset of its latest line (plus a few flag bits), so a lookup is
 * one hash probe and one `pread` of ~0.7 KB. A second KeyDir maps stored paths to file ids (for
 * duplicate-name suffixes); a path entry is trusted only after the line it leads to says so, so a
 * file that moved away needs no removal.
 *
 * Why not a JS Map: the index was 661 B a file in memory (630 MiB for a 1M-file user, two users at
 * once in a 2 GiB task). Here the tables are 75 MiB at 1M files (bench:drive) and the log's
 * bytes live in the page cache, which the kernel may drop. Why not SQLite or LevelDB: a native
 * module that Node 20 does not bundle and the container would have to compile.
 */
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hash64, KeyDir } from './KeyDir';
import type { IndexEntry } from './UserState';

/** Counts over the live index (what the per-subject status record reports). */
export interface IndexSummary {
  /** Every file the index knows, deleted ones included. */
  entries: number;
  /** Files still in the Drive (not trashed or removed). */
  files: number;
  /** Of those, files with a backup copy. */
  stored: number;
  /** Bytes of those copies. */
  bytes: number;
  unavailable: number;
  notOwned: number;
  excluded: number;
  failed: number;
  deleted: number;
}

const KIND = ['', 'binary', 'export', 'record', 'unavailable', 'excluded', 'failed', 'not_owned'] as const;
const F_FAILED = 0x08;
const F_EXCLUDED = 0x10;
const F_DELETED = 0x20;
const F_KEY = 0x40;
/** A kept backup whose file is unavailable now (the entry keeps its kind, with a reason). */
const F_UNAVAILABLE_NOW = 0x80;
const KIND_MASK = 0x07;

/** Flag bits of an entry (kind code and markers), kept in the KeyDir so scans need not parse. */
export function entryFlags(e: IndexEntry): number {
  let f = Math.max(0, KIND.indexOf(e.kind as (typeof KIND)[number]));
  if (e.failed !== undefined) f |= F_FAILED;
  if (e.excluded !== undefined) f |= F_EXCLUDED;
  if (e.deleted) f |= F_DELETED;
  if (e.key) f |= F_KEY;
  if (e.key && e.reason !== undefined && (e.kind === 'binary' || e.kind === 'export' || e.kind === 'record')) f |= F_UNAVAILABLE_NOW;
  return f;
}

/** What a scan selects, from an entry's flags. */
export const select = {
  failed: (f: number): boolean => (f & KIND_MASK) === 6 || (f & F_FAILED) !== 0,
  excluded: (f: number): boolean => !(f & F_DELETED) && ((f & KIND_MASK) === 5 || (f & F_EXCLUDED) !== 0),
  exported: (f: number): boolean => !(f & F_DELETED) && (f & KIND_MASK) === 2,
};

// KeyDir columns of the id table: offset of the latest line, its length (0: removed), flags.
const OFF = 0;
const LEN = 1;
const FLAGS = 2;
const WRITE_BUFFER = 1 << 20;

export class IndexStore {
  private readonly ids = new KeyDir(['f64', 'u32', 'u8']);
  /** Path hash → the id hash of the file that took it last (columns: hi, lo). */
  private readonly paths = new KeyDir(['u32', 'u32']);
  /**
   * Paths whose hash another held path already has (path → id). Without it a crafted name could
   * make a held path look free, and a second file would be stored under the first one's key.
   */
  private readonly collidedPaths = new Map<string, string>();
  private readonly fd: number;
  /** Bytes already in the file; later lines wait in `buf`. */
  private flushed = 0;
  private buf = Buffer.allocUnsafe(WRITE_BUFFER);
  private bufLen = 0;
  private readonly sum: IndexSummary = { entries: 0, files: 0, stored: 0, bytes: 0, unavailable: 0, notOwned: 0, excluded: 0, failed: 0, deleted: 0 };

  private constructor(private readonly file: string) {
    this.fd = openSync(file, 'w+');
  }

  /** A new, empty store whose log lives in `dir` (created). */
  static open(dir: string): IndexStore {
    mkdirSync(dir, { recursive: true });
    return new IndexStore(join(dir, `index-${process.hrtime.bigint().toString(36)}.log`));
  }

  get size(): number {
    return this.sum.entries;
  }

  /** Counts over the live entries. */
  summary(): IndexSummary {
    return { ...this.sum };
  }

  /** Bytes of memory the tables hold (the benchmark reports it). */
  get tableBytes(): number {
    return this.ids.bytes + this.paths.bytes + this.buf.length;
  }

  /**
   * Records `id`'s new entry (null removes it); `line` is its JSONL form when the caller has it.
   * Returns false, writing nothing, when the entry is the one already recorded.
   */
  apply(id: string, entry: IndexEntry | null, line = JSON.stringify([id, entry])): boolean {
    const key = hash64(id);
    const known = this.ids.slot(key);
    let prev: IndexEntry | undefined;
    if (known >= 0 && this.ids.get(known, LEN) > 0) {
      const old = this.readLine(known);
      if (old === line) return false;
      prev = (JSON.parse(old) as [string, IndexEntry])[1];
    } else if (entry === null) return false;
    if (prev) this.count(prev, -1);
    const slot = known >= 0 ? known : this.ids.upsert(key);
    if (entry === null) {
      this.ids.set(slot, LEN, 0);
      this.ids.set(slot, FLAGS, 0);
      return true;
    }
    const bytes = Buffer.byteLength(line) + 1;
    this.ids.set(slot, OFF, this.append(line, bytes));
    this.ids.set(slot, LEN, bytes - 1);
    this.ids.set(slot, FLAGS, entryFlags(entry));
    this.count(entry, 1);
    if (entry.path && entry.key) this.claimPath(entry.path, id, key);
    return true;
  }

  /** The latest entry of a file. */
  get(id: string): IndexEntry | undefined {
    const slot = this.ids.slot(hash64(id));
    if (slot < 0 || this.ids.get(slot, LEN) === 0) return undefined;
    const [lineId, entry] = JSON.parse(this.readLine(slot)) as [string, IndexEntry];
    return lineId === id ? entry : undefined;
  }

  /** Which file holds a stored path now (its latest entry is stored there). */
  ownerOfPath(path: string): string | undefined {
    const collided = this.collidedPaths.get(path);
    if (collided !== undefined) {
      const e = this.get(collided);
      if (e?.path === path && e.key) return collided;
    }
    const holder = this.pathHolder(hash64(path));
    return holder && holder[1].path === path && holder[1].key ? holder[0] : undefined;
  }

  /** The file the path table names for a path hash, with its latest entry. */
  private pathHolder(h: [number, number]): [string, IndexEntry] | undefined {
    const p = this.paths.slot(h);
    if (p < 0) return undefined;
    const slot = this.ids.slot([this.paths.get(p, 0), this.paths.get(p, 1)]);
    if (slot < 0 || this.ids.get(slot, LEN) === 0) return undefined;
    return JSON.parse(this.readLine(slot)) as [string, IndexEntry];
  }

  private claimPath(path: string, id: string, idKey: [number, number]): void {
    const h = hash64(path);
    const holder = this.pathHolder(h);
    // Another file still stored at another path of the same hash: keep both, this one by name.
    if (holder && holder[0] !== id && holder[1].key && holder[1].path !== path && sameHash(hash64(holder[1].path ?? ''), h)) {
      this.collidedPaths.set(path, id);
      return;
    }
    this.collidedPaths.delete(path);
    const p = this.paths.upsert(h);
    this.paths.set(p, 0, idKey[0]);
    this.paths.set(p, 1, idKey[1]);
  }

  /**
   * The live entries whose flags `want` selects, in log order; lines appended while the scan
   * runs are not visited (a caller may update the entries it is given).
   */
  async *scan(want: (flags: number) => boolean): AsyncGenerator<[string, IndexEntry]> {
    for (const { line, slot } of this.liveLines()) {
      if (want(this.ids.get(slot, FLAGS))) yield JSON.parse(line) as [string, IndexEntry];
    }
  }

  /** The latest line of every live file, each ending in '\n' (what index.jsonl holds). */
  async *lines(): AsyncGenerator<string> {
    for (const { line } of this.liveLines()) yield `${line}\n`;
  }

  /** Closes and removes the log. */
  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.file, { force: true });
  }

  private count(e: IndexEntry, sign: 1 | -1): void {
    const s = this.sum;
    s.entries += sign;
    if (e.deleted) s.deleted += sign;
    else {
      s.files += sign;
      if (e.key) {
        s.stored += sign;
        s.bytes += sign * (e.size ?? 0);
      }
      if (e.kind === 'unavailable' || (e.key && e.reason !== undefined && (e.kind === 'binary' || e.kind === 'export' || e.kind === 'record'))) s.unavailable += sign;
      if (e.kind === 'not_owned') s.notOwned += sign;
      if (e.kind === 'excluded' || e.excluded !== undefined) s.excluded += sign;
      if (e.kind === 'failed' || e.failed !== undefined) s.failed += sign;
    }
  }

  private append(line: string, bytes: number): number {
    const at = this.flushed + this.bufLen;
    if (this.bufLen + bytes > this.buf.length) this.flush();
    if (bytes > this.buf.length) {
      this.flushed += writeSync(this.fd, `${line}\n`, this.flushed);
      return at;
    }
    this.bufLen += this.buf.write(line, this.bufLen);
    this.buf[this.bufLen++] = 0x0a;
    return at;
  }

  private flush(): void {
    let done = 0;
    while (done < this.bufLen) done += writeSync(this.fd, this.buf, done, this.bufLen - done, this.flushed + done);
    this.flushed += this.bufLen;
    this.bufLen = 0;
  }

  private readLine(slot: number): string {
    const off = this.ids.get(slot, OFF);
    const len = this.ids.get(slot, LEN);
    if (off >= this.flushed) return this.buf.toString('utf8', off - this.flushed, off - this.flushed + len);
    const b = Buffer.allocUnsafe(len);
    let got = 0;
    while (got < len) {
      const n = readSync(this.fd, b, got, len - got, off + got);
      if (n === 0) throw new Error(`index log ${this.file} ends before offset ${off + len}`);
      got += n;
    }
    return b.toString('utf8');
  }

  /** Every line of the log up to its end now whose offset is its file's latest. */
  private *liveLines(): Generator<{ line: string; slot: number }> {
    this.flush();
    const end = this.flushed;
    const chunk = Buffer.allocUnsafe(WRITE_BUFFER);
    let carry = Buffer.alloc(0);
    let pos = 0;
    while (pos < end) {
      const n = readSync(this.fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
      if (n === 0) break;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      const base = pos - carry.length;
      pos += n;
      let start = 0;
      for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
        const offset = base + start;
        const line = data.toString('utf8', start, nl);
        start = nl + 1;
        const slot = this.ids.slot(hash64(lineId(line)));
        if (slot >= 0 && this.ids.get(slot, OFF) === offset && this.ids.get(slot, LEN) > 0) yield { line, slot };
      }
      carry = Buffer.from(data.subarray(start));
    }
  }
}

const sameHash = (a: [number, number], b: [number, number]): boolean => a[0] === b[0] && a[1] === b[1];

/** The file id at the start of a `["id",{...}]` line (JSON.parse only when it is escaped). */
function lineId(line: string): string {
  const end = line.indexOf('"', 2);
  const id = line.slice(2, end);
  return id.includes('\\') ? (JSON.parse(line) as [string])[0] : id;
}
