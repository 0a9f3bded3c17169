/**
 * Streams one batch of source objects into a seekable .tar.zst archive that is itself streamed
 * into a (multipart) upload to the staging bucket. Objects are opened up to 32 ahead so per-object
 * latency overlaps; memory stays bounded by that window (each open stream buffers at most 64 KiB).
 */
import { PassThrough, type Readable } from 'node:stream';
import pLimit from 'p-limit';
import { ArchiveReader, ArchiveWriter, ARCHIVE_FORMAT, OBJECTS_PREFIX, validateMemberName, type Manifest } from '../../shared/archive';
import { archiveStagingKey, ruleId } from '../../shared/config';
import { NoSuchObjectError, PreconditionFailedError } from '../../shared/storage/errors';
import { headIfExists } from '../../shared/storage/jsonObject';
import type { ObjectInfo, ObjectStore } from '../../shared/storage/port';
import { S3RangeReader } from '../../shared/storage/s3/S3RangeReader';
import { compareSequencers } from '../../shared/storage/s3Event';
import { itemIdentity, type Batch, type BatchItem } from './BatchAccumulator';
import { batchArchiveName, BatchRecords } from './BatchRecords';

export interface WriteBatchDeps {
  source: ObjectStore;
  staging: ObjectStore;
  stagingBucket: string;
  /** Region the archive's objects were read in (recorded in the manifest). */
  region: string;
  now?: () => Date;
  /** Objects opened ahead of the one being archived (default 32: per-object latency, not bandwidth, bounds small objects). */
  readAhead?: number;
  /** Aborts the archive (and its upload) when the batch's messages were lost to another worker. */
  signal?: AbortSignal;
}

export interface BatchArchiveResult {
  /** Undefined when every object was skipped (no archive written). */
  stagingKey?: string;
  manifest?: Manifest;
  skipped: { key: string; reason: string }[];
  bytesIn: number;
  bytesOut: number;
  /** True when a batch record showed this batch's archive was already uploaded (nothing written). */
  alreadyUploaded?: boolean;
}

type Resolved = { item: BatchItem; info: ObjectInfo; relativeKey: string } | { item: BatchItem; skip: string };

/** Why an object cannot be archived, when a failure means "skip it" rather than "retry later". */
function skipReason(err: unknown): string | undefined {
  if (err instanceof NoSuchObjectError) return 'NoSuchKey';
  if (err instanceof PreconditionFailedError) return 'Superseded: the object changed after its event (a newer event covers it)';
  return undefined;
}

/**
 * skipReason, told apart for a pinned version that is gone while the key still exists: that is a
 * newer version (a store that keeps only the current one, or a version deleted), not a deletion,
 * and is reported as Superseded so that nobody — reconcile included — takes it for a deliberate skip.
 */
async function skipReasonFor(source: ObjectStore, item: BatchItem, err: unknown): Promise<string | undefined> {
  const reason = skipReason(err);
  if (reason !== 'NoSuchKey' || !item.versionId) return reason;
  return (await headIfExists(source, item.bucket, item.key)) ? skipReason(new PreconditionFailedError(item.bucket, item.key)) : reason;
}

/** Checks each object still exists as its event described and gathers its metadata and tags. */
async function resolveItems(batch: Batch, source: ObjectStore): Promise<Resolved[]> {
  const prefix = batch.rule.source.prefix_filter;
  const limit = pLimit(32);
  return Promise.all(
    batch.items.map((item) =>
      limit(async (): Promise<Resolved> => {
        const relativeKey = item.key.slice(prefix.length);
        if (relativeKey === '' || item.key.endsWith('/')) return { item, skip: 'DirectoryMarker: a key ending in "/" is a folder placeholder' };
        try {
          validateMemberName(OBJECTS_PREFIX + relativeKey);
        } catch (err) {
          return { item, skip: `UnsafeKey: ${(err as Error).message}` };
        }
        try {
          const pin = item.versionId ? { versionId: item.versionId } : { ifMatch: item.etag };
          const info = await source.head(item.bucket, item.key, { ...pin, withTags: true });
          return { item, info, relativeKey };
        } catch (err) {
          const reason = await skipReasonFor(source, item, err);
          if (reason) return { item, skip: reason };
          throw err;
        }
      }),
    ),
  );
}

/**
 * One member per key: a versioned source can put two versions of one key into one batch, and an
 * archive cannot hold one name twice (readers refuse it). The newest is kept — by the events'
 * sequencers (S3's per-key order), else by modification time, else the later in the batch — and
 * the others are recorded as superseded.
 */
function newestPerKey<T extends { item: BatchItem; info: ObjectInfo }>(items: T[]): { present: T[]; superseded: T[] } {
  const newer = (a: T, b: T): boolean => {
    if (a.item.sequencer && b.item.sequencer) return compareSequencers(a.item.sequencer, b.item.sequencer) >= 0;
    return a.info.lastModified.getTime() >= b.info.lastModified.getTime();
  };
  const newest = new Map<string, T>();
  for (const r of items) {
    const prior = newest.get(r.item.key);
    if (!prior || newer(r, prior)) newest.set(r.item.key, r);
  }
  const keep = new Set(newest.values());
  return { present: items.filter((r) => keep.has(r)), superseded: items.filter((r) => !keep.has(r)) };
}

/**
 * Reads back what every reader needs first (seek table and manifest: two ranged GETs) before the
 * batch counts as uploaded, so an archive no reader could open is never acknowledged: it is
 * removed and the batch fails (retried, then dead-lettered, where the alarm fires).
 */
