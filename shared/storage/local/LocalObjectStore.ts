/**
 * ObjectStore on the local filesystem (the embedded default). A bucket is a folder; see
 * layout.ts for where bytes, sidecars and temp files live. A put streams into a temp file on the
 * same filesystem, verifies size and sha256, and only then renames into place, so a crash never
 * leaves a half object visible (commitVersion.ts). After each committed put/copy the store sends
 * the S3 event JSON to the queue of every matching notification rule (announce.ts); versions whose
 * event may not have gone out are found by scanForNewFiles (scanBucket.ts).
 *
 * Metadata-sized calls (open, stat, sidecars, renames, small bodies) are synchronous: on the
 * 2-vCPU bench machine each threadpool round trip cost several times the syscall itself, and the
 * pipeline makes a dozen such calls per object (SidecarFiles.ts has the measurement). Bodies above
 * SYNC_BODY_BYTES still stream asynchronously, so a large object never blocks the event loop.
 * The fsyncs that make commits survive a power loss (on by default) are the exception: each
 * costs milliseconds, so they run on the thread pool, where concurrent puts overlap them
 * (durable.ts).
 */
import { closeSync, createReadStream, createWriteStream, linkSync, openSync, promises as fs, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { DigestStream } from '../DigestStream';
import { normalizePutOptions } from '../putOptions';
import { ChecksumMismatchError, NoSuchObjectError, SizeMismatchError, StorageError } from '../errors';
import { SHA256_METADATA_KEY, type CopyOptions, type HeadOptions, type ObjectInfo, type ObjectRef, type ObjectStore, type ObjectSummary, type PutOptions, type PutResult, type ReadOptions } from '../port';
import { buildS3TestEvent } from '../s3Event';
import { commitVersion, type NewVersion, type WrittenTemp } from './commitVersion';
import { DirSync } from './durable';
import { FolderCache } from './FolderCache';
import { KeyLock } from './KeyLock';
import { checkBucket, isTempName, LocalLayout, tempName } from './layout';
import type { LocalEventName, LocalNotificationRule } from './notifications';
import { openVersion, requireBucket, statVersion } from './openVersion';
import { readFully, SYNC_BODY_BYTES } from './readFully';
import { scanBucket } from './scanBucket';
import { SettleTracker } from './SettleTracker';
import { newVersionId, type Sidecar } from './sidecar';
import { SidecarFiles } from './SidecarFiles';
import { errno, lowerKeys, type Opened, type StoreParts } from './storeParts';
import { sweepTemp, type SweepResult } from './tempFiles';
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

/** The event S3 sends for a put of `size` bytes: above the multipart threshold, CompleteMultipartUpload. */
function putEvent(size: number, multipartThreshold: number): LocalEventName {
  return size > multipartThreshold ? 'ObjectCreated:CompleteMultipartUpload' : 'ObjectCreated:Put';
}

export class LocalObjectStore implements ObjectStore {
  readonly layout: LocalLayout;
  private readonly threshold: number;
  private readonly settleMs: number;
  private readonly p: StoreParts;

  constructor(cfg: LocalObjectStoreConfig) {
    this.layout = new LocalLayout(path.resolve(cfg.root));
    this.threshold = cfg.multipartThreshold ?? DEFAULT_THRESHOLD;
    this.settleMs = cfg.settleMs ?? DEFAULT_SETTLE_MS;
    const fsync = cfg.fsync ?? true;
    const inFlight = new Set<string>();
    this.p = {
      layout: this.layout,
      region: cfg.region ?? 'us-east-1',
      rules: [...(cfg.notifications ?? [])],
      fsync,
      settle: new SettleTracker(),
      locks: new KeyLock(),
      folders: new FolderCache(),
      dirs: new DirSync(),
      sidecars: new SidecarFiles(this.layout, fsync, inFlight),
      inFlight,
      announcing: new Set(),
    };
  }

  /** Create the bucket folder if missing (S3 CreateBucket; idempotent). */
  async ensureBucket(bucket: string): Promise<void> {
    checkBucket(bucket);
    const dir = this.layout.bucketDir(bucket);
    const first = await fs.mkdir(dir, { recursive: true });
    await fs.mkdir(this.layout.tmpDir(), { recursive: true });
    if (this.p.fsync && first !== undefined) {
      this.p.dirs.created(first, dir);
      await this.p.dirs.folderDurable(dir);
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
      return sweepTemp(this.layout.tmpDir(), isTempName, this.p.inFlight, opts.olderThanMs ?? 0);
    } catch (err) {
      throw new StorageError(`${this.layout.tmpDir()}: sweeping temp files failed: ${(err as Error).message}`, '', undefined, false, { cause: err });
    }
  }

  /** Add a notification rule; like S3, sends an `s3:TestEvent` to its queue first. */
  async addNotificationRule(rule: LocalNotificationRule): Promise<void> {
    this.p.rules.push(rule);
    await rule.queue.send(buildS3TestEvent(rule.bucket));
  }

  async head(bucket: string, key: string, opts: HeadOptions = {}): Promise<ObjectInfo> {
    const o = await statVersion(this.p, bucket, key, opts);
    return toInfo(bucket, key, o.st.size, o.side, opts.withTags);
  }

  async get(bucket: string, key: string, opts: ReadOptions = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    const o = await openVersion(this.p, bucket, key, opts);
    const info = toInfo(bucket, key, o.st.size, o.side, false);
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
    const o = await openVersion(this.p, bucket, key, opts);
    try {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, o.st.size - offset)));
      return buf.subarray(0, await readFully(o.fd, buf, offset));
    } finally {
      closeSync(o.fd);
    }
  }

  async put(bucket: string, key: string, body: Readable | Buffer, options: PutOptions = {}): Promise<PutResult> {
    const opts = normalizePutOptions(options);
    this.layout.dataPath(bucket, key); // InvalidKeyError before any write
    requireBucket(this.p, bucket);
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
    let fd: number | undefined;
    try {
      if (Buffer.isBuffer(body)) {
        // A Buffer needs no stream plumbing: hash it, check it, write it in one call, and keep the
        // descriptor for the commit's fstat and sync (no second open).
        digest.end(body);
        digest.resume();
        await finished(digest);
        if (body.length <= SYNC_BODY_BYTES) {
          fd = openSync(tmp, 'w');
          writeFileSync(fd, body);
        } else await fs.writeFile(tmp, body);
      } else await pipeline(body, digest, createWriteStream(tmp));
      fd ??= openSync(tmp, 'r');
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      rmSync(tmp, { force: true });
      this.p.inFlight.delete(tmp);
      if (err instanceof StorageError) throw err;
      throw new StorageError(`s3://${bucket}/${key}: writing failed: ${(err as Error).message}`, bucket, key, errno(err) === 'EMFILE', { cause: err });
    }
    const side: NewVersion = {
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
    return commitVersion(this.p, bucket, key, { path: tmp, fd }, side, event, condition);
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
  private async copyFrom(from: LocalObjectStore, source: ObjectRef, target: { bucket: string; key: string }, opts: CopyOptions, eventFor: (size: number) => LocalEventName): Promise<PutResult> {
    this.layout.dataPath(target.bucket, target.key);
    requireBucket(this.p, target.bucket);
    const src = await openVersion(from.p, source.bucket, source.key, { versionId: source.versionId });
    const tmp = this.tmpFile();
    let written: WrittenTemp;
    try {
      // Data files are never changed in place (every write is a new file renamed over the key), so
      // a copy can share the source's bytes through a hard link: an archive copied to the backup
      // bucket costs no second write. The link must be the very version opened, else copy bytes.
      if (!linkPinned(src, from.layout.dataPath(source.bucket, source.key), tmp)) {
        await pipeline(createReadStream('', { fd: src.fd, start: 0, autoClose: false }), createWriteStream(tmp));
      }
      written = { path: tmp, fd: openSync(tmp, 'r') };
    } catch (err) {
      rmSync(tmp, { force: true });
      this.p.inFlight.delete(tmp);
      throw new StorageError(`s3://${target.bucket}/${target.key}: copy failed: ${(err as Error).message}`, target.bucket, target.key, false, { cause: err });
    } finally {
      closeSync(src.fd);
    }
    const s = src.side;
    const replace = opts.replaceMetadata === true;
    const side: NewVersion = {
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
    return commitVersion(this.p, target.bucket, target.key, written, side, eventFor(src.st.size));
  }

  async *list(bucket: string, prefix = ''): AsyncIterable<ObjectSummary> {
    requireBucket(this.p, bucket);
    for await (const { key } of walkKeys(this.layout.bucketDir(bucket), prefix)) {
      let o: Omit<Opened, 'fd'>;
      try {
        o = await statVersion(this.p, bucket, key, {});
      } catch (err) {
        if (err instanceof NoSuchObjectError) continue; // deleted while we walked
        throw err;
      }
      yield { key, size: o.st.size, etag: o.side.etag, lastModified: new Date(o.side.lastModified), storageClass: o.side.storageClass };
    }
  }

  async delete(bucket: string, key: string, opts: { versionId?: string } = {}): Promise<void> {
    const dataPath = this.layout.dataPath(bucket, key);
    requireBucket(this.p, bucket);
    await this.p.locks.run(`${bucket}/${key}`, async () => {
      if (opts.versionId !== undefined) {
        let o: Omit<Opened, 'fd'>;
        try {
          o = await statVersion(this.p, bucket, key, {});
        } catch (err) {
          if (err instanceof NoSuchObjectError) return;
          throw err;
        }
        if (o.side.versionId !== opts.versionId) return; // only the current version exists here
      }
      rmSync(dataPath, { force: true });
      this.p.sidecars.remove(bucket, key);
      this.p.folders.prune(path.dirname(dataPath), this.layout.bucketDir(bucket));
      if (this.p.sidecars.hasLegacy(bucket)) this.p.folders.prune(path.dirname(this.layout.legacyMetaPath(bucket, key)), this.layout.legacyMetaBucketDir(bucket));
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
    return scanBucket(this.p, bucket, opts.prefix ?? '', opts.settleMs ?? this.settleMs);
  }

  /** Files of `bucket` that scans have seen but not announced yet because they have not settled (still changing, or seen too recently). */
  unsettledCount(bucket: string): number {
    return this.p.settle.count(bucket);
  }

  /** A new temp file path for object bytes, tracked as in flight until its write is committed or given up. */
  private tmpFile(): string {
    this.p.folders.ensure(this.layout.tmpDir());
    const file = path.join(this.layout.tmpDir(), tempName('put'));
    this.p.inFlight.add(file);
    return file;
  }
}

/** Hard-links the opened version's file to `tmp`; false (and no `tmp`) when that is not possible. */
function linkPinned(src: Opened, dataPath: string, tmp: string): boolean {
  try {
    linkSync(dataPath, tmp);
  } catch {
    return false; // another filesystem, no link support, or the key is gone: copy the bytes
  }
  if (statSync(tmp).ino === src.st.ino) return true;
  rmSync(tmp, { force: true }); // replaced since it was opened
  return false;
}

function toInfo(bucket: string, key: string, size: number, s: Sidecar, withTags: boolean | undefined): ObjectInfo {
  return {
    bucket,
    key,
    size,
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
