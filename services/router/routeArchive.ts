/**
 * Routes one staging archive to every destination of its rule in this region:
 * 1. read the seek table and manifest with ranged GETs; refuse unsafe names;
 * 2. one pass over the whole archive (one download, one decompression) verifying every member
 *    against the manifest; the members a normal destination lacks (objects already there with
 *    the same sha256, or a newer version, are skipped: a redelivered archive adds no versions)
 *    wait in a MemberSpool, so a corrupt archive is quarantined before anything is written;
 * 3. normal destinations: once the pass verified the archive, each waiting object is written to
 *    its original key, each put committing only if its sha256 matches;
 * 4. backup destinations: server-side copy of the archive, then the catalog JSONL. The copy
 *    carries the staged archive's ETag in `xregion-archive-etag`, so a redelivery finds it and
 *    adds no version whatever the archive's size (a multipart upload records no sha256);
 * 5. after each destination commits, `onDelivered` (the router writes its delivery record).
 */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { ArchiveCorruptError, ArchiveReader, OBJECTS_PREFIX, readArchiveStream, validateMemberName, type ArchiveEntry, type Manifest, type ManifestObject, type SeekTable } from '../../shared/archive';
import { catalogKey, catalogRows, toJsonl } from '../../shared/catalog';
import type { Destination, ReplicationRule } from '../../shared/config';
import { headIfExists } from '../../shared/storage/jsonObject';
import type { ObjectInfo, ObjectStore } from '../../shared/storage/port';
import { S3RangeReader } from '../../shared/storage/s3/S3RangeReader';
import { MemberSpool } from './MemberSpool';

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
  /** Where verified members wait for the archive's whole pass (default: a folder under the OS temp dir). */
  spoolDir?: string;
  /** Bytes of members that may wait in spool files (default 4 GiB); larger members are streamed by a second pass. */
  spoolLimitBytes?: number;
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

/** Concurrent member puts at commit. */
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

/** Which normal destinations already hold each object (same sha256, or a newer version): looked up concurrently up front. */
async function alreadyPresent(store: ObjectStore, manifest: Manifest, normal: readonly Destination[]): Promise<Set<string>> {
  const lookups = pLimit(2 * PUT_CONCURRENCY);
  const present = new Set<string>();
  await Promise.all(
    normal.flatMap((d) =>
      manifest.objects.map((o) =>
        lookups(async () => {
          const info = await headIfExists(store, d.bucket, o.key);
          if (info?.sha256 === o.sha256 || holdsNewer(info, o)) present.add(`${d.bucket}\u0000${o.key}`);
        }),
      ),
    ),
  );
  return present;
}

/** The archive being routed, as readIndex found it. */
interface StagedArchive {
  deps: RouteDeps;
  key: string;
  versionId: string | undefined;
  manifest: Manifest;
  seekTable: SeekTable;
}

/** Every member of the staged archive, verified against the manifest; frames decoded in parallel (the seek table given). */
async function readWhole(a: StagedArchive): Promise<AsyncIterable<ArchiveEntry>> {
  const { body } = await a.deps.staging.get(a.deps.stagingBucket, a.key, { versionId: a.versionId });
  return readArchiveStream(body, { manifest: a.manifest, archiveName: a.manifest.archive, seekTable: a.seekTable });
}

/**
 * The one pass over the archive: every member verified against the manifest; those some normal
 * destination lacks are kept in `spool` for commit. Resolves only when the whole archive verified.
 */
