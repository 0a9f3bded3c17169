/**
 * Compares each rule's source bucket/prefix with each of its destinations (DESIGN.md, second
 * wave, "Reconcile"). Per rule:
 *
 * 1. Evidence is indexed first, from manifests and catalog rows only (ranged reads, never
 *    members): every backup destination's archives and its catalog rows; the archives still in
 *    the source region's outbox and in each destination region's inbound staging bucket (and its
 *    quarantine), for the `skipped` lists and for what is still on its way.
 * 2. The source listing is walked once, in key order. Each normal destination's listing is
 *    merge-joined with it (both are in UTF-8 key order, the port's guarantee), so neither listing
 *    is held; destination keys the walk steps over are `extra`. Each source object is then checked
 *    against every destination, a bounded number at a time:
 *    - normal: same key; same sha256 (HEAD on both sides: `xregion-sha256`, which the local store
 *      always has and the router always writes); where the source has none, the same ETag; else,
 *      in fast mode, the same size (counted in `sizeOnly`). `--deep` reads and hashes the source.
 *    - backup: a manifest entry of an archive in the bucket with the source's sha256 (or, without
 *      one, its ETag, which the manifest records) and size, and a catalog row naming that archive,
 *      key and sha256.
 *    What is neither there nor there with other content is `skipped` when the pipeline skipped it
 *    on purpose, `in_flight` when it changed after `settledBefore` or sits in an archive that
 *    arrived in the outbox or staging after it, and otherwise `missing`/`different`, with what
 *    was found (a stuck or quarantined archive, an archive without catalog rows...).
 * 3. Backup archive entries no source object claimed are `extra` (backups of deleted objects are
 *    kept); one source object version (key, sha256, version id, last-modified) in two or more
 *    archives is `duplicated`.
 *
 * Memory: no listing is held; per rule, the indexes of step 1 hold one small entry per archived
 * object version and per catalog row (a map of keys per rule); bodies are streamed (deep mode)
 * and never held.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { OBJECTS_PREFIX, validateMemberName } from '../archive';
import { keyMatchesRule, type Destination, type ReplicationRule } from '../config';
import { NoSuchBucketError, NoSuchObjectError, PreconditionFailedError, type ObjectStore, type ObjectSummary } from '../storage';
import { QUARANTINE_PREFIX, RECORDS_PREFIX, stagingPrefix, type DeliveryPath, type Topology } from '../topology';
import { readArchiveIndex, type ArchivedVersion, type ArchiveIndex } from './ArchiveIndex';
import { readCatalogIndex, type CatalogIndex } from './CatalogIndex';
import { ListingCursor } from './ListingCursor';
import { emptyCounts, FAILING_CLASSES, OBJECT_CLASSES, RECONCILE_FORMAT, type DestinationReport, type ObjectClass, type ReconcileReport } from './report';
import { Tally } from './Tally';

/** Default grace window: objects modified within it are in flight, not missing. */
export const DEFAULT_SETTLE_MS = 5 * 60 * 1000;

export interface ReconcileProgress {
  rule: string;
  phase: 'index' | 'objects';
  /** index: archives read; objects: source objects checked. */
  done: number;
}

export interface ReconcileOptions {
  /** The deployment (shared/topology): rules, destinations, outbox/staging/catalog bucket names. */
  topology: Topology;
  /** The object store of a region (local folders or S3). */
  store: (region: string) => ObjectStore;
  /** Only these rules (rule ids, `{bucket}/{prefix_filter}`); default every rule. */
  rules?: readonly string[];
  /** Objects modified after this are in_flight rather than missing (default: now minus 5 minutes). */
  settledBefore?: Date;
  /** Read and hash every source object instead of trusting recorded sha256s, ETags and sizes. */
  deep?: boolean;
  /** Keys reported per non-ok class and destination (default 5). */
  samples?: number;
  /** Object checks (HEADs, hashes) at once (default 16). */
  concurrency?: number;
  onProgress?: (p: ReconcileProgress) => void;
}

/** The run cannot say anything (e.g. a source bucket that does not exist): not a finding. */
export class ReconcileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReconcileError';
  }
}

const short = (sha: string) => `${sha.slice(0, 12)}…`;
const iso = (ms: number) => new Date(ms).toISOString();
const sortedUnique = (xs: Iterable<string>) => [...new Set(xs)].sort();

