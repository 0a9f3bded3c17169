/**
 * Shared by the pipeline tests: the objects every end-to-end run puts in the source bucket, the
 * test config, and one routine that checks, for any pair of stores, that every object arrived
 * intact in the normal destination, the backup holds archives with matching manifests, and the
 * catalog rows agree with those manifests.
 */
import { ArchiveReader, type Manifest } from '../../shared/archive';
import { parseConfig, type Config } from '../../shared/config';
import type { CatalogRow } from '../../shared/catalog';
import { S3RangeReader, type ObjectStore } from '../../shared/storage';
import { hashStream, patternSha256, patternStream, readAll } from '../helpers/bytes';

export const PREFIX = 'data/';
export const MiB = 1024 * 1024;

export interface TestObject {
  key: string;
  seed: number;
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

/** Names with spaces, `+`, `%`, unicode; an empty object; one above the 5 MiB multipart threshold. */
export const TEST_OBJECTS: TestObject[] = [
  { key: `${PREFIX}reports/q1 report.csv`, seed: 1, size: 5_000, contentType: 'text/csv', metadata: { department: 'finance' }, tags: { classification: 'internal' } },
  { key: `${PREFIX}a+b/c%20d 100%.txt`, seed: 2, size: 1_234, contentType: 'text/plain', metadata: {}, tags: {} },
  { key: `${PREFIX}unicode/café/日本語 ✓.txt`, seed: 3, size: 777, contentType: 'text/plain; charset=utf-8', metadata: { owner: 'chloe' }, tags: { 'project name': 'x y' } },
  { key: `${PREFIX}empty.txt`, seed: 4, size: 0, contentType: 'text/plain', metadata: {}, tags: {} },
  { key: `${PREFIX}big/large.bin`, seed: 5, size: 6 * MiB + 17, contentType: 'application/octet-stream', metadata: { kind: 'blob' }, tags: {} },
  ...Array.from({ length: 20 }, (_, i) => ({ key: `${PREFIX}many/file-${i}.json`, seed: 100 + i, size: 100 + i * 311, contentType: 'application/json', metadata: {}, tags: {} })),
];

export const SOURCE = { region: 'us-west-2', bucket: 'src-bucket' } as const;
export const BACKUP = { region: 'eu-central-1', bucket: 'dst-backup' } as const;
export const NORMAL = { region: 'ca-central-1', bucket: 'dst-normal' } as const;

/** One rule, one backup and one normal destination, batches small enough to split the set. */
export function testConfig(overrides: { maxObjects?: number } = {}): Config {
  return parseConfig({
    stack_name: 'xrtest',
    replication_configuration: [
      {
        source: { ...SOURCE, prefix_filter: PREFIX, batch: { max_objects: overrides.maxObjects ?? 1000, max_wait_seconds: 1 }, compression: { frame_target_bytes: 65536 } },
        destinations: [
          { ...BACKUP, backup: true, storage_class: 'STANDARD' },
          { ...NORMAL, storage_class: 'STANDARD_IA' },
        ],
      },
    ],
  }).config;
}

/** Puts every test object into the source bucket. */
export async function putTestObjects(store: ObjectStore, bucket: string, objects = TEST_OBJECTS): Promise<void> {
  for (const o of objects) {
    await store.put(bucket, o.key, patternStream(o.seed, o.size), { contentType: o.contentType, metadata: o.metadata, tags: o.tags, size: o.size, multipartThreshold: 5 * MiB });
  }
}

interface Where {
  store: ObjectStore;
  bucket: string;
}

/** Every archive (with its manifest) in the backup bucket. */
export async function backupManifests(backup: Where): Promise<{ key: string; manifest: Manifest }[]> {
  const out: { key: string; manifest: Manifest }[] = [];
  for await (const o of backup.store.list(backup.bucket, PREFIX)) {
    if (!o.key.endsWith('.tar.zst')) continue;
    const { manifest } = await new ArchiveReader(new S3RangeReader(backup.store, backup.bucket, o.key)).readIndex();
    out.push({ key: o.key, manifest });
  }
  return out;
}

/** Every catalog row in the catalog bucket. */
export async function catalogRowsIn(catalog: Where): Promise<CatalogRow[]> {
  const rows: CatalogRow[] = [];
  for await (const o of catalog.store.list(catalog.bucket)) {
    if (!o.key.endsWith('.jsonl')) continue;
    const { body } = await catalog.store.get(catalog.bucket, o.key);
    const text = (await readAll(body)).toString('utf8');
    for (const line of text.split('\n').filter(Boolean)) rows.push(JSON.parse(line) as CatalogRow);
  }
  return rows;
}

/** Asserts the whole delivery: normal objects byte-identical with metadata; archives and catalog consistent. */
export async function assertDelivered(ctx: { normal: Where; backup: Where; catalog: Where; objects?: TestObject[] }): Promise<void> {
  const objects = ctx.objects ?? TEST_OBJECTS;
  for (const o of objects) {
    const info = await ctx.normal.store.head(ctx.normal.bucket, o.key, { withTags: true });
    const { body } = await ctx.normal.store.get(ctx.normal.bucket, o.key);
    const got = await hashStream(body);
    expect({ key: o.key, sha256: got.sha256, size: got.size }).toEqual({ key: o.key, sha256: patternSha256(o.seed, o.size), size: o.size });
    expect(info.contentType).toBe(o.contentType);
    expect(info.metadata).toEqual(expect.objectContaining(o.metadata));
    expect(info.tags ?? {}).toEqual(o.tags);
    expect(info.storageClass ?? 'STANDARD').toBe('STANDARD_IA');
  }

  const archives = await backupManifests(ctx.backup);
  expect(archives.length).toBeGreaterThan(0);
  const archived = archives.flatMap((a) => a.manifest.objects.map((m) => m.key));
  expect(new Set(archived)).toEqual(new Set(objects.map((o) => o.key)));
  for (const a of archives) {
    for (const m of a.manifest.objects) {
      const o = objects.find((x) => x.key === m.key)!;
      expect(m.sha256).toBe(patternSha256(o.seed, o.size));
      expect(m.relative_key).toBe(m.key.slice(PREFIX.length));
    }
  }

  const rows = await catalogRowsIn(ctx.catalog);
  const expected = archives.flatMap((a) =>
    a.manifest.objects.map((m) => ({ backup_file: a.manifest.archive, object_path: m.key, sha256: m.sha256, object_size: m.size, member_offset: m.offset, archive_key: a.key })),
  );
  const actual = rows.map((r) => ({ backup_file: r.backup_file, object_path: r.object_path, sha256: r.sha256, object_size: r.object_size, member_offset: r.member_offset, archive_key: r.archive_key }));
  expect(actual.sort(byPathAndFile)).toEqual(expected.sort(byPathAndFile));
  for (const r of rows) {
    expect(r.object_name).toBe(r.object_path.slice(r.object_path.lastIndexOf('/') + 1));
    expect(r.target_buckets).toEqual([BACKUP.bucket, NORMAL.bucket]);
    expect(r.backup_date).toBe(r.backup_timestamp.slice(0, 10));
  }
}

const byPathAndFile = (a: { object_path: string; backup_file: string }, b: { object_path: string; backup_file: string }) =>
  a.object_path.localeCompare(b.object_path) || a.backup_file.localeCompare(b.backup_file);
