/**
 * Where sidecars live and how they are read, staged, placed, marked and removed (layout.ts has
 * the paths; sidecar.ts the format). Every call here is synchronous but the syncs: sidecars are a
 * few hundred bytes, and on the 2-vCPU bench machine a thread-pool round trip per call cost 7–10x
 * the call itself (2,000 open+stat+sidecar reads: 24 ms sync vs 164–282 ms async).
 *
 * A small in-memory cache serves the sidecar of a data file this store just wrote or read: the
 * compressor HEADs and then GETs each source object, and the router HEADs a destination key before
 * it writes it, so each sidecar was read from disk two or three times. An entry is used only when
 * the data file's identity (inode, size, mtime) still matches it, as a file's would be; the facts
 * of one identity never change but for the announced flag, which the cache does not serve.
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { syncFd } from './durable';
import { tempName, type LocalLayout } from './layout';
import { ANNOUNCED, decodeSidecar, encodeSidecar, sidecarMatches, UNANNOUNCED, type Sidecar } from './sidecar';

/** Sidecars kept in memory (a few hundred bytes each). */
const CACHE_ENTRIES = 4096;
/** A sidecar is read with one read of this size (a larger one, with many tags, takes more). */
const READ_BYTES = 4096;

/** Reads a whole small file with open/read/close (readFileSync adds an fstat); undefined when absent. */
function readSmall(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    let buf = Buffer.allocUnsafe(READ_BYTES);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      n += got;
      if (got === 0 || n < buf.length) break;
      const bigger = Buffer.allocUnsafe(buf.length * 4);
      buf.copy(bigger, 0, 0, n);
      buf = bigger;
    }
    return buf.subarray(0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export class SidecarFiles {
  private readonly cache = new Map<string, Sidecar>();
  /** Buckets that have a format-1 `.meta` tree (looked up once per bucket). */
  private readonly legacy = new Map<string, boolean>();

  constructor(
    private readonly layout: LocalLayout,
    private readonly fsync: boolean,
    /** The store's temp files in flight (sweepTempFiles leaves them alone); staged sidecars join it. */
    private readonly inFlight: Set<string>,
  ) {}

  /**
   * The sidecar of `key`: the cached one when it matches `st`, else the file's; a format-1
   * sidecar when the current one does not describe `st` (a data dir written before the flat
   * layout, or a crash between a commit's renames there). Without `st`, the file's as it is.
   */
  read(bucket: string, key: string, st?: Stats, useCache = true): Sidecar | undefined {
    const id = `${bucket}\0${key}`;
    if (st && useCache) {
      const hit = this.cache.get(id);
      if (sidecarMatches(hit, st)) return hit;
    }
    const buf = readSmall(this.layout.sidecarPath(bucket, key));
    const side = buf && decodeSidecar(buf, key);
    if (st && !sidecarMatches(side, st) && this.hasLegacy(bucket)) {
      const old = readSmall(this.layout.legacyMetaPath(bucket, key));
      const legacy = old && decodeSidecar(old, key);
      if (sidecarMatches(legacy, st) || (side === undefined && legacy !== undefined)) return legacy;
    }
    if (st && sidecarMatches(side, st)) this.remember(id, side);
    return side;
  }

  /** Remember a sidecar just placed (commits), for the reads that follow. */
  remember(id: string, side: Sidecar): void {
    this.cache.delete(id);
    this.cache.set(id, side);
    if (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
  }

  /** Forget `key` (deleted). */
  forget(bucket: string, key: string): void {
    this.cache.delete(`${bucket}\0${key}`);
  }

  /**
   * Writes a sidecar to a new temp file, tracked as in flight until placed or discarded, and
   * returns its path and still-open descriptor.
   */
  private write(side: Sidecar, key: string): { tmp: string; fd: number } {
    const tmp = path.join(this.layout.tmpDir(), tempName('meta'));
    this.inFlight.add(tmp);
    let fd: number | undefined;
    try {
      try {
        fd = openSync(tmp, 'w');
      } catch (err) {
        // A root whose temp folder was never made (a data dir only read so far) or was removed.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        mkdirSync(this.layout.tmpDir(), { recursive: true });
        fd = openSync(tmp, 'w');
      }
      writeSync(fd, encodeSidecar(side, key));
      return { tmp, fd };
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      this.discard(tmp);
      throw err;
    }
  }

  /**
   * A staged sidecar for place(), fdatasynced when fsync is on: one descriptor for the write and
   * the sync (before: a second open to sync).
   */
  async stage(side: Sidecar, key: string): Promise<string> {
    const { tmp, fd } = this.write(side, key);
    try {
      if (this.fsync) await syncFd(fd);
    } catch (err) {
      closeSync(fd);
      this.discard(tmp);
      throw err;
    }
    closeSync(fd);
    return tmp;
  }

  /** A staged sidecar, not synced (announced marks: losing one repeats an event). */
  stageUnsynced(side: Sidecar, key: string): string {
    const { tmp, fd } = this.write(side, key);
    closeSync(fd);
    return tmp;
  }

  /** Removes a staged sidecar that will not be placed. */
  discard(tmp: string): void {
    rmSync(tmp, { force: true });
    this.inFlight.delete(tmp);
  }

  /** Renames a staged sidecar over `key`'s (atomic: readers see the old or the new one); on failure `tmp` stays staged (retry, or discard it). */
  place(tmp: string, bucket: string, key: string, side?: Sidecar): void {
    renameSync(tmp, this.layout.sidecarPath(bucket, key));
    this.inFlight.delete(tmp);
    if (side) this.remember(`${bucket}\0${key}`, side);
  }

  /**
   * Marks `side`'s version announced in place: one read to check the file still names that
   * version, one 1-byte write. Not synced (see sidecar.ts). False when the file names another
   * version or is format 1 (the caller stages a format-2 copy instead).
   */
  markAnnounced(bucket: string, key: string, side: Sidecar): boolean {
    let fd: number;
    try {
      fd = openSync(this.layout.sidecarPath(bucket, key), 'r+');
    } catch {
      return false;
    }
    try {
      const head = Buffer.allocUnsafe(64);
      const n = readSync(fd, head, 0, head.length, 0);
      const nl = head.subarray(0, n).indexOf(0x0a);
      if (nl < 0 || (head[0] !== UNANNOUNCED && head[0] !== ANNOUNCED) || head.subarray(1, nl).toString('utf8') !== side.versionId) return false;
      if (head[0] === UNANNOUNCED) writeSync(fd, Buffer.from([ANNOUNCED]), 0, 1, 0);
      const cached = this.cache.get(`${bucket}\0${key}`);
      if (cached?.versionId === side.versionId) cached.announced = true;
      return true;
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
  }

  /** Removes `key`'s sidecars (both formats). */
  remove(bucket: string, key: string): void {
    this.forget(bucket, key);
    rmSync(this.layout.sidecarPath(bucket, key), { force: true });
    if (this.hasLegacy(bucket)) rmSync(this.layout.legacyMetaPath(bucket, key), { force: true });
  }

  /** True when the bucket has a format-1 sidecar tree. */
  hasLegacy(bucket: string): boolean {
    let has = this.legacy.get(bucket);
    if (has === undefined) {
      has = existsSync(this.layout.legacyMetaBucketDir(bucket));
      this.legacy.set(bucket, has);
    }
    return has;
  }
}
