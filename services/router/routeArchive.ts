/**
 * Routes one staging archive to every destination of its rule in this region:
 * 1. read the seek table and manifest with ranged GETs; refuse unsafe names;
 * 2. one verifying pass over the whole archive (every member against the manifest), so a
 *    corrupt archive is quarantined before anything is written anywhere;
 * 3. normal destinations: one streaming pass writing each object to its original key, each
 *    put committing only if its sha256 matches; objects already there with the same sha256 are
 *    skipped (a redelivered archive adds no versions);
 * 4. backup destinations: server-side copy of the archive, then the catalog JSONL. The copy
 *    carries the staged archive's ETag in `xregion-archive-etag`, so a redelivery finds it and
 *    adds no version whatever the archive's size (a multipart upload records no sha256);
 * 5. after each destination commits, `onDelivered` (the router writes its delivery record).
 */
import { createHash } from 'node:crypto';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { ArchiveCorruptError, ArchiveReader, OBJECTS_PREFIX, readArchiveStream, validateMemberName, type Manifest, type ManifestObject } from '../../shared/archive';
import { catalogKey, catalogRows, toJsonl } from '../../shared/catalog';
import type { Destination, ReplicationRule } from '../../shared/config';
import { headIfExists } from '../../shared/storage/jsonObject';
import type { ObjectInfo, ObjectStore } from '../../shared/storage/port';
import { S3RangeReader } from '../../shared/storage/s3/S3RangeReader';

export interface RouteDeps {
  staging: ObjectStore;
  stagingBucket: string;
  /** Store holding this region's destination buckets. */
  destinations: ObjectStore;
  /** Catalog bucket of this region (required when a backup destination is here). */
  catalog?: { store: ObjectStore; bucket: string };
  region: string;
  /** Every destination bucket of the rule, for the catalog's target_buckets column. */
  allTargetBuckets: readonly string[];
  /** Called once a destination holds the archive (normal: every object; backup: archive and catalog rows). */
  onDelivered?: (result: DestinationResult) => Promise<void>;
}

/** User metadata on a backup copy: the ETag of the staged archive it was copied from. */
export const ARCHIVE_ETAG_METADATA_KEY = 'xregion-archive-etag';

export interface DestinationResult {
  bucket: string;
  mode: 'backup' | 'normal';
  /** Backup destinations: the archive's key there and its catalog file. */
  backupKey?: string;
  catalogKey?: string;
  objectsWritten: number;
  objectsUnchanged: number;
  bytesWritten: number;
}

export interface RouteResult {
  archiveKey: string;
  manifest: Manifest;
  destinations: DestinationResult[];
  catalogRows: number;
  catalogKey?: string;
}

/** The sha256 a store recorded for an object, or undefined when absent. */
async function storedSha256(store: ObjectStore, bucket: string, key: string): Promise<string | undefined> {
  return (await headIfExists(store, bucket, key))?.sha256;
}

/** True when a backup destination already holds a copy of exactly this staged archive. */
function isCopyOf(copy: ObjectInfo | undefined, staged: ObjectInfo): boolean {
  if (!copy || copy.size !== staged.size) return false;
  if (copy.metadata[ARCHIVE_ETAG_METADATA_KEY] === staged.etag) return true;
  return staged.sha256 !== undefined && copy.sha256 === staged.sha256;
}

/** Throws ArchiveCorruptError/UnsafeMemberNameError if the manifest names anything unsafe or inconsistent. */
function checkManifest(manifest: Manifest, rule: ReplicationRule, archiveKey: string): void {
  for (const o of manifest.objects) {
    validateMemberName(OBJECTS_PREFIX + o.relative_key);
    if (o.key !== manifest.source.prefix + o.relative_key || manifest.source.prefix !== rule.source.prefix_filter) {
      throw new ArchiveCorruptError({ archive: archiveKey, member: OBJECTS_PREFIX + o.relative_key, check: 'manifest' }, `key ${JSON.stringify(o.key)} does not match the rule prefix and relative key`);
    }
  }
}

const devNull = () => new Writable({ write: (_chunk, _enc, done) => done() });

/** Reads every member once, verifying it against the manifest; writes nothing. */
async function verifyArchive(deps: RouteDeps, archiveKey: string, versionId: string | undefined, manifest: Manifest): Promise<void> {
  const { body } = await deps.staging.get(deps.stagingBucket, archiveKey, { versionId });
  for await (const entry of readArchiveStream(body, { manifest, archiveName: manifest.archive })) {
    await pipeline(entry.body, devNull());
  }
}

