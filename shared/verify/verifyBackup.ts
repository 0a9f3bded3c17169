/**
 * Audits a backup bucket: every archive's seek table and manifest parse; every member's sha256
 * (one sequential verified read per archive, or `sample` random members through ranged reads);
 * and, given the catalog, that its rows match the manifests exactly and name no archive that
 * is gone. Findings are collected, never thrown: an auditor wants the whole list.
 */
import { createInterface } from 'node:readline';
import pLimit from 'p-limit';
import { ArchiveCorruptError, ArchiveReader, readArchiveStream, UnsafeMemberNameError, type Manifest } from '../archive';
import { CATALOG_COLUMNS, catalogRows, type CatalogRow } from '../catalog';
import { S3RangeReader, type ObjectStore } from '../storage';
import type { Finding, VerifyReport } from './report';

export interface VerifyOptions {
  store: ObjectStore;
  bucket: string;
  /** Only archives under this prefix. */
  prefix?: string;
  /** The catalog bucket holding this backup's rows (rows whose target_buckets include `bucket`). */
  catalog?: { store: ObjectStore; bucket: string; prefix?: string };
  /** Check only this many random members per archive (ranged reads); default: every member sequentially. */
  sample?: number;
  /** Random source for sampling (tests pass a seeded one). */
  random?: () => number;
  /** Archives checked at once (default 2). */
  concurrency?: number;
  onProgress?: (p: { archivesDone: number; archivesTotal: number; bytes: number }) => void;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

function corruptFinding(archive: string, err: unknown): Finding {
  if (err instanceof ArchiveCorruptError) {
    return { kind: err.member ? 'member-corrupt' : 'archive-unreadable', archive, ...(err.member && { member: err.member }), check: err.check, detail: err.message };
  }
  // Refused before any byte is read (readers never act on such a name): the archive as a whole is unusable.
  if (err instanceof UnsafeMemberNameError) return { kind: 'archive-unreadable', archive, member: err.memberName, check: 'member-name', detail: err.message };
  return { kind: 'archive-unreadable', archive, detail: message(err) };
}

async function drain(body: NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const c of body) n += (c as Buffer).length;
  return n;
}