async function readBack(deps: WriteBatchDeps, stagingKey: string, versionId: string | undefined): Promise<void> {
  try {
    await new ArchiveReader(new S3RangeReader(deps.staging, deps.stagingBucket, stagingKey, { versionId })).readIndex();
  } catch (err) {
    await deps.staging.delete(deps.stagingBucket, stagingKey, { versionId }).catch(() => undefined);
    throw err;
  }
}

/** Writes the batch's archive to staging; resolves only after the upload completed. */
export async function writeBatchArchive(batch: Batch, deps: WriteBatchDeps): Promise<BatchArchiveResult> {
  const { rule } = batch;
  const resolved = await resolveItems(batch, deps.source);
  const { present, superseded } = newestPerKey(resolved.filter((r): r is Extract<Resolved, { info: ObjectInfo }> => 'info' in r));
  const skipped = [
    ...resolved.filter((r): r is Extract<Resolved, { skip: string }> => 'skip' in r).map((r) => ({ key: r.item.key, reason: r.skip })),
    ...superseded.map((r) => ({ key: r.item.key, reason: 'Superseded: a newer version of this key is in the same batch' })),
  ];
  if (present.length === 0) return { skipped, bytesIn: 0, bytesOut: 0 };

  const created = (deps.now ?? (() => new Date()))();
  const name = batchArchiveName(batch, created.getTime());
  const stagingKey = archiveStagingKey(rule, name);
  const records = new BatchRecords(deps.staging, deps.stagingBucket);
  const items = batch.items.map(itemIdentity);
  // The same events came back after an upload that was never acknowledged: nothing to write again.
  if (await records.committed(stagingKey, items)) return { stagingKey, skipped, bytesIn: 0, bytesOut: 0, alreadyUploaded: true };
  deps.signal?.throwIfAborted();
  // Before the archive can appear: a crash after the upload leaves this for a redelivery to find.
  await records.writeIntent(stagingKey, items);
  const uncompressed = present.reduce((sum, r) => sum + r.info.size, 0);

  const body = new PassThrough({ highWaterMark: 8 * 1024 * 1024 });
  const upload = deps.staging.put(deps.stagingBucket, stagingKey, body, {
    contentType: 'application/zstd',
    metadata: {
      'xregion-format': ARCHIVE_FORMAT,
      'xregion-rule': encodeURIComponent(ruleId(rule)),
      'xregion-object-count': String(present.length),
      'xregion-uncompressed-bytes': String(uncompressed),
    },
  });
  // If the upload dies, stop the writer instead of letting it wait on back-pressure forever.
  upload.catch((err: unknown) => body.destroy(err instanceof Error ? err : new Error(String(err))));

  const writer = new ArchiveWriter(body, {
    archiveName: name,
    source: { region: deps.region, bucket: rule.source.bucket, prefix: rule.source.prefix_filter },
    level: rule.source.compression.level,
    threads: rule.source.compression.threads,
    frameTargetBytes: rule.source.compression.frame_target_bytes,
    created,
  });

  for (const s of skipped) writer.addSkipped(s.key, s.reason);
  const readAhead = deps.readAhead ?? 32;
  const open = (r: (typeof present)[number]): Promise<Readable | { skip: string }> =>
    deps.source
      .get(r.item.bucket, r.item.key, { versionId: r.info.versionId ?? r.item.versionId, ifMatch: r.info.versionId ? undefined : r.info.etag })
      .then((got) => got.body)
      .catch(async (err: unknown) => {
        const reason = await skipReasonFor(deps.source, { ...r.item, versionId: r.info.versionId ?? r.item.versionId }, err);
        if (reason) return { skip: reason };
        throw err;
      });
  const inflight: Promise<Readable | { skip: string }>[] = [];
  try {
    for (let i = 0; i < present.length; i++) {
      deps.signal?.throwIfAborted();
      while (inflight.length < readAhead && i + inflight.length < present.length) inflight.push(open(present[i + inflight.length]));
      const r = present[i];
      const got = await inflight.shift()!;
      if ('skip' in got) {
        writer.addSkipped(r.item.key, got.skip);
        skipped.push({ key: r.item.key, reason: got.skip });
        continue;
      }
      await writer.addMember(
        {
          key: r.item.key,
          relativeKey: r.relativeKey,
          size: r.info.size,
          etag: r.info.etag,
          versionId: r.info.versionId,
          lastModified: r.info.lastModified,
          contentType: r.info.contentType,
          storageClass: r.info.storageClass ?? 'STANDARD',
          metadata: r.info.metadata,
          tags: r.info.tags ?? {},
        },
        got,
      );
    }
    const manifest = await writer.finish();
    const uploaded = await upload;
    await readBack(deps, stagingKey, uploaded.versionId);
    await records.write(stagingKey, manifest.objects.length, uploaded.etag, items);
    return { stagingKey, manifest, skipped, bytesIn: writer.stats.bytesIn, bytesOut: writer.stats.bytesOut };
  } catch (err) {
    // Release read-ahead streams and abort the upload so no partial archive becomes visible.
    for (const p of inflight) p.then((b) => 'destroy' in b && b.destroy(), () => undefined);
    await writer.abort(err).catch(() => undefined);
    body.destroy(err instanceof Error ? err : new Error(String(err)));
    await upload.catch(() => undefined);
    throw err;
  }
}