/** Members up to this size are buffered and written concurrently; larger ones stream. */
const SMALL_MEMBER_BYTES = 1024 * 1024;
/** Concurrent small-member puts (bounds memory at SMALL_MEMBER_BYTES × this). */
const PUT_CONCURRENCY = 16;

/**
 * User metadata on a normal-destination object: the source version's modification time, so that
 * an older archive delivered after a newer one (SQS keeps no order, and a failed try is retried
 * later) never overwrites the newer object.
 */
export const SOURCE_MODIFIED_METADATA_KEY = 'xregion-source-modified';

/** True when the destination already holds a version at least as new as `o` from its source (and not the same content). */
function holdsNewer(info: ObjectInfo | undefined, o: ManifestObject): boolean {
  const theirs = info?.metadata[SOURCE_MODIFIED_METADATA_KEY];
  if (!theirs || !o.last_modified) return false;
  return Date.parse(theirs) > Date.parse(o.last_modified);
}

function putOptions(o: ManifestObject, d: Destination) {
  return {
    contentType: o.content_type,
    metadata: o.last_modified ? { ...o.metadata, [SOURCE_MODIFIED_METADATA_KEY]: o.last_modified } : o.metadata,
    tags: o.tags,
    storageClass: d.storage_class,
    kmsKeyId: d.kms_key_arn || undefined,
    sha256: o.sha256,
    size: o.size,
  };
}

/** Streams one member to every target; with several targets the stream is teed (pipe() applies the slowest's back-pressure). */
async function streamMember(store: ObjectStore, targets: readonly Destination[], o: ManifestObject, body: Readable): Promise<void> {
  if (targets.length === 1) {
    await store.put(targets[0].bucket, o.key, body, putOptions(o, targets[0]));
    return;
  }
  const branches = targets.map(() => new PassThrough({ highWaterMark: 1024 * 1024 }));
  body.on('error', (err) => branches.forEach((b) => b.destroy(err)));
  branches.forEach((b) => body.pipe(b));
  try {
    await Promise.all(targets.map((d, i) => store.put(d.bucket, o.key, branches[i], putOptions(o, d))));
  } catch (err) {
    body.destroy(err as Error);
    throw err;
  }
}

/** Streams the archive once, writing each object to every normal destination that lacks it. */
async function unpackToNormal(deps: RouteDeps, archiveKey: string, versionId: string | undefined, manifest: Manifest, normal: readonly Destination[]): Promise<DestinationResult[]> {
  const store = deps.destinations;
  const results = new Map(normal.map((d) => [d.bucket, { bucket: d.bucket, mode: 'normal' as const, objectsWritten: 0, objectsUnchanged: 0, bytesWritten: 0 }]));
  // Which destinations already hold each object (same sha256): looked up concurrently up front.
  const lookups = pLimit(2 * PUT_CONCURRENCY);
  const present = new Set<string>();
  await Promise.all(
    normal.flatMap((d) =>
      manifest.objects.map((o) =>
        lookups(async () => {
          const info = await headIfExists(store, d.bucket, o.key);
          // Same content, or a newer version than this archive's: nothing to write.
          if (info?.sha256 === o.sha256 || holdsNewer(info, o)) present.add(`${d.bucket}\u0000${o.key}`);
        }),
      ),
    ),
  );
  const count = (targets: readonly Destination[], o: ManifestObject) => {
    for (const d of normal) {
      const r = results.get(d.bucket)!;
      if (targets.includes(d)) {
        r.objectsWritten++;
        r.bytesWritten += o.size;
      } else r.objectsUnchanged++;
    }
  };

  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const { body } = await deps.staging.get(deps.stagingBucket, archiveKey, { versionId });
  try {
    await writeMembers();
  } finally {
    // Whatever happened, no put of this delivery runs on after it returns or throws.
    await Promise.allSettled(pending);
  }
  if (failure) throw failure;
  return [...results.values()];

  async function writeMembers(): Promise<void> {
  for await (const entry of readArchiveStream(body, { manifest, archiveName: manifest.archive })) {
    if (failure) throw failure;
    const o = entry.expected;
    if (!o) throw new ArchiveCorruptError({ archive: archiveKey, member: entry.name, check: 'manifest' }, 'member is not in the manifest');
    const targets = normal.filter((d) => !present.has(`${d.bucket}\u0000${o.key}`));
    count(targets, o);
    if (targets.length === 0) continue; // the iterator drains (and still verifies) the unread body
    if (o.size > SMALL_MEMBER_BYTES) {
      await streamMember(store, targets, o, entry.body);
      continue;
    }
    // Small member: read it whole (the body errors here if its sha256 disagrees), then write it
    // in the background so the archive stream moves on; at most PUT_CONCURRENCY in flight.
    const bytes = Buffer.concat(await entry.body.toArray());
    while (pending.size >= PUT_CONCURRENCY) await Promise.race(pending);
    const write = Promise.all(targets.map((d) => store.put(d.bucket, o.key, bytes, putOptions(o, d)))).then(
      () => undefined,
      (err: unknown) => {
        failure ??= err;
      },
    );
    const tracked = write.finally(() => pending.delete(tracked));
    pending.add(tracked);
  }
  }
}