/** Why the compressor never archives a key, whatever its events (services/compressor/writeBatchArchive.ts resolveItems, same words). */
export function keySkipReason(rule: ReplicationRule, key: string): string | undefined {
  const relativeKey = key.slice(rule.source.prefix_filter.length);
  if (relativeKey === '' || key.endsWith('/')) return 'DirectoryMarker: a key ending in "/" is a folder placeholder';
  try {
    validateMemberName(OBJECTS_PREFIX + relativeKey);
  } catch (err) {
    return `UnsafeKey: ${(err as Error).message}`;
  }
  return undefined;
}

/** True for source keys the rule replicates: under its prefix, with its suffix, outside xregion's own `_xregion/` state. */
export function coveredByRule(rule: ReplicationRule, key: string): boolean {
  return keyMatchesRule(rule, key) && !key.startsWith(RECORDS_PREFIX);
}

/** One source object: its listing entry, and its sha256 fetched at most once for all destinations. */
class SourceObject {
  private sha: Promise<string | undefined> | undefined;

  constructor(
    readonly o: ObjectSummary,
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly deep: boolean,
  ) {}

  get key(): string {
    return this.o.key;
  }

  /** fast: the recorded sha256 (HEAD), or undefined; deep: the bytes' sha256. NoSuchObjectError when deleted since the listing. */
  sha256(): Promise<string | undefined> {
    this.sha ??= this.deep ? hashObject(this.store, this.bucket, this.o.key, this.o.etag) : this.store.head(this.bucket, this.o.key).then((i) => i.sha256);
    return this.sha;
  }
}