async function verifyAndSpool(a: StagedArchive, needed: (o: ManifestObject) => boolean, spool: MemberSpool): Promise<ManifestObject[]> {
  const deferred: ManifestObject[] = [];
  for await (const entry of await readWhole(a)) {
    const o = entry.expected;
    if (!o) throw new ArchiveCorruptError({ archive: a.key, member: entry.name, check: 'manifest' }, 'member is not in the manifest');
    if (needed(o) && spool.fits(o.size)) await spool.add(o, entry.body);
    else {
      if (needed(o)) deferred.push(o);
      await pipeline(entry.body, devNull());
    }
  }
  return deferred;
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

/**
 * The second pass, only for members too large for the spool: the archive verified whole in the
 * first, each of these streams to its destinations (each put still commits only if its sha256
 * matches); `counted` tallies each write.
 */
async function streamDeferred(a: StagedArchive, deferred: ManifestObject[], targetsOf: (o: ManifestObject) => Destination[], counted: (d: Destination, o: ManifestObject) => void): Promise<void> {
  const wanted = new Set(deferred);
  for await (const entry of await readWhole(a)) {
    const o = entry.expected;
    if (!o || !wanted.has(o)) {
      await pipeline(entry.body, devNull());
      continue;
    }
    const targets = targetsOf(o);
    await streamMember(a.deps.destinations, targets, o, entry.body);
    for (const d of targets) counted(d, o);
  }
}

/**
 * Delivers a verified archive's objects to the normal destinations that lack them: the spooled
 * ones first (PUT_CONCURRENCY at a time), then the deferred ones by a second pass; one result per destination.
 */
async function commitToNormal(a: StagedArchive, normal: readonly Destination[], present: Set<string>, spool: MemberSpool, deferred: ManifestObject[]): Promise<DestinationResult[]> {
  const { manifest } = a;
  const store = a.deps.destinations;
  const results = new Map(normal.map((d) => [d.bucket, { bucket: d.bucket, mode: 'normal' as const, objectsWritten: 0, objectsUnchanged: manifest.objects.length, bytesWritten: 0 }]));
  const targetsOf = (o: ManifestObject) => normal.filter((d) => !present.has(`${d.bucket}\u0000${o.key}`));
  const counted = (d: Destination, o: ManifestObject) => {
    const r = results.get(d.bucket)!;
    r.objectsWritten++;
    r.objectsUnchanged--;
    r.bytesWritten += o.size;
  };
  const limit = pLimit(PUT_CONCURRENCY);
  // allSettled: whatever fails, no put of this delivery runs on after it returns or throws.
  const puts = await Promise.allSettled(
    spool.entries.flatMap(({ object: o, open }) =>
      targetsOf(o).map((d) =>
        limit(async () => {
          await store.put(d.bucket, o.key, open(), putOptions(o, d));
          counted(d, o);
        }),
      ),
    ),
  );
  const failed = puts.find((p): p is PromiseRejectedResult => p.status === 'rejected');
  if (failed) throw failed.reason;
  if (deferred.length) await streamDeferred(a, deferred, targetsOf, counted);
  return [...results.values()];
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
  const { manifest, seekTable } = await reader.readIndex();
  checkManifest(manifest, rule, archiveKey);

  const normal = rule.destinations.filter((d) => !d.backup);
  const backups = rule.destinations.filter((d) => d.backup);
  const present = normal.length ? await alreadyPresent(deps.destinations, manifest, normal) : new Set<string>();
  const spool = new MemberSpool(deps.spoolDir ?? join(tmpdir(), 'xregion-router-spool'), { fileLimit: deps.spoolLimitBytes });
  const destinations: DestinationResult[] = [];
  try {
    const staged: StagedArchive = { deps, key: archiveKey, versionId, manifest, seekTable };
    const deferred = await verifyAndSpool(staged, (o) => normal.some((d) => !present.has(`${d.bucket}\u0000${o.key}`)), spool);
    for (const r of normal.length ? await commitToNormal(staged, normal, present, spool, deferred) : []) {
      await deps.onDelivered?.(r);
      destinations.push(r);
    }
  } finally {
    await spool.discard();
  }
  if (backups.length) destinations.push(...(await deliverBackups(rule, archiveKey, versionId, manifest, backups, deps)));
  const catalog = destinations.find((d) => d.catalogKey);
  return { archiveKey, manifest, destinations, catalogRows: catalog ? manifest.objects.length : 0, catalogKey: catalog?.catalogKey };
}
