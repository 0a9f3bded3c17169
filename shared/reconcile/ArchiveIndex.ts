/**
 * What the archives of one rule in one bucket hold, from their manifests alone: each archive's
 * seek table and manifest are read through ranged reads (two small GETs), never its members.
 * Kept per object key: every archived version (sha256, size, source ETag/version, archive) and
 * every `skipped` entry. Memory: one small entry per archived object version (~200 bytes plus
 * the key), the price of checking a listing against archives that are not in key order.
 */
import pLimit from 'p-limit';
import { ArchiveReader, type Manifest } from '../archive';
import type { ReplicationRule } from '../config';
import { NoSuchBucketError, S3RangeReader, type ObjectStore } from '../storage';

/** One object version inside one archive. */
export interface ArchivedVersion {
  /** Index into ArchiveIndex.archives. */
  archive: number;
  sha256: string;
  size: number;
  etag?: string;
  versionId?: string;
  lastModified?: string;
}

export interface IndexedArchive {
  /** Key of the archive in its bucket. */
  key: string;
  /** The manifest's creation time (ms). */
  created: number;
  /** When the store last wrote the archive (ms): its arrival in this bucket. */
  stored: number;
}

export interface SkipEntry {
  reason: string;
  /** Creation time (ms) of the archive that recorded the skip. */
  created: number;
  archive: string;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** True for an archive key directly under `listPrefix` as the compressor names them (`backup_{ms}_{id}.tar.zst`). */
export function isArchiveKey(key: string, listPrefix: string): boolean {
  if (!key.startsWith(listPrefix)) return false;
  const rest = key.slice(listPrefix.length);
  return !rest.includes('/') && rest.startsWith('backup_') && rest.endsWith('.tar.zst');
}

export class ArchiveIndex {
  readonly archives: IndexedArchive[] = [];
  readonly versions = new Map<string, ArchivedVersion[]>();
  readonly skipped = new Map<string, SkipEntry[]>();
  /** Archives whose index could not be read, with the reason. */
  readonly unreadable: { key: string; error: string }[] = [];
  /** False when the bucket does not exist. */
  bucketExists = true;

  constructor(
    readonly bucket: string,
    readonly listPrefix: string,
  ) {}

  /** Adds one archive's manifest. */
  add(key: string, stored: number, manifest: Manifest): void {
    const created = Date.parse(manifest.created);
    const archive = this.archives.push({ key, created: Number.isFinite(created) ? created : stored, stored }) - 1;
    for (const o of manifest.objects) {
      const v: ArchivedVersion = { archive, sha256: o.sha256, size: o.size };
      if (o.etag !== undefined) v.etag = o.etag;
      if (o.version_id !== undefined) v.versionId = o.version_id;
      if (o.last_modified !== undefined) v.lastModified = o.last_modified;
      const list = this.versions.get(o.key);
      if (list) list.push(v);
      else this.versions.set(o.key, [v]);
    }
    for (const s of manifest.skipped) {
      const e: SkipEntry = { reason: s.reason, created: this.archives[archive]!.created, archive: key };
      const list = this.skipped.get(s.key);
      if (list) list.push(e);
      else this.skipped.set(s.key, [e]);
    }
  }

  archiveKey(v: ArchivedVersion): string {
    return this.archives[v.archive]!.key;
  }
}

export interface ReadArchiveIndexOptions {
  store: ObjectStore;
  bucket: string;
  /** Archives directly under this prefix (the backup key prefix, or the staging prefix of the rule). */
  listPrefix: string;
  /** Only manifests of this rule's source count (a bucket can hold several rules' archives under one prefix). */
  rule: ReplicationRule;
  /** Manifests read at once (default 8). */
  concurrency?: number;
  onArchive?: (done: number) => void;
}

/** Reads the index of every archive of the rule under the prefix; a missing bucket gives an empty index with bucketExists false. */
export async function readArchiveIndex(opts: ReadArchiveIndexOptions): Promise<ArchiveIndex> {
  const index = new ArchiveIndex(opts.bucket, opts.listPrefix);
  const limit = pLimit(opts.concurrency ?? 8);
  const reads: Promise<void>[] = [];
  let done = 0;
  try {
    for await (const o of opts.store.list(opts.bucket, opts.listPrefix)) {
      if (!isArchiveKey(o.key, opts.listPrefix)) continue;
      reads.push(
        limit(async () => {
          const name = o.key.slice(o.key.lastIndexOf('/') + 1);
          try {
            const reader = new ArchiveReader(new S3RangeReader(opts.store, opts.bucket, o.key, { size: o.size, etag: o.etag }), name);
            const { manifest } = await reader.readIndex();
            if (manifest.source.bucket === opts.rule.source.bucket && manifest.source.prefix === opts.rule.source.prefix_filter) index.add(o.key, o.lastModified.getTime(), manifest);
          } catch (err) {
            index.unreadable.push({ key: o.key, error: message(err) });
          }
          opts.onArchive?.(++done);
        }),
      );
    }
  } catch (err) {
    if (!(err instanceof NoSuchBucketError)) throw err;
    index.bucketExists = false;
  }
  await Promise.all(reads);
  // Manifests complete in any order; reports name archives sorted, so only this list needs sorting.
  index.unreadable.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return index;
}
