/**
 * ObjectStore on the local filesystem (the embedded default). A bucket is a folder; see
 * layout.ts for where bytes, sidecars and temp files live. A put streams into a temp file on the
 * same filesystem, verifies size and sha256, and only then renames into place, so a crash never
 * leaves a half object visible. After each committed put/copy the store sends the S3 event JSON
 * to the queue of every matching notification rule.
 *
 * Metadata-sized calls (open, stat, sidecars, renames, small bodies) are synchronous: on the
 * 2-vCPU bench machine each threadpool round trip cost several times the syscall itself, and the
 * pipeline makes a dozen such calls per object (sidecar.ts has the measurement). Bodies above
 * SYNC_BODY_BYTES still stream asynchronously, so a large object never blocks the event loop.
 * The fsyncs that make commits survive a power loss (on by default) are the exception: each
 * costs milliseconds, so they run on the thread pool, where concurrent puts overlap them
 * (durable.ts).
 */
import { closeSync, createReadStream, createWriteStream, fstatSync, linkSync, openSync, promises as fs, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { DigestStream } from '../DigestStream';
import { normalizePutOptions } from '../putOptions';
import { ChecksumMismatchError, InvalidKeyError, NoSuchBucketError, NoSuchObjectError, PreconditionFailedError, SizeMismatchError, StorageError } from '../errors';
import {
  SHA256_METADATA_KEY,
  type CopyOptions,
  type HeadOptions,
  type ObjectInfo,
  type ObjectRef,
  type ObjectStore,
  type ObjectSummary,
  type PutOptions,
  type PutResult,
  type ReadOptions,
} from '../port';
import { buildS3TestEvent } from '../s3Event';
import { DirSync, syncFile } from './durable';
import { FolderCache } from './FolderCache';
import { readFully, SYNC_BODY_BYTES } from './readFully';
import { KeyLock } from './KeyLock';
import { SettleTracker } from './SettleTracker';
import { sweepTemp, type SweepResult } from './tempFiles';
import { checkBucket, isTempName, LocalLayout, tempName } from './layout';
import { EventNotQueuedError } from './errors';
import { anyRuleMatches, notify, type LocalEventName, type LocalNotificationRule } from './notifications';
import { deriveSidecar, newVersionId, placeSidecar, readSidecar, sidecarMatches, stageSidecar, type Sidecar } from './sidecar';
import { walkKeys } from './walk';

export interface LocalObjectStoreConfig {
  /** Folder that holds the buckets. */
  root: string;
  /** awsRegion in emitted events (default 'us-east-1'). */
  region?: string;
  /** Notification rules active from the start (see also addNotificationRule). */
  notifications?: LocalNotificationRule[];
  /**
   * Make every commit survive a power loss, not just a crash (default true): data and sidecar
   * fdatasynced before their renames, and the folders holding the new entries fsynced before the
   * put returns and its event is sent (see durable.ts). Off only for tests and benchmarks.
   */
  fsync?: boolean;
  /** Above this size a put's event is `CompleteMultipartUpload`, as on S3 (default 16 MiB). */
  multipartThreshold?: number;
  /** scanForNewFiles' default settle time (default DEFAULT_SETTLE_MS; see there). */
  settleMs?: number;
}

const DEFAULT_THRESHOLD = 16 * 1024 * 1024;

/**
 * How long a dropped file must stay unchanged (size, mtime, inode) across scans before it is
 * announced. Writers that stream a file in place pause between writes, and a pause longer than
 * this announces a torn file; 2 s covers local copies and downloads (which write continuously),
 * filesystems whose mtimes are only 1–2 s fine (HFS+, FAT, some network mounts), and a scan loop
 * that runs every second, while a file still shows up within about 3 s. Slow or bursty writers
 * (network copies that stall) need more: the appliance passes `--settle-seconds`. Writers that
 * write under a temporary name and rename (rsync, most download tools) are safe with any value.
 */
export const DEFAULT_SETTLE_MS = 2000;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The event S3 sends for a put of `size` bytes: above the multipart threshold, CompleteMultipartUpload. */
function putEvent(size: number, multipartThreshold: number): LocalEventName {
  return size > multipartThreshold ? 'ObjectCreated:CompleteMultipartUpload' : 'ObjectCreated:Put';
}

/** Identifies one version in `announcing`. */
function announceId(bucket: string, key: string, versionId: string): string {
  return `${bucket}\0${key}\0${versionId}`;
}

function lowerKeys(m: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/** An open, pinned version of one object: the descriptor keeps its bytes even if it is replaced. */
interface Opened {
  fd: number;
  st: Stats;
  side: Sidecar;
}

export class LocalObjectStore implements ObjectStore {
  readonly layout: LocalLayout;
  private readonly region: string;
  private readonly rules: LocalNotificationRule[];
  private readonly fsync: boolean;
  private readonly threshold: number;
  private readonly settleMs: number;
  private readonly settle = new SettleTracker();
  private readonly locks = new KeyLock();
  private readonly folders = new FolderCache();
  private readonly dirs = new DirSync();
  /** Temp files of this store's writes in flight: sweepTempFiles leaves them alone. */
  private readonly inFlight = new Set<string>();
  /** Versions whose event is being sent right now (`bucket\0key\0versionId`): a concurrent scan leaves them alone. */
  private readonly announcing = new Set<string>();

  constructor(cfg: LocalObjectStoreConfig) {
    this.layout = new LocalLayout(path.resolve(cfg.root));
    this.region = cfg.region ?? 'us-east-1';
    this.rules = [...(cfg.notifications ?? [])];
    this.fsync = cfg.fsync ?? true;
    this.threshold = cfg.multipartThreshold ?? DEFAULT_THRESHOLD;
    this.settleMs = cfg.settleMs ?? DEFAULT_SETTLE_MS;
  }

  /** Create the bucket folder if missing (S3 CreateBucket; idempotent). */
  async ensureBucket(bucket: string): Promise<void> {
    checkBucket(bucket);
    const dir = this.layout.bucketDir(bucket);
    const first = await fs.mkdir(dir, { recursive: true });
    await fs.mkdir(this.layout.tmpDir(), { recursive: true });
    if (this.fsync && first !== undefined) {
      this.dirs.created(first, dir);
      await this.dirs.folderDurable(dir);
    }
  }

  /**
   * Removes the temp files (`<root>/.tmp/put-*`, `meta-*`) of writes that never finished: a
   * crash or a kill left them, and they were never visible. Call it at start-up, owning the root
   * (the appliance holds a data-dir lock, so every temp file not this store's is a dead
   * process's). This store's own writes in flight are kept; with `olderThanMs`, so is every file
   * modified more recently than that (for a root another process may be writing in). Returns
   * what it removed.
   */
  async sweepTempFiles(opts: { olderThanMs?: number } = {}): Promise<SweepResult> {
    try {
      return sweepTemp(this.layout.tmpDir(), isTempName, this.inFlight, opts.olderThanMs ?? 0);
    } catch (err) {
      throw new StorageError(`${this.layout.tmpDir()}: sweeping temp files failed: ${(err as Error).message}`, '', undefined, false, { cause: err });
    }
  }

  /** Add a notification rule; like S3, sends an `s3:TestEvent` to its queue first. */
  async addNotificationRule(rule: LocalNotificationRule): Promise<void> {
    this.rules.push(rule);
    await rule.queue.send(buildS3TestEvent(rule.bucket));
  }

  async head(bucket: string, key: string, opts: HeadOptions = {}): Promise<ObjectInfo> {
    const o = await this.open(bucket, key, opts);
    closeSync(o.fd);
    return this.toInfo(bucket, key, o, opts.withTags);
  }

  async get(bucket: string, key: string, opts: ReadOptions = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    const o = await this.open(bucket, key, opts);
    const info = this.toInfo(bucket, key, o, false);
    if (o.st.size <= SYNC_BODY_BYTES) {
      // Small objects (most of a Drive backup): one read, no stream over a descriptor.
      try {
        const buf = Buffer.allocUnsafe(o.st.size);
        const got = await readFully(o.fd, buf, 0);
        return { info, body: Readable.from([buf.subarray(0, got)], { objectMode: false }) };
      } finally {
        closeSync(o.fd);
      }
    }
    return { info, body: createReadStream('', { fd: o.fd, start: 0, autoClose: true }) };
  }

  async getRange(bucket: string, key: string, offset: number, length: number, opts: ReadOptions = {}): Promise<Buffer> {
    const o = await this.open(bucket, key, opts);
    try {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, o.st.size - offset)));
      return buf.subarray(0, await readFully(o.fd, buf, offset));
    } finally {
      closeSync(o.fd);
    }
  }

  async put(bucket: string, key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const opts = normalizePutOptions(options);
    const dataPath = this.layout.dataPath(bucket, key);
    this.requireBucket(bucket);
    const digest = new DigestStream({
      md5: true,
      expect: {
        sha256: opts.sha256,
        size: opts.size,
        onMismatch: (a) =>
          opts.sha256 !== undefined && opts.sha256.toLowerCase() !== a.sha256
            ? new ChecksumMismatchError(bucket, key, opts.sha256, a.sha256)
            : new SizeMismatchError(bucket, key, opts.size ?? -1, a.size),
      },
    });
    const tmp = this.tmpFile();
    try {
      if (Buffer.isBuffer(body)) {
        // A Buffer needs no stream plumbing: hash it, check it, write it in one call.
        digest.end(body);
        digest.resume();
        await finished(digest);
        if (body.length <= SYNC_BODY_BYTES) writeFileSync(tmp, body);
        else await fs.writeFile(tmp, body);
      } else await pipeline(body, digest, createWriteStream(tmp));
    } catch (err) {
      rmSync(tmp, { force: true });
      this.inFlight.delete(tmp);
      if (err instanceof StorageError) throw err;
      throw new StorageError(`s3://${bucket}/${key}: writing failed: ${(err as Error).message}`, bucket, key, errno(err) === 'EMFILE', { cause: err });
    }
    const side: Omit<Sidecar, 'ino' | 'mtimeMs' | 'size' | 'announced'> = {
      v: 1,
      etag: digest.md5Hex,
      sha256: digest.sha256,
      versionId: newVersionId(),
      lastModified: new Date().toISOString(),
      contentType: opts.contentType,
      storageClass: opts.storageClass || 'STANDARD',
      metadata: { ...lowerKeys(opts.metadata), [SHA256_METADATA_KEY]: digest.sha256 },
      tags: { ...(opts.tags ?? {}) },
    };
    const event = putEvent(digest.byteCount, opts.multipartThreshold ?? this.threshold);
    const condition = opts.ifNoneMatch !== undefined || opts.ifMatch !== undefined ? { ifNoneMatch: opts.ifNoneMatch, ifMatch: opts.ifMatch } : undefined;
    return this.commit(bucket, key, dataPath, tmp, side, event, condition);
  }

  async copy(source: ObjectRef, target: { bucket: string; key: string }, opts: CopyOptions = {}): Promise<PutResult> {
    return this.copyFrom(this, source, target, opts, () => 'ObjectCreated:Copy');
  }

  /**
   * Replicates an object from another local store (another region of the embedded default) with
   * its metadata, tags and storage class, as S3 Cross-Region Replication does; the replica's event
   * is the put event of its size. Shares the bytes through a hard link when both are on one
   * filesystem.
   */
  async replicateFrom(from: LocalObjectStore, source: ObjectRef, target: { bucket: string; key: string }): Promise<PutResult> {
    return this.copyFrom(from, source, target, {}, (size) => putEvent(size, this.threshold));
  }

  /** Copies the pinned source version; `eventFor` names the target's event from the copied size. */
  private async copyFrom(
    from: LocalObjectStore,
    source: ObjectRef,
    target: { bucket: string; key: string },
    opts: CopyOptions,
    eventFor: (size: number) => LocalEventName,
  ): Promise<PutResult> {
    const dataPath = this.layout.dataPath(target.bucket, target.key);
    this.requireBucket(target.bucket);
    const src = await from.open(source.bucket, source.key, { versionId: source.versionId });
    const tmp = this.tmpFile();
    try {
      // Data files are never changed in place (every write is a new file renamed over the key), so
      // a copy can share the source's bytes through a hard link: an archive copied to the backup
      // bucket costs no second write. The link must be the very version opened, else copy bytes.
      if (!this.linkPinned(src, from.layout.dataPath(source.bucket, source.key), tmp)) {
        await pipeline(createReadStream('', { fd: src.fd, start: 0, autoClose: false }), createWriteStream(tmp));
      }
    } catch (err) {
      rmSync(tmp, { force: true });
      this.inFlight.delete(tmp);
      throw new StorageError(`s3://${target.bucket}/${target.key}: copy failed: ${(err as Error).message}`, target.bucket, target.key, false, { cause: err });
    } finally {
      closeSync(src.fd);
    }
    const s = src.side;
    const replace = opts.replaceMetadata === true;
    const side: Omit<Sidecar, 'ino' | 'mtimeMs' | 'size' | 'announced'> = {
      v: 1,
      etag: s.etag,
      sha256: s.sha256,
      versionId: newVersionId(),
      lastModified: new Date().toISOString(),
      contentType: replace ? opts.contentType : s.contentType,
      storageClass: opts.storageClass || s.storageClass,
      metadata: replace ? { ...lowerKeys(opts.metadata), [SHA256_METADATA_KEY]: s.sha256 } : { ...s.metadata, [SHA256_METADATA_KEY]: s.sha256 },
      tags: replace ? { ...(opts.tags ?? {}) } : { ...s.tags },
    };
    return this.commit(target.bucket, target.key, dataPath, tmp, side, eventFor(src.st.size));
  }

  async *list(bucket: string, prefix = ''): AsyncIterable<ObjectSummary> {
    this.requireBucket(bucket);
    for await (const { key } of walkKeys(this.layout.bucketDir(bucket), prefix)) {
      let o: Opened;
      try {
        o = await this.open(bucket, key, {});
      } catch (err) {
        if (err instanceof NoSuchObjectError) continue; // deleted while we walked
        throw err;
      }
      closeSync(o.fd);
      yield { key, size: o.st.size, etag: o.side.etag, lastModified: new Date(o.side.lastModified), storageClass: o.side.storageClass };
    }
  }

  async delete(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<void> {
    const dataPath = this.layout.dataPath(bucket, key);
    const metaPath = this.layout.metaPath(bucket, key);
    this.requireBucket(bucket);
    await this.locks.run(`${bucket}/${key}`, async () => {
      if (opts.versionId !== undefined) {
        let o: Opened;
        try {
          o = await this.open(bucket, key, {});
        } catch (err) {
          if (err instanceof NoSuchObjectError) return;
          throw err;
        }
        closeSync(o.fd);
        if (o.side.versionId !== opts.versionId) return; // only the current version exists here
      }
      rmSync(dataPath, { force: true });
      rmSync(metaPath, { force: true });
      this.folders.prune(path.dirname(dataPath), this.layout.bucketDir(bucket));
      this.folders.prune(path.dirname(metaPath), this.layout.metaBucketDir(bucket));
    });
  }

  /**
   * Emit ObjectCreated:Put for files that appeared in the bucket folder without a put (for
   * `--watch`), and for versions whose event may not have been queued (a crash or a failed send
   * between a commit and its notification): files with no matching sidecar, or one not marked
   * announced, once settled (see SettleTracker: unchanged across scans for `settleMs`, default
   * the store's `settleMs`), so a file still being written is left for a later scan. The event is
   * queued before the version is marked announced, so a crash in between repeats it (at least
   * once) rather than losing it. Returns the keys announced; throws EventNotQueuedError (after
   * the keys before it were announced) when a send fails.
   */
  async scanForNewFiles(bucket: string, opts: { prefix?: string; settleMs?: number } = {}): Promise<string[]> {
    this.requireBucket(bucket);
    const settleMs = opts.settleMs ?? this.settleMs;
    const prefix = opts.prefix ?? '';
    const announced: string[] = [];
    const visited = new Set<string>();
    for await (const { key, file } of walkKeys(this.layout.bucketDir(bucket), prefix)) {
      // No rule wants it (yet): it stays unannounced, so a rule added later still finds it.
      if (!anyRuleMatches(this.rules, bucket, key, 'ObjectCreated:Put')) continue;
      visited.add(key);
      const metaPath = this.layout.metaPath(bucket, key);
      const hit = await this.locks.run(`${bucket}/${key}`, async () => {
        let fd: number;
        try {
          fd = openSync(file, 'r');
        } catch {
          return undefined;
        }
        try {
          const st = fstatSync(fd);
          const side = readSidecar(metaPath);
          if (!st.isFile() || (sidecarMatches(side, st) && (side.announced || this.announcing.has(announceId(bucket, key, side.versionId))))) {
            this.settle.forget(bucket, key);
            return undefined;
          }
          if (!this.settle.settled(bucket, key, st, settleMs)) return undefined;
          if (sidecarMatches(side, st)) {
            // A commit whose event may not have been queued.
            const mark = this.stage({ ...side, announced: true });
            if (this.fsync) await syncFile(mark).catch((err: unknown) => this.discard([mark], bucket, key, 'syncing its sidecar', err));
            return { side, mark };
          }
          const fresh = await deriveSidecar(fd, st, side);
          const after = fstatSync(fd);
          if (after.size !== st.size || after.mtimeMs !== st.mtimeMs) {
            this.settle.observe(bucket, key, after); // written to while we hashed it: not settled after all
            return undefined;
          }
          fresh.metadata = { ...fresh.metadata, [SHA256_METADATA_KEY]: fresh.sha256 };
          // A version recognised by its bytes (a copied folder) was announced before: not new.
          if (fresh.announced) {
            await this.saveDerived(bucket, key, fresh);
            return undefined;
          }
          const mark = this.stage({ ...fresh, announced: true });
          if (!(await this.saveDerived(bucket, key, fresh, mark))) {
            rmSync(mark, { force: true });
            this.inFlight.delete(mark);
            return undefined; // replaced meanwhile: the next scan looks at the new file
          }
          return { side: fresh, mark };
        } finally {
          closeSync(fd);
        }
      });
      if (hit) {
        await this.announce(bucket, key, 'ObjectCreated:Put', hit.side, hit.mark, false);
        announced.push(key);
      }
    }
    this.settle.retainVisited(bucket, prefix, visited);
    return announced;
  }

  /** Files of `bucket` that scans have seen but not announced yet because they have not settled (still changing, or seen too recently). */
  unsettledCount(bucket: string): number {
    return this.settle.count(bucket);
  }

  /**
   * Queue the event of a version already in place with `announced: false`, then move its staged
   * announced sidecar (`mark`) over it. A send that fails leaves the version unannounced, for the
   * next scan. The mark is staged before the send so that marking is one rename.
   */
  private async announce(bucket: string, key: string, event: LocalEventName, side: Sidecar, mark: string, committed: boolean): Promise<void> {
    const id = announceId(bucket, key, side.versionId);
    this.announcing.add(id);
    try {
      await notify(this.rules, this.region, event, { bucket, key, size: side.size, etag: side.etag, versionId: side.versionId });
    } catch (err) {
      rmSync(mark, { force: true });
      this.inFlight.delete(mark);
      throw new EventNotQueuedError(bucket, key, event, committed, { cause: err });
    } finally {
      this.announcing.delete(id);
    }
    // No key lock: placeIfCurrent is synchronous (see there). Left unmarked (the key replaced or
    // gone, or the rename failed), a later scan announces the version once more: at least once.
    this.placeIfCurrent(bucket, key, side, mark);
  }

  /**
   * Renames a staged sidecar over `key`'s only while the data file is still the version it
   * describes (else discards it): a sync or a hash since it was read gave commits a chance to
   * come in between. Synchronous, as every commit's placement is, so none comes in between the
   * check and the rename (and no commit rewrites a sidecar that matches). True when placed.
   */
  private placeIfCurrent(bucket: string, key: string, side: Sidecar, staged: string): boolean {
    this.inFlight.delete(staged); // placed or removed below
    try {
      if (sidecarMatches(side, statSync(this.layout.dataPath(bucket, key)))) {
        placeSidecar(staged, this.layout.metaPath(bucket, key), (d) => this.folders.ensure(d));
        return true;
      }
    } catch {
      // gone, or the rename failed (placeSidecar removed the temp file)
    }
    rmSync(staged, { force: true });
    return false;
  }

  /**
   * Caches facts derived from a data file's bytes as its sidecar (open(), scans). Synced first
   * when fsync is on, with the staged sidecars in `also`: a sidecar torn by a power loss would
   * lose what it carried over (a copied version's metadata and tags). True when placed.
   */
  private async saveDerived(bucket: string, key: string, side: Sidecar, ...also: string[]): Promise<boolean> {
    const staged = this.stage(side);
    if (this.fsync) await Promise.all([staged, ...also].map(syncFile)).catch((err: unknown) => this.discard([staged, ...also], bucket, key, 'syncing its sidecar', err));
    return this.placeIfCurrent(bucket, key, side, staged);
  }

  /** Removes staged temp files and throws a StorageError saying what failed. */
  private discard(files: string[], bucket: string, key: string, what: string, err: unknown): never {
    for (const f of files) {
      rmSync(f, { force: true });
      this.inFlight.delete(f);
    }
    throw new StorageError(`s3://${bucket}/${key}: ${what} failed: ${(err as Error).message}`, bucket, key, false, { cause: err });
  }

  /**
   * Moves a written temp file into place as `key` with its sidecar, then (when a rule wants it)
   * queues its event and marks it announced. Order, for crash and power-loss safety: data and
   * sidecar temp files synced; sidecar renamed, then data (a crash between leaves the old bytes
   * with a sidecar that does not match them, so it is ignored); their folders synced; only then
   * the put returns and the event is sent, so no event names an object a power loss could undo.
   */
  private async commit(
    bucket: string,
    key: string,
    dataPath: string,
    tmp: string,
    partial: Omit<Sidecar, 'ino' | 'mtimeMs' | 'size' | 'announced'>,
    event: LocalEventName,
    condition?: { ifNoneMatch?: '*'; ifMatch?: string },
  ): Promise<PutResult> {
    const metaPath = this.layout.metaPath(bucket, key);
    // Every version goes in unannounced. With a rule to notify it is marked once its event is
    // queued (a crash in between leaves it for scanForNewFiles); without one it stays unmarked, so
    // that a rule added later (or a store opened with its rules) still announces it.
    const notified = anyRuleMatches(this.rules, bucket, key, event);
    const staged: string[] = [];
    try {
      const fail = (err: unknown): never => {
        rmSync(tmp, { force: true });
        for (const f of staged) rmSync(f, { force: true });
        if (err instanceof StorageError) throw err;
        const code = errno(err);
        if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST') {
          throw new InvalidKeyError(bucket, key, 'conflicts with an existing key (a file cannot also be a folder)');
        }
        throw new StorageError(`s3://${bucket}/${key}: commit failed: ${(err as Error).message}`, bucket, key, false, { cause: err });
      };
      const { side, mark } = await this.locks.run(`${bucket}/${key}`, async () => {
        // Checked under the key's lock, so no other commit of this key comes in between; and
        // first, so a refused write costs no sync.
        if (condition) await this.checkCondition(bucket, key, tmp, condition).catch(fail);
        let side: Sidecar;
        let mark: string | undefined;
        try {
          const st = statSync(tmp);
          side = { ...partial, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs, announced: false };
          staged.push(this.stage(side));
          // The announced sidecar is staged (and synced) with the first, so marking is one rename.
          if (notified) staged.push((mark = this.stage({ ...side, announced: true })));
          if (this.fsync) await Promise.all([syncFile(tmp), ...staged.map(syncFile)]);
        } catch (err) {
          return fail(err);
        }
        const ensure = (dir: string): void => {
          const first = this.folders.ensure(dir);
          // Registered at once, so a put of another key into this new folder waits for it too.
          if (first !== undefined && this.fsync) this.dirs.created(first, dir);
        };
        let sidecarPlaced = false;
        const place = (): void => {
          ensure(path.dirname(dataPath));
          ensure(path.dirname(metaPath));
          // Sidecar first: if we crash before the data rename, the old bytes stay visible and the
          // new sidecar does not match them, so it is ignored.
          if (!sidecarPlaced) renameSync(staged[0]!, metaPath);
          sidecarPlaced = true;
          renameSync(tmp, dataPath);
        };
        try {
          try {
            place();
          } catch (err) {
            if (errno(err) !== 'ENOENT') throw err;
            this.folders.forget(); // a folder removed behind our back: create it again, once
            place();
          }
        } catch (err) {
          return fail(err);
        }
        return { side, mark };
      });
      if (this.fsync) {
        try {
          const data = path.dirname(dataPath);
          const meta = path.dirname(metaPath);
          await Promise.all([this.dirs.sync(data), this.dirs.sync(meta), this.dirs.folderDurable(data), this.dirs.folderDurable(meta)]);
        } catch (err) {
          if (mark) rmSync(mark, { force: true });
          // In place but maybe not on disk: the caller retries (a new version), as after any failed put.
          throw new StorageError(`s3://${bucket}/${key}: commit failed: syncing its folders: ${(err as Error).message}`, bucket, key, false, { cause: err });
        }
      }
      if (mark) await this.announce(bucket, key, event, side, mark, true);
      return { etag: side.etag, versionId: side.versionId, sha256: side.sha256, size: side.size };
    } finally {
      // Renamed into place or removed by now.
      this.inFlight.delete(tmp);
      for (const f of staged) this.inFlight.delete(f);
    }
  }

  /** Open the current version, check versionId/ifMatch, and make sure its sidecar matches. */
  private async open(bucket: string, key: string, opts: ReadOptions): Promise<Opened> {
    const dataPath = this.layout.dataPath(bucket, key);
    let fd: number;
    try {
      fd = openSync(dataPath, 'r');
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
        this.requireBucket(bucket);
        throw new NoSuchObjectError(bucket, key, { cause: err });
      }
      throw new StorageError(`s3://${bucket}/${key}: open failed: ${(err as Error).message}`, bucket, key, code === 'EMFILE', { cause: err });
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new NoSuchObjectError(bucket, key);
      const metaPath = this.layout.metaPath(bucket, key);
      let side = readSidecar(metaPath);
      if (!sidecarMatches(side, st)) {
        // A file dropped in by hand (or a crash between renames): derive its facts and cache them.
        side = await deriveSidecar(fd, st, side);
        try {
          await this.saveDerived(bucket, key, side);
        } catch {
          // only a cache: the next read derives it again
        }
      }
      if (opts.versionId !== undefined && opts.versionId !== side.versionId) throw new NoSuchObjectError(bucket, key);
      if (opts.ifMatch !== undefined && opts.ifMatch.replace(/"/g, '') !== side.etag) throw new PreconditionFailedError(bucket, key);
      return { fd, st, side };
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** S3 conditional-write semantics for commit(); removes `tmp` and throws PreconditionFailedError when unmet. */
  private async checkCondition(bucket: string, key: string, tmp: string, condition: { ifNoneMatch?: '*'; ifMatch?: string }): Promise<void> {
    let current: string | undefined;
    try {
      const o = await this.open(bucket, key, {});
      closeSync(o.fd);
      current = o.side.etag;
    } catch (err) {
      if (!(err instanceof NoSuchObjectError)) {
        rmSync(tmp, { force: true });
        throw err;
      }
    }
    const unmet = (condition.ifNoneMatch === '*' && current !== undefined) || (condition.ifMatch !== undefined && current !== condition.ifMatch.replace(/"/g, ''));
    if (unmet) {
      rmSync(tmp, { force: true });
      throw new PreconditionFailedError(bucket, key);
    }
  }

  /** Hard-links the opened version's file to `tmp`; false (and no `tmp`) when that is not possible. */
  private linkPinned(src: Opened, dataPath: string, tmp: string): boolean {
    try {
      linkSync(dataPath, tmp);
    } catch {
      return false; // another filesystem, no link support, or the key is gone: copy the bytes
    }
    if (statSync(tmp).ino === src.st.ino) return true;
    rmSync(tmp, { force: true }); // replaced since it was opened
    return false;
  }

  private toInfo(bucket: string, key: string, o: Opened, withTags: boolean | undefined): ObjectInfo {
    const s = o.side;
    return {
      bucket,
      key,
      size: o.st.size,
      etag: s.etag,
      versionId: s.versionId,
      lastModified: new Date(s.lastModified),
      contentType: s.contentType,
      storageClass: s.storageClass,
      metadata: { ...s.metadata },
      ...(withTags ? { tags: { ...s.tags } } : {}),
      sha256: s.metadata[SHA256_METADATA_KEY] ?? s.sha256,
    };
  }

  /** Fails with NoSuchBucketError unless the bucket's folder exists. */
  private requireBucket(bucket: string): void {
    checkBucket(bucket);
    if (!this.folders.exists(this.layout.bucketDir(bucket))) throw new NoSuchBucketError(bucket);
  }

  /** A new temp file path for object bytes, tracked as in flight until its write is committed or given up. */
  private tmpFile(): string {
    this.folders.ensure(this.layout.tmpDir());
    const file = path.join(this.layout.tmpDir(), tempName('put'));
    this.inFlight.add(file);
    return file;
  }

  /** stageSidecar, tracked as in flight (the caller untracks it once placed or removed). */
  private stage(side: Sidecar): string {
    const file = stageSidecar(side, this.layout.tmpDir());
    this.inFlight.add(file);
    return file;
  }
}