/** Streams one object through sha256 (bounded memory), pinned to the ETag it was listed with. */
async function hashObject(store: ObjectStore, bucket: string, key: string, etag?: string): Promise<string> {
  const { body } = await store.get(bucket, key, etag ? { ifMatch: etag } : {});
  const h = createHash('sha256');
  for await (const chunk of body) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** A listing that is empty (and calls `onMissing`) when the bucket does not exist. */
async function* listOrNothing(store: ObjectStore, bucket: string, prefix: string, onMissing: () => void): AsyncGenerator<ObjectSummary> {
  try {
    yield* store.list(bucket, prefix);
  } catch (err) {
    if (!(err instanceof NoSuchBucketError)) throw err;
    onMissing();
  }
}

/** Archives still on their way (or stuck) for one destination: its region's inbound staging and quarantine, and the source's outbox. */
interface Pending {
  outbox: ArchiveIndex;
  staging: ArchiveIndex;
  quarantine: ArchiveIndex;
}

interface DestinationState {
  path: DeliveryPath;
  d: Destination;
  tally: Tally;
  notes: string[];
  pending: Pending;
  /** Normal destinations: their listing, walked with the source's. */
  cursor?: ListingCursor;
  /** Backup destinations: archive and catalog indexes, and the keys the source walk claimed. */
  archives?: ArchiveIndex;
  catalog?: CatalogIndex;
  seen?: Set<string>;
}

/** Runs a reconcile over every selected rule; findings are in the report, only unusable input throws. */
export async function reconcile(opts: ReconcileOptions): Promise<ReconcileReport> {
  const startedAt = new Date();
  const settledBefore = opts.settledBefore ?? new Date(startedAt.getTime() - DEFAULT_SETTLE_MS);
  const wanted = opts.rules ? new Set(opts.rules) : undefined;
  const byRule = new Map<string, DeliveryPath[]>();
  for (const p of opts.topology.paths) {
    if (wanted && !wanted.has(p.ruleId)) continue;
    const list = byRule.get(p.ruleId);
    if (list) list.push(p);
    else byRule.set(p.ruleId, [p]);
  }
  const destinations: DestinationReport[] = [];
  for (const paths of byRule.values()) destinations.push(...(await reconcileRule(paths, opts, settledBefore)));
  const totals = emptyCounts();
  for (const d of destinations) for (const c of OBJECT_CLASSES) totals[c] += d.counts[c];
  return {
    format: RECONCILE_FORMAT,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settledBefore: settledBefore.toISOString(),
    mode: opts.deep ? 'deep' : 'fast',
    destinations,
    totals,
    ok: destinations.every((d) => d.ok),
  };
}

async function reconcileRule(paths: DeliveryPath[], opts: ReconcileOptions, settledBefore: Date): Promise<DestinationReport[]> {
  const { rule, ruleId } = paths[0]!;
  const settled = settledBefore.getTime();
  const deep = opts.deep ?? false;
  const sourceStore = opts.store(rule.source.region);
  let indexed = 0;
  const onArchive = () => opts.onProgress?.({ rule: ruleId, phase: 'index', done: ++indexed });

  // 1. Evidence: what is on its way (outbox, staging, quarantine) and what the backups hold.
  const prefix = stagingPrefix(rule);
  const outboxBucket = paths[0]!.compressor.outbox;
  const outbox = await readArchiveIndex({ store: sourceStore, bucket: outboxBucket, listPrefix: prefix, rule, onArchive });
  const byRegion = new Map<string, { staging: ArchiveIndex; quarantine: ArchiveIndex }>();
  for (const p of paths) {
    if (byRegion.has(p.destination.region)) continue;
    const store = opts.store(p.destination.region);
    byRegion.set(p.destination.region, {
      staging: await readArchiveIndex({ store, bucket: p.router.staging, listPrefix: prefix, rule, onArchive }),
      quarantine: await readArchiveIndex({ store, bucket: p.router.staging, listPrefix: QUARANTINE_PREFIX + prefix, rule, onArchive }),
    });
  }
  const states: DestinationState[] = [];
  for (const p of paths) {
    const d = p.destination;
    const store = opts.store(d.region);
    const notes: string[] = [];
    const pending = { outbox, ...byRegion.get(d.region)! };
    if (!outbox.bucketExists) notes.push(`outbox s3://${outboxBucket} does not exist: archives awaiting replication and their skipped lists are unknown`);
    if (!pending.staging.bucketExists) notes.push(`staging bucket s3://${p.router.staging} does not exist: archives awaiting routing are unknown`);
    const state: DestinationState = { path: p, d, tally: new Tally(opts.samples ?? 5), notes, pending };
    if (d.backup) {
      state.archives = await readArchiveIndex({ store, bucket: d.bucket, listPrefix: rule.source.prefix_filter, rule, onArchive });
      if (!state.archives.bucketExists) notes.push(`backup bucket s3://${d.bucket} does not exist`);
      for (const u of state.archives.unreadable) notes.push(`archive s3://${d.bucket}/${u.key} is unreadable (its objects are not counted as backed up): ${u.error}`);
      if (p.router.catalog) {
        state.catalog = await readCatalogIndex({ store, bucket: p.router.catalog, rule, destinationBucket: d.bucket });
        if (!state.catalog.bucketExists) notes.push(`catalog bucket s3://${p.router.catalog} does not exist`);
        if (state.catalog.unreadable.length) notes.push(`${state.catalog.unreadable.length} catalog line(s) do not parse, first: s3://${p.router.catalog}/${state.catalog.unreadable[0]}`);
      } else {
        notes.push(`region ${d.region} has no catalog bucket in the topology`);
      }
      state.seen = new Set();
    } else {
      state.cursor = new ListingCursor(
        listOrNothing(store, d.bucket, rule.source.prefix_filter, () => notes.push(`destination bucket s3://${d.bucket} does not exist`)),
        `s3://${d.bucket}/${rule.source.prefix_filter}`,
      );
    }
    states.push(state);
  }
  // Every skipped list of the rule, wherever its archive is now.
  const skipIndexes = [outbox, ...[...byRegion.values()].flatMap((r) => [r.staging, r.quarantine]), ...states.flatMap((s) => (s.archives ? [s.archives] : []))];

  // Another rule that writes into the same destination bucket owns its own keys there: not extra here.
  const others = opts.topology.paths.filter((p) => p.ruleId !== ruleId);
  const isExtraCandidate = (bucket: string, key: string) => coveredByRule(rule, key) && !others.some((p) => p.destination.bucket === bucket && coveredByRule(p.rule, key));

  // 2. The source walk.
  const limit = pLimit(opts.concurrency ?? 16);
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let checked = 0;
  let sourceObjects = 0;
  const sourceListing = listOrNothing(sourceStore, rule.source.bucket, rule.source.prefix_filter, () => {
    throw new ReconcileError(`source bucket s3://${rule.source.bucket} [${rule.source.region}] does not exist`);
  });
  try {
    for await (const o of sourceListing) {
      if (failure) break;
      if (!coveredByRule(rule, o.key)) continue;
      sourceObjects++;
      const src = new SourceObject(o, sourceStore, rule.source.bucket, deep);
      const here = new Map<DestinationState, ObjectSummary | undefined>();
      for (const s of states) {
        if (s.cursor) here.set(s, await s.cursor.advanceTo(o.key, (x) => isExtraCandidate(s.d.bucket, x.key) && s.tally.add('extra', x.key, 'no source object')));
        else if (s.archives!.versions.has(o.key)) s.seen!.add(o.key);
      }
      const task = limit(async () => {
        try {
          await checkObject(src, states, here, { rule, settled, deep, skipIndexes, opts });
        } catch (err) {
          failure ??= err;
        }
        if (++checked % 100 === 0) opts.onProgress?.({ rule: ruleId, phase: 'objects', done: checked });
      });
      const tracked = task.finally(() => running.delete(tracked));
      running.add(tracked);
      if (running.size >= 4 * (opts.concurrency ?? 16)) await Promise.race(running);
    }
  } finally {
    await Promise.allSettled(running);
  }
  if (failure) {
    await Promise.allSettled(states.map((s) => s.cursor?.close()));
    throw failure;
  }
  opts.onProgress?.({ rule: ruleId, phase: 'objects', done: checked });

  // 3. What is left: destination objects after the last source key, unclaimed backups, duplicates.
  const reports: DestinationReport[] = [];
  for (const s of states) {
    if (s.cursor) {
      for (let x = await s.cursor.take(); x; x = await s.cursor.take()) if (isExtraCandidate(s.d.bucket, x.key)) s.tally.add('extra', x.key, 'no source object');
    } else {
      const archives = s.archives!;
      for (const [key, versions] of archives.versions) {
        if (!s.seen!.has(key)) s.tally.add('extra', key, `in ${sortedUnique(versions.map((v) => archives.archiveKey(v))).join(', ')}; no source object (backups of deleted objects are kept)`);
        duplicates(key, versions, archives, s.tally);
      }
    }
    const counts = { ...s.tally.counts };
    const report: DestinationReport = {
      rule: ruleId,
      source: { region: rule.source.region, bucket: rule.source.bucket, prefix: rule.source.prefix_filter, suffix: rule.source.suffix_filter },
      destination: { region: s.d.region, bucket: s.d.bucket, mode: s.d.backup ? 'backup' : 'normal' },
      sourceObjects,
      counts,
      samples: s.tally.result(),
      sizeOnly: s.tally.sizeOnly,
      ...(s.archives && { archives: s.archives.archives.length, catalogRows: s.catalog?.count ?? 0 }),
      notes: s.notes,
      ok: FAILING_CLASSES.every((c) => counts[c] === 0),
    };
    reports.push(report);
  }
  return reports;
}

/** One source object version in two or more archives of one destination. */
function duplicates(key: string, versions: readonly ArchivedVersion[], archives: ArchiveIndex, tally: Tally): void {
  if (versions.length < 2) return;
  const groups = new Map<string, Set<string>>();
  for (const v of versions) {
    const id = `${v.sha256}\u0000${v.versionId ?? ''}\u0000${v.lastModified ?? ''}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = new Set()));
    g.add(archives.archiveKey(v));
  }
  for (const [id, g] of groups) {
    if (g.size >= 2) tally.add('duplicated', key, `sha256 ${short(id.slice(0, 64))} in ${g.size} archives: ${[...g].sort().join(', ')}`);
  }
}

interface CheckContext {
  rule: ReplicationRule;
  settled: number;
  deep: boolean;
  skipIndexes: ArchiveIndex[];
  opts: ReconcileOptions;
}

type Verdict = { c: ObjectClass; detail: string; sizeOnly?: boolean };

async function checkObject(src: SourceObject, states: DestinationState[], here: Map<DestinationState, ObjectSummary | undefined>, ctx: CheckContext): Promise<void> {
  for (const s of states) {
    let v: Verdict;
    try {
      v = s.cursor ? await checkNormal(src, s, here.get(s), ctx) : await checkBackup(src, s);
      if (v.c === 'missing' || v.c === 'different') v = await excuse(src, s, v, ctx);
    } catch (err) {
      // The source changed under the check: it is on its way again.
      if (!(err instanceof NoSuchObjectError || err instanceof PreconditionFailedError) || err.bucket !== ctx.rule.source.bucket) throw err;
      v = { c: 'in_flight', detail: err instanceof NoSuchObjectError ? 'deleted at the source during the run' : 'changed at the source during the run' };
    }
    if (v.sizeOnly) s.tally.sizeOnly++;
    s.tally.add(v.c, src.key, v.detail);
  }
}

async function checkNormal(src: SourceObject, s: DestinationState, listed: ObjectSummary | undefined, ctx: CheckContext): Promise<Verdict> {
  if (!listed) return { c: 'missing', detail: 'not at the destination' };
  if (listed.size !== src.o.size) return { c: 'different', detail: `${src.o.size} bytes at the source, ${listed.size} at the destination` };
  const store = ctx.opts.store(s.d.region);
  let dstSha: string | undefined;
  try {
    dstSha = (await store.head(s.d.bucket, listed.key)).sha256;
    if (dstSha === undefined && ctx.deep) dstSha = await hashObject(store, s.d.bucket, listed.key, listed.etag);
  } catch (err) {
    if (err instanceof NoSuchObjectError && err.bucket === s.d.bucket) return { c: 'missing', detail: 'deleted at the destination during the run' };
    throw err;
  }
  const srcSha = await src.sha256();
  if (srcSha && dstSha) return srcSha === dstSha ? { c: 'ok', detail: '' } : { c: 'different', detail: `sha256 ${short(srcSha)} at the source, ${short(dstSha)} at the destination` };
  if (src.o.etag === listed.etag) return { c: 'ok', detail: '' };
  return { c: 'ok', detail: '', sizeOnly: true };
}

/** Does an archived version hold the source object's current content? By sha256 when the source has one, else by the ETag the manifest recorded. */
async function sameContent(src: SourceObject): Promise<(v: { size: number; sha256: string; etag?: string | null }) => boolean> {
  const sha = await src.sha256();
  return (v) => v.size === src.o.size && (sha ? v.sha256 === sha : v.etag === src.o.etag);
}

async function checkBackup(src: SourceObject, s: DestinationState): Promise<Verdict> {
  const archives = s.archives!;
  const versions = archives.versions.get(src.key) ?? [];
  const same = await sameContent(src);
  const matched = versions.filter(same);
  const catalog = s.catalog;
  if (matched.some((v) => catalog?.has(archives.archiveKey(v), src.key, v.sha256))) return { c: 'ok', detail: '' };
  const bucket = `s3://${s.d.bucket}`;
  if (matched.length) return { c: 'missing', detail: `in ${sortedUnique(matched.map((v) => archives.archiveKey(v))).join(', ')}, but no catalog row names it there` };
  const sha = await src.sha256();
  const rows = (catalog?.of(src.key) ?? []).filter((r) => (sha ? r.sha256 === sha : r.etag === src.o.etag));
  if (rows.length) {
    const unreadable = new Map(archives.unreadable.map((u) => [u.key, u.error]));
    const named = sortedUnique(rows.map((r) => r.archiveKey));
    const bad = named.filter((k) => unreadable.has(k));
    if (bad.length) return { c: 'missing', detail: `the catalog names ${bad.join(', ')}, which is unreadable: ${unreadable.get(bad[0]!)}` };
    return { c: 'missing', detail: `the catalog names ${named.join(', ')}, which is not in ${bucket}` };
  }
  if (versions.length) return { c: 'different', detail: `backed up only with other content (sha256 ${sortedUnique(versions.map((v) => short(v.sha256))).join(', ')})` };
  return { c: 'missing', detail: `in no archive in ${bucket}` };
}

/** A missing/different object the pipeline skipped on purpose, or one still on its way; else the verdict with what was found on the way. */
async function excuse(src: SourceObject, s: DestinationState, v: Verdict, ctx: CheckContext): Promise<Verdict> {
  const lastModified = src.o.lastModified.getTime();
  const byKey = keySkipReason(ctx.rule, src.key);
  if (byKey) return { c: 'skipped', detail: byKey };
  // A skip names a key, not a version: it excuses the current object only if that existed when the archive was made, and never
  // for `Superseded` (the object changed after its event; the newer event must deliver it).
  for (const index of ctx.skipIndexes) {
    const skip = index.skipped.get(src.key)?.find((e) => !e.reason.startsWith('Superseded') && lastModified <= e.created);
    if (skip) return { c: 'skipped', detail: `${skip.reason} (${skip.archive})` };
  }
  if (lastModified > ctx.settled) return { c: 'in_flight', detail: `modified ${src.o.lastModified.toISOString()}, after --settled-before` };
  const same = await sameContent(src);
  const where: [ArchiveIndex, string, string][] = [
    [s.pending.staging, `inbound staging s3://${s.path.router.staging}`, 'awaiting routing'],
    [s.pending.outbox, `outbox s3://${s.path.compressor.outbox}`, 'awaiting replication'],
  ];
  const found: string[] = [];
  for (const [index, bucket, waiting] of where) {
    for (const hit of index.versions.get(src.key)?.filter(same) ?? []) {
      const a = index.archives[hit.archive]!;
      if (a.stored > ctx.settled) return { c: 'in_flight', detail: `in ${a.key} in the ${bucket} since ${iso(a.stored)}, ${waiting}` };
      found.push(`in ${a.key} in the ${bucket} since ${iso(a.stored)}, still ${waiting}`);
    }
  }
  const q = s.pending.quarantine;
  for (const hit of q.versions.get(src.key)?.filter(same) ?? []) found.push(`its archive was quarantined: s3://${s.path.router.staging}/${q.archives[hit.archive]!.key}`);
  return found.length ? { ...v, detail: `${v.detail}; ${[...new Set(found)].sort().join('; ')}` } : v;
}