/** Every catalog row of the backup bucket, with the catalog object each came from; lines that do not parse are findings. */
async function readCatalog(cat: NonNullable<VerifyOptions['catalog']>, bucket: string, prefix: string): Promise<{ rows: { row: CatalogRow; file: string }[]; findings: Finding[] }> {
  const out: { row: CatalogRow; file: string }[] = [];
  const findings: Finding[] = [];
  for await (const o of cat.store.list(cat.bucket, cat.prefix ?? '')) {
    if (!o.key.endsWith('.jsonl')) continue;
    const { body } = await cat.store.get(cat.bucket, o.key);
    // readline decodes across chunk boundaries: a character split between chunks stays whole.
    const lines = createInterface({ input: body, crlfDelay: Infinity });
    let n = 0;
    for await (const line of lines) {
      n++;
      if (!line.trim()) continue;
      let row: CatalogRow;
      try {
        row = JSON.parse(line) as CatalogRow;
        if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Error('not a JSON object');
      } catch (err) {
        findings.push({ kind: 'catalog-row-unreadable', archive: `s3://${cat.bucket}/${o.key}`, member: `line ${n}`, detail: `catalog line does not parse: ${message(err)}` });
        continue;
      }
      const targets = Array.isArray(row.target_buckets) ? row.target_buckets : [];
      if (targets.includes(bucket) && typeof row.archive_key === 'string' && row.archive_key.startsWith(prefix)) out.push({ row, file: o.key });
    }
  }
  return { rows: out, findings };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Catalog findings of one archive: rows missing, extra, duplicated or different from the manifest. */
function compareCatalog(key: string, manifest: Manifest, rows: CatalogRow[]): Finding[] {
  const findings: Finding[] = [];
  const byPath = new Map<string, CatalogRow>();
  for (const r of rows) {
    if (byPath.has(r.object_path)) findings.push({ kind: 'catalog-row-extra', archive: key, member: r.object_path, detail: 'duplicate catalog row' });
    else byPath.set(r.object_path, r);
  }
  for (const m of manifest.objects) {
    const row = byPath.get(m.key);
    if (!row) {
      findings.push({ kind: 'catalog-row-missing', archive: key, member: m.key, detail: 'manifest object has no catalog row' });
      continue;
    }
    byPath.delete(m.key);
    const [want] = catalogRows({ ...manifest, objects: [m] }, { backupRegion: row.backup_region, archiveKey: key, targetBuckets: row.target_buckets });
    const bad = CATALOG_COLUMNS.map((c) => c.name).filter((c) => !same((row as unknown as Record<string, unknown>)[c], (want as unknown as Record<string, unknown>)[c]));
    if (bad.length > 0) {
      findings.push({
        kind: 'catalog-row-differs',
        archive: key,
        member: m.key,
        check: bad.join(','),
        detail: bad.map((c) => `${c}: catalog ${JSON.stringify((row as unknown as Record<string, unknown>)[c])}, manifest ${JSON.stringify((want as unknown as Record<string, unknown>)[c])}`).join('; '),
      });
    }
  }
  for (const r of byPath.values()) findings.push({ kind: 'catalog-row-extra', archive: key, member: r.object_path, detail: 'catalog row for an object the manifest does not hold' });
  return findings;
}

/** Audits every archive under the prefix; see the module comment. */
export async function verifyBackup(opts: VerifyOptions): Promise<VerifyReport> {
  const startedAt = new Date().toISOString();
  const prefix = opts.prefix ?? '';
  const keys: { key: string; size: number }[] = [];
  const findings: Finding[] = [];
  for await (const o of opts.store.list(opts.bucket, prefix)) if (o.key.endsWith('.tar.zst')) keys.push({ key: o.key, size: o.size });
  // An empty or mistyped prefix must not pass as a clean audit.
  if (keys.length === 0) findings.push({ kind: 'no-archives', archive: `s3://${opts.bucket}/${prefix}`, detail: 'no .tar.zst archive under this prefix' });
  const read = opts.catalog ? await readCatalog(opts.catalog, opts.bucket, prefix) : { rows: [], findings: [] };
  findings.push(...read.findings);
  const catalog = read.rows;
  const rowsByArchive = new Map<string, CatalogRow[]>();
  for (const { row } of catalog) {
    const list = rowsByArchive.get(row.archive_key) ?? [];
    list.push(row);
    rowsByArchive.set(row.archive_key, list);
  }
  let members = 0;
  let bytes = 0;
  let done = 0;
  const random = opts.random ?? Math.random;
  const limit = pLimit(opts.concurrency ?? 2);

  const checkArchive = async (key: string): Promise<void> => {
    const name = key.slice(key.lastIndexOf('/') + 1);
    const reader = new ArchiveReader(new S3RangeReader(opts.store, opts.bucket, key), name);
    let manifest: Manifest;
    try {
      manifest = (await reader.readIndex()).manifest;
    } catch (err) {
      findings.push({ ...corruptFinding(key, err), kind: 'archive-unreadable' });
      return;
    }
    if (opts.catalog) findings.push(...compareCatalog(key, manifest, rowsByArchive.get(key) ?? []));

    const ranged = async (relativeKeys: string[]): Promise<Finding[]> => {
      const out: Finding[] = [];
      for (const k of relativeKeys) {
        try {
          bytes += await drain(await reader.openMember(k));
          members++;
        } catch (err) {
          out.push(corruptFinding(key, err));
        }
      }
      return out;
    };

    if (opts.sample !== undefined) {
      const pool = manifest.objects.map((o) => o.relative_key);
      const picked: string[] = [];
      while (picked.length < opts.sample && pool.length > 0) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
      findings.push(...(await ranged(picked)));
      return;
    }
    let checked = 0;
    let checkedBytes = 0;
    try {
      const { body } = await opts.store.get(opts.bucket, key);
      for await (const entry of readArchiveStream(body, { manifest, archiveName: name })) {
        // Ranged restores seek by the manifest's offsets: a wrong one breaks every restore of the member.
        const want = entry.expected;
        if (want && (want.offset !== entry.offset || want.header_offset !== entry.headerOffset)) {
          findings.push({
            kind: 'member-corrupt',
            archive: key,
            member: entry.name,
            check: 'offset',
            detail: `manifest says header_offset ${want.header_offset}, offset ${want.offset}; the member is at header_offset ${entry.headerOffset}, offset ${entry.offset}`,
          });
        }
        checkedBytes += await drain(entry.body);
        checked++;
      }
      members += checked;
      bytes += checkedBytes;
    } catch (err) {
      // A sequential read stops at the first damage: find every damaged member by ranged reads.
      const each = await ranged(manifest.objects.map((o) => o.relative_key));
      findings.push(...(each.length > 0 ? each : [corruptFinding(key, err)]));
    }
  };

  await Promise.all(
    keys.map((k) =>
      limit(async () => {
        await checkArchive(k.key);
        done++;
        opts.onProgress?.({ archivesDone: done, archivesTotal: keys.length, bytes });
      }),
    ),
  );
  if (opts.catalog) {
    const present = new Set(keys.map((k) => k.key));
    for (const [archive, rows] of rowsByArchive) {
      if (!present.has(archive)) findings.push({ kind: 'catalog-archive-missing', archive, detail: `${rows.length} catalog row(s) point at an archive that does not exist in s3://${opts.bucket}` });
    }
  }
  findings.sort((a, b) => a.archive.localeCompare(b.archive) || (a.member ?? '').localeCompare(b.member ?? '') || a.kind.localeCompare(b.kind));
  return {
    bucket: opts.bucket,
    prefix,
    mode: opts.sample !== undefined ? 'sample' : 'full',
    startedAt,
    finishedAt: new Date().toISOString(),
    archives: keys.length,
    membersChecked: members,
    bytesChecked: bytes,
    catalogRows: catalog.length,
    catalogChecked: opts.catalog !== undefined,
    findings,
    ok: findings.length === 0,
  };
}
