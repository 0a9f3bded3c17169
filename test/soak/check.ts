/**
 * The soak's checks of one data dir after the final drain (no process owns it then). What it
 * expects is read from the folders themselves, so chains come for free: a rule's source objects
 * are the files in its source bucket under its prefix with its suffix (outside `_xregion/`), the
 * harness's own writes and whatever other rules delivered there.
 *
 * - normal destination: every source object at its key with the same bytes (hashed here) and the
 *   same recorded sha256 (LocalObjectStore.head); else lost (absent) or stale (other bytes: an
 *   overwrite must leave the LAST content).
 * - backup destination: every source object in a manifest entry (same key and sha256) of an
 *   archive of this rule in the bucket, with a catalog row naming that archive, key and sha256;
 *   every archive's catalog file lists exactly its manifest's members; no catalog row names an
 *   archive no backup destination holds; no (object_path, sha256) twice across the archives of
 *   one destination (duplicated).
 * - nothing left: no message in any queue but the dead-letter queues, no archive in an outbox or
 *   an inbound staging bucket, nothing quarantined (stuck); the dead-letter queues hold exactly
 *   the planted malformed message, if any.
 * - nothing misrouted: a key the harness wrote is only in its bucket and in the normal
 *   destinations its rules (and the rules of those buckets, on and on) send it to.
 * - the sources hold exactly what the harness last wrote (nothing in the pipeline writes there
 *   but a rule delivering into another rule's source).
 * Objects the compressor skips on purpose (keys it cannot archive safely) are counted as skipped.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { ArchiveReader, LocalFileRangeReader, OBJECTS_PREFIX, validateMemberName, type Manifest } from '../../shared/archive';
import { catalogBase, catalogKey, type CatalogRow } from '../../shared/catalog';
import { keyMatchesRule, type ReplicationRule } from '../../shared/config';
import { LocalObjectStore } from '../../shared/storage';
import { QUARANTINE_PREFIX, RECORDS_PREFIX, type Topology } from '../../shared/topology';
import { readQueues } from './appliance';
import { SourceObjects, type KeyState } from './objects';

export interface CheckCounts {
  /** (source object, destination) pairs checked. */
  checked: number;
  lost: number;
  stale: number;
  duplicated: number;
  /**
   * Of `duplicated`: later copies made after a kill that came between the first copy's upload
   * and its acknowledgement (the compressor's known regrouped-batch duplicate, README "Soak").
   */
  duplicatedAfterKill: number;
  /** Catalog rows that disagree with manifests, missing catalog files, orphan rows. */
  catalog: number;
  stuck: number;
  /** Dead-letter messages other than the planted one, plus a planted one not dead-lettered. */
  dlq: number;
  misrouted: number;
  /** Source files that are not what the harness last wrote. */
  sourceDrift: number;
  /** Pairs not checked because the compressor skips such keys on purpose. */
  skipped: number;
}

export interface CheckResult {
  counts: CheckCounts;
  /** One line per problem (capped). */
  problems: string[];
}

export const FAILING: readonly (keyof CheckCounts)[] = ['lost', 'stale', 'duplicated', 'catalog', 'stuck', 'dlq', 'misrouted', 'sourceDrift'];

export interface CheckInput {
  dataDir: string;
  model: Topology;
  objects: SourceObjects;
  /** The planted malformed message, if any: expected in that queue's dead-letter queue. */
  poison?: { queue: string; id: string };
  maxProblems?: number;
  /** When each killed run started and was killed (epoch ms), to tell the duplicates a kill explains. */
  kills?: readonly { startedAt: number; killedAt: number }[];
}

/** An archive in a backup bucket: `{prefix_filter}backup_{epoch_ms}_{batch_id}.tar.zst` (the prefix may end mid-name). */
const ARCHIVE_NAME = /backup_\d+_[0-9a-f]+\.tar\.zst$/;