/** Copies the archive to each backup destination that lacks it, then writes its catalog rows; one result per destination. */
async function deliverBackups(rule: ReplicationRule, archiveKey: string, versionId: string | undefined, manifest: Manifest, backups: readonly Destination[], deps: RouteDeps): Promise<DestinationResult[]> {
  if (!deps.catalog) throw new Error(`rule ${rule.source.bucket}/${rule.source.prefix_filter} has a backup destination in ${deps.region} but no catalog bucket is configured`);
  const catalogStore = deps.catalog;
  const staged = await deps.staging.head(deps.stagingBucket, archiveKey, { versionId });
  const backupKey = `${rule.source.prefix_filter}${manifest.archive}`;
  // One catalog file per archive per region, at a deterministic key: a redelivery finds identical rows and writes nothing.
  const key = catalogKey(manifest.source.bucket, manifest.source.prefix, new Date(manifest.created), manifest.archive);
  const text = Buffer.from(toJsonl(catalogRows(manifest, { backupRegion: deps.region, archiveKey: backupKey, targetBuckets: deps.allTargetBuckets })));
  const sha = createHash('sha256').update(text).digest('hex');
  const out: DestinationResult[] = [];
  for (const d of backups) {
    const already = isCopyOf(await headIfExists(deps.destinations, d.bucket, backupKey), staged);
    // copy() reports the size it wrote: no HEAD of the new copy is needed.
    const bytes = already
      ? 0
      : (
          await deps.destinations.copy(
            { bucket: deps.stagingBucket, key: archiveKey, versionId },
            { bucket: d.bucket, key: backupKey },
            {
              storageClass: d.storage_class,
              kmsKeyId: d.kms_key_arn || undefined,
              replaceMetadata: true,
              contentType: staged.contentType,
              metadata: { ...staged.metadata, [ARCHIVE_ETAG_METADATA_KEY]: staged.etag },
            },
          )
        ).size;
    if ((await storedSha256(catalogStore.store, catalogStore.bucket, key)) !== sha) {
      await catalogStore.store.put(catalogStore.bucket, key, text, { contentType: 'application/x-ndjson', sha256: sha, size: text.length });
    }
    const n = manifest.objects.length;
    const result: DestinationResult = { bucket: d.bucket, mode: 'backup', backupKey, catalogKey: key, objectsWritten: already ? 0 : n, objectsUnchanged: already ? n : 0, bytesWritten: bytes };
    await deps.onDelivered?.(result);
    out.push(result);
  }
  return out;
}

/** Routes one archive to the rule's destinations given; throws ArchiveCorruptError/UnsafeMemberNameError for quarantine, anything else for retry. */
export async function routeArchive(rule: ReplicationRule, archiveKey: string, versionId: string | undefined, deps: RouteDeps): Promise<RouteResult> {
  const reader = new ArchiveReader(new S3RangeReader(deps.staging, deps.stagingBucket, archiveKey, { versionId }));
  const { manifest } = await reader.readIndex();
  checkManifest(manifest, rule, archiveKey);
  await verifyArchive(deps, archiveKey, versionId, manifest);

  const normal = rule.destinations.filter((d) => !d.backup);
  const backups = rule.destinations.filter((d) => d.backup);
  const destinations: DestinationResult[] = [];
  if (normal.length) {
    for (const r of await unpackToNormal(deps, archiveKey, versionId, manifest, normal)) {
      await deps.onDelivered?.(r);
      destinations.push(r);
    }
  }
  if (backups.length) destinations.push(...(await deliverBackups(rule, archiveKey, versionId, manifest, backups, deps)));
  const catalog = destinations.find((d) => d.catalogKey);
  return { archiveKey, manifest, destinations, catalogRows: catalog ? manifest.objects.length : 0, catalogKey: catalog?.catalogKey };
}