/** Every file under a bucket folder (key = relative path with `/`), optionally under a key prefix. */
function walkBucket(bucketDir: string, prefix = ''): { key: string; file: string }[] {
  const out: { key: string; file: string }[] = [];
  if (!existsSync(bucketDir)) return out;
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) {
        const key = relative(bucketDir, p).split(sep).join('/');
        if (key.startsWith(prefix)) out.push({ key, file: p });
      }
    }
  };
  visit(bucketDir);
  return out;
}

class Hashes {
  private readonly cache = new Map<string, string>();

  async of(file: string): Promise<string> {
    const st = statSync(file);
    const id = `${file}\0${st.ino}\0${st.size}\0${st.mtimeMs}`;
    let h = this.cache.get(id);
    if (!h) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
      h = hash.digest('hex');
      this.cache.set(id, h);
    }
    return h;
  }
}

/** Why the compressor never archives this key of a rule (writeBatchArchive's resolveItems), or undefined. */
function skipReason(rule: ReplicationRule, key: string): string | undefined {
  const rel = key.slice(rule.source.prefix_filter.length);
  if (rel === '' || key.endsWith('/')) return 'folder marker';
  try {
    validateMemberName(OBJECTS_PREFIX + rel);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

interface ArchiveFacts {
  key: string;
  manifest: Manifest;
}

export async function checkDataDir(input: CheckInput): Promise<CheckResult> {
  const { dataDir, model } = input;
  const maxProblems = input.maxProblems ?? 40;
  const counts: CheckCounts = { checked: 0, lost: 0, stale: 0, duplicated: 0, duplicatedAfterKill: 0, catalog: 0, stuck: 0, dlq: 0, misrouted: 0, sourceDrift: 0, skipped: 0 };
  const problems: string[] = [];
  const problem = (kind: keyof CheckCounts, text: string, n = 1) => {
    counts[kind] += n;
    if (problems.length < maxProblems) problems.push(`${kind}: ${text}`);
  };
  const hashes = new Hashes();
  const bucketDir = (region: string, bucket: string) => join(dataDir, 'regions', region, bucket);
  const stores = new Map<string, LocalObjectStore>();
  const store = (region: string) => {
    let s = stores.get(region);
    if (!s) stores.set(region, (s = new LocalObjectStore({ root: join(dataDir, 'regions', region), region })));
    return s;
  };
  const rules = model.paths.map((p) => p.rule).filter((r, i, all) => all.indexOf(r) === i);

  // The sources hold what the harness last wrote.
  for (const s of input.objects.keys.values()) {
    const file = SourceObjects.file(dataDir, s.region, s.bucket, s.key);
    if (s.sha256 === undefined) {
      if (existsSync(file)) problem('sourceDrift', `s3://${s.bucket}/${s.key}: deleted by the harness, but there`);
      continue;
    }
    if (!existsSync(file)) problem('sourceDrift', `s3://${s.bucket}/${s.key}: written by the harness, but gone`);
    else if ((await hashes.of(file)) !== s.sha256) problem('sourceDrift', `s3://${s.bucket}/${s.key}: not the bytes the harness last wrote`);
  }

  // Archives of every backup destination, read once.
  const archivesIn = new Map<string, ArchiveFacts[]>();
  const archivesOf = async (region: string, bucket: string): Promise<ArchiveFacts[]> => {
    const id = `${region}\0${bucket}`;
    let list = archivesIn.get(id);
    if (list) return list;
    list = [];
    for (const { key, file } of walkBucket(bucketDir(region, bucket))) {
      if (!ARCHIVE_NAME.test(key.slice(key.lastIndexOf('/') + 1))) continue;
      try {
        const { manifest } = await new ArchiveReader(new LocalFileRangeReader(file), key).readIndex();
        list.push({ key, manifest });
      } catch (err) {
        problem('catalog', `s3://${bucket}/${key} [${region}]: unreadable archive: ${(err as Error).message}`);
      }
    }
    archivesIn.set(id, list);
    return list;
  };
  // Catalog rows of a rule in a region, by archive name.
  const catalogOf = (region: string, rule: ReplicationRule): Map<string, { file: string; rows: CatalogRow[] }> => {
    const out = new Map<string, { file: string; rows: CatalogRow[] }>();
    const catalog = model.regions.find((r) => r.region === region)?.router?.catalog;
    if (!catalog) return out;
    const base = catalogBase(rule.source.bucket, rule.source.prefix_filter);
    for (const { key, file } of walkBucket(bucketDir(region, catalog), base)) {
      const m = /^year=\d{4}\/month=\d\d\/day=\d\d\/([^/]+)\.jsonl$/.exec(key.slice(base.length));
      if (!m) continue;
      const rows = readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as CatalogRow);
      out.set(m[1]!, { file: key, rows });
    }
    return out;
  };

  for (const rule of rules) {
    const sourceDir = bucketDir(rule.source.region, rule.source.bucket);
    const expected: { key: string; sha: string }[] = [];
    for (const { key, file } of walkBucket(sourceDir, rule.source.prefix_filter)) {
      if (key.startsWith(RECORDS_PREFIX) || !keyMatchesRule(rule, key)) continue;
      expected.push({ key, sha: await hashes.of(file) });
    }
    const paths = model.paths.filter((p) => p.rule === rule);
    const ruleName = `${rule.source.bucket}/${rule.source.prefix_filter}`;

    // Catalog rows per region with a backup destination of this rule, and the archives those destinations hold.
    const backupRegions = [...new Set(paths.filter((p) => p.destination.backup).map((p) => p.destination.region))];
    for (const region of backupRegions) {
      const catalog = catalogOf(region, rule);
      const held = new Set<string>();
      for (const p of paths.filter((x) => x.destination.backup && x.destination.region === region)) {
        for (const a of await archivesOf(region, p.destination.bucket)) {
          if (a.manifest.source.bucket === rule.source.bucket && a.manifest.source.prefix === rule.source.prefix_filter) held.add(a.manifest.archive);
        }
      }
      for (const [archive, { file }] of catalog) {
        if (!held.has(archive)) problem('catalog', `rule ${ruleName}: catalog file ${file} [${region}] names archive ${archive}, which no backup destination in ${region} holds`);
      }
    }

    for (const p of paths) {
      const d = p.destination;
      const where = `rule ${ruleName} → s3://${d.bucket} [${d.region}] ${d.backup ? 'backup' : 'normal'}`;
      if (!d.backup) {
        for (const o of expected) {
          const why = skipReason(rule, o.key);
          if (why) {
            counts.skipped++;
            continue;
          }
          counts.checked++;
          const file = SourceObjects.file(dataDir, d.region, d.bucket, o.key);
          if (!existsSync(file)) {
            problem('lost', `${where}: ${JSON.stringify(o.key)} absent`);
            continue;
          }
          const sha = await hashes.of(file);
          if (sha !== o.sha) {
            problem('stale', `${where}: ${JSON.stringify(o.key)} holds other bytes (${sha.slice(0, 12)}…, source ${o.sha.slice(0, 12)}…)`);
            continue;
          }
          const recorded = (await store(d.region).head(d.bucket, o.key)).sha256;
          if (recorded !== o.sha) problem('stale', `${where}: ${JSON.stringify(o.key)} recorded sha256 ${recorded} differs from its bytes`);
        }
        continue;
      }

      const archives = (await archivesOf(d.region, d.bucket)).filter((a) => a.manifest.source.bucket === rule.source.bucket && a.manifest.source.prefix === rule.source.prefix_filter);
      const catalog = catalogOf(d.region, rule);
      // Manifest entries and catalog rows of this destination's archives.
      const entries = new Map<string, string[]>();
      const rowsByPair = new Map<string, string[]>();
      for (const a of archives) {
        const backupKey = `${rule.source.prefix_filter}${a.manifest.archive}`;
        if (a.key !== backupKey) problem('catalog', `${where}: archive at ${a.key}, expected at ${backupKey}`);
        for (const o of a.manifest.objects) {
          const pair = `${o.key}\0${o.sha256}`;
          entries.set(pair, [...(entries.get(pair) ?? []), a.manifest.archive]);
        }
        const cat = catalog.get(a.manifest.archive);
        const expectedFile = catalogKey(rule.source.bucket, rule.source.prefix_filter, new Date(a.manifest.created), a.manifest.archive);
        if (!cat) {
          problem('catalog', `${where}: archive ${a.manifest.archive} (${a.manifest.objects.length} objects) has no catalog file ${expectedFile}`);
          continue;
        }
        if (cat.file !== expectedFile) {
          problem('catalog', `${where}: archive ${a.manifest.archive}: catalog file ${cat.file}, expected ${expectedFile}`);
        }
        const want = a.manifest.objects.map((o) => [o.key, o.sha256, o.size, o.offset, backupKey, a.manifest.archive].join('\0')).sort();
        const got = cat.rows.map((r) => [r.object_path, r.sha256, r.object_size, r.member_offset, r.archive_key, r.backup_file].join('\0')).sort();
        if (want.join('\n') !== got.join('\n')) {
          problem('catalog', `${where}: archive ${a.manifest.archive}: ${got.length} catalog rows do not match its ${want.length} manifest members`);
        }
        for (const r of cat.rows) {
          const pair = `${r.object_path}\0${r.sha256}`;
          rowsByPair.set(pair, [...(rowsByPair.get(pair) ?? []), r.backup_file]);
        }
      }
      const created = new Map(archives.map((a) => [a.manifest.archive, Date.parse(a.manifest.created)]));
      for (const [pair, inArchives] of entries) {
        const rows = rowsByPair.get(pair)?.length ?? 0;
        const extra = Math.max(inArchives.length, rows) - 1;
        if (extra <= 0) continue;
        // Archived again after a kill that came between an upload and its acknowledgement: each
        // later copy whose predecessor was made in a run that was then killed, and itself after that kill.
        const times = inArchives.map((a) => created.get(a)!).sort((x, y) => x - y);
        const afterKill = times.slice(1).filter((t, i) => (input.kills ?? []).some((k) => times[i]! >= k.startedAt && times[i]! <= k.killedAt && t > k.killedAt)).length;
        counts.duplicatedAfterKill += Math.min(afterKill, extra);
        const why = afterKill >= extra ? ' — archived again after the kill of the run that uploaded it (a regrouped batch)' : afterKill > 0 ? ` — ${afterKill} of them after a kill` : ' — NOT explained by a kill';
        problem('duplicated', `${where}: ${JSON.stringify(pair.split('\0')[0])} (sha256 ${pair.split('\0')[1]!.slice(0, 12)}…) in ${inArchives.length} archives (${inArchives.join(', ')}), ${rows} catalog rows${why}`, extra);
      }
      const byKey = new Set([...entries.keys()].map((pair) => pair.split('\0')[0]!));
      for (const o of expected) {
        const why = skipReason(rule, o.key);
        if (why) {
          counts.skipped++;
          continue;
        }
        counts.checked++;
        const pair = `${o.key}\0${o.sha}`;
        if (!entries.has(pair)) {
          if (byKey.has(o.key)) problem('stale', `${where}: ${JSON.stringify(o.key)}: archived, but not its last content ${o.sha.slice(0, 12)}…`);
          else problem('lost', `${where}: ${JSON.stringify(o.key)} in no archive`);
          continue;
        }
        if (!rowsByPair.has(pair)) problem('lost', `${where}: ${JSON.stringify(o.key)} archived, but no catalog row`);
      }
    }
  }

  // Nothing left in queues, outboxes, staging; nothing quarantined; only the planted message dead-lettered.
  const messages = readQueues(dataDir);
  for (const m of messages.filter((x) => !x.deadLetter)) {
    if (m.unreadable) {
      problem('stuck', `queue ${m.queue}: file ${m.id} is not a message LocalQueue can read (skipped on every load, never dead-lettered): ${JSON.stringify(m.body)}`);
      continue;
    }
    problem('stuck', `queue ${m.queue}: message ${m.id} (received ${m.receiveCount}×)${m.id === input.poison?.id ? ' [the planted malformed message, not dead-lettered]' : ''}: ${m.body.slice(0, 160)}`);
  }
  const dead = messages.filter((x) => x.deadLetter);
  for (const m of dead) {
    if (input.poison && m.id === input.poison.id && m.queue === `${input.poison.queue}-dlq`) continue;
    problem('dlq', `dead-letter queue ${m.queue}: message ${m.id}: ${m.body.slice(0, 200)}`);
  }
  if (input.poison && !dead.some((m) => m.id === input.poison!.id)) problem('dlq', `the planted malformed message ${input.poison.id} is not in ${input.poison.queue}-dlq`);
  for (const region of model.regions) {
    const leftovers: { bucket: string; key: string }[] = [];
    if (region.outbox) for (const { key } of walkBucket(bucketDir(region.region, region.outbox))) if (!key.startsWith(RECORDS_PREFIX)) leftovers.push({ bucket: region.outbox, key });
    if (region.router) for (const { key } of walkBucket(bucketDir(region.region, region.router.staging))) if (!key.startsWith(RECORDS_PREFIX)) leftovers.push({ bucket: region.router.staging, key });
    for (const l of leftovers) problem('stuck', `s3://${l.bucket}/${l.key} [${region.region}]${l.key.startsWith(QUARANTINE_PREFIX) ? ' quarantined' : ' never delivered'}`);
  }

  // Misrouted: a harness key anywhere its rules do not send it.
  const dataBuckets = new Map<string, string>(); // bucket → region
  for (const r of rules) {
    dataBuckets.set(r.source.bucket, r.source.region);
    for (const d of r.destinations) if (!d.backup) dataBuckets.set(d.bucket, d.region);
  }
  const allowed = (s: KeyState): Set<string> => {
    const out = new Set([s.bucket]);
    const todo = [s.bucket];
    while (todo.length) {
      const b = todo.pop()!;
      for (const r of rules) {
        if (r.source.bucket !== b || !keyMatchesRule(r, s.key) || s.key.startsWith(RECORDS_PREFIX) || skipReason(r, s.key)) continue;
        for (const d of r.destinations) if (!d.backup && !out.has(d.bucket)) out.add(d.bucket), todo.push(d.bucket);
      }
    }
    return out;
  };
  for (const s of input.objects.keys.values()) {
    const ok = allowed(s);
    for (const [bucket, region] of dataBuckets) {
      if (ok.has(bucket)) continue;
      if (existsSync(SourceObjects.file(dataDir, region, bucket, s.key))) problem('misrouted', `s3://${s.bucket}/${s.key} (${s.inRule ? 'in a rule' : 'outside every rule'}) reached s3://${bucket} [${region}]`);
    }
  }

  return { counts, problems };
}

/** What the harness uses of shared/reconcile. */
interface ReconcileEngine {
  reconcile(opts: { topology: Topology; store: (region: string) => LocalObjectStore; settledBefore: Date }): Promise<{ totals: Record<'missing' | 'different' | 'duplicated', number> }>;
  formatReport(report: unknown): string;
}

/** The reconcile engine's verdict on the same data dir (shared/reconcile, when it is there): its failing classes, or why it could not run. */
export async function reconcileVerdict(dataDir: string, model: Topology): Promise<{ missing: number; different: number; duplicated: number; report: string } | { error: string }> {
  try {
    // Loaded at run time: the engine is being written alongside, and the harness's own checks do not depend on it.
    const engine = require('../../shared/reconcile') as ReconcileEngine;
    const stores = new Map<string, LocalObjectStore>();
    const store = (region: string) => {
      let s = stores.get(region);
      if (!s) stores.set(region, (s = new LocalObjectStore({ root: join(dataDir, 'regions', region), region })));
      return s;
    };
    const report = await engine.reconcile({ topology: model, store, settledBefore: new Date(Date.now() + 1000) });
    return { missing: report.totals.missing, different: report.totals.different, duplicated: report.totals.duplicated, report: engine.formatReport(report) };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}
