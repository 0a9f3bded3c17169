/**
 * Restore, verify and Athena catalog queries against moto over HTTP: archives and catalog rows
 * produced by the local pipeline are uploaded to moto buckets, then read back with ranged GETs.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AthenaCatalogQuery } from '../../shared/catalog';
import { DirectoryTarget, RESTORE_COLUMNS, runRestore, selectionSql } from '../../shared/restore';
import type { S3ObjectStore } from '../../shared/storage';
import { verifyBackup } from '../../shared/verify';
import { patternSha256, readAll } from '../helpers/bytes';
import { FAKE_CREDENTIALS, useMoto } from '../helpers/moto';
import { BACKUP, buildCatalogFixture, cli, type CatalogFixture } from './catalogFixture';

const moto = useMoto();
let f: CatalogFixture;
let s3: S3ObjectStore;
const CATALOG = 'moto-catalog';

beforeAll(async () => {
  f = await buildCatalogFixture();
  const server = moto();
  await server.reset();
  s3 = server.s3Store();
  await server.createBucket(BACKUP.bucket, { versioned: false });
  await server.createBucket(CATALOG, { versioned: false });
  for (const [from, to] of [[BACKUP.bucket, BACKUP.bucket], [f.catalogBucket, CATALOG]] as const) {
    for await (const o of f.backupStore.list(from)) {
      const { body, info } = await f.backupStore.get(from, o.key);
      await s3.put(to, o.key, await readAll(body), { contentType: info.contentType ?? 'application/octet-stream' });
    }
  }
  process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey;
}, 90_000);
afterAll(() => f?.cleanup());

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Queues moto's answer to the next Athena query in `region`: typed columns, then the rows as
 * Athena's text. Athena (and moto) repeat the labels as the first row of a SELECT.
 */
async function cannedAthenaResult(region: string, columns: [name: string, type: string][], rows: string[][]): Promise<void> {
  const col = ([Name, Type]: [string, string]) => ({ CatalogName: 'hive', SchemaName: 'db', TableName: 't', Name, Label: Name, Type, Precision: 0, Scale: 0, Nullable: 'UNKNOWN', CaseSensitive: false });
  const row = (values: string[]) => ({ Data: values.map((x) => ({ VarCharValue: x })) });
  const res = await fetch(`${moto().endpoint}/moto-api/static/athena/query-results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ region, results: [{ rows: [row(columns.map(([name]) => name)), ...rows.map(row)], column_info: columns.map(col) }] }),
  });
  expect(res.status).toBe(201);
}

describe('Function: runRestore (S3 on moto)', () => {
  it('restores one member with ranged GETs of its frames only', async () => {
    const a = f.manifests.find((m) => m.manifest.created.startsWith('2025-01-20'))!;
    const dir = mkdtempSync(join(tmpdir(), 'xregion-moto-'));
    const s = await runRestore([{ kind: 'archive', bucket: BACKUP.bucket, key: a.key, members: [{ relativeKey: 'bob@acme.com/notes.txt', path: 'notes.txt' }] }], { storeFor: () => s3, target: new DirectoryTarget(dir) });
    expect(s).toMatchObject({ restored: 1, failed: 0 });
    expect(s.bytesRead).toBeLessThan(s.archiveBytes / 2);
    expect(sha(join(dir, 'notes.txt'))).toBe(patternSha256(13, 700));
  });
});

describe('Command: xregion restore --endpoint (catalog rows from an S3 catalog bucket)', () => {
  it('restores a user on a date through the S3 catalog and ranged reads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xregion-moto-'));
    const r = await cli(['restore', '--user', 'ana@acme.com', '--to', dir, '--endpoint', moto().endpoint, '--catalog', `s3://${CATALOG}`, '--config', f.configFile, '--data-dir', f.dataDir]);
    if (r.code !== 0) throw new Error(r.stderr);
    expect(readdirSync(join(dir, 'ana@acme.com')).sort()).toEqual(['Finance', 'important-document.pdf']);
    expect(sha(join(dir, 'ana@acme.com/important-document.pdf'))).toBe(patternSha256(22, 3_500));
  });
});

describe('Command: xregion restore --from (S3 on moto)', () => {
  it('skips zero-byte folder markers and says so', async () => {
    // Prepare: a console-made bucket: one file and two folder markers
    const server = moto();
    await server.createBucket('moto-normal', { versioned: false });
    await s3.put('moto-normal', 'gdrive/', Buffer.alloc(0));
    await s3.put('moto-normal', 'gdrive/ana/', Buffer.alloc(0));
    await s3.put('moto-normal', 'gdrive/ana/a.txt', Buffer.from('hello'), { metadata: { 'xregion-sha256': createHash('sha256').update('hello').digest('hex') } });
    const dir = mkdtempSync(join(tmpdir(), 'xregion-moto-'));
    // Act
    const r = await cli(['restore', '--from', 's3://moto-normal/gdrive', '--to', dir, '--endpoint', server.endpoint, '--config', f.configFile, '--data-dir', f.dataDir, '--region', server.region]);
    // Assess
    if (r.code !== 0) throw new Error(r.stderr);
    expect(readdirSync(dir)).toEqual(['ana']);
    expect(readdirSync(join(dir, 'ana'))).toEqual(['a.txt']);
    expect(r.stderr).toContain("skipped 2 folder marker(s) (zero-byte keys ending in '/')");
  });
});

describe('Function: verifyBackup (S3 on moto)', () => {
  it('finds a corrupted member and a missing catalog row', async () => {
    // Prepare: a damaged copy of one archive (one byte flipped mid-archive) without catalog rows
    const a = f.manifests[0]!;
    const bytes = await readAll((await s3.get(BACKUP.bucket, a.key)).body);
    const copy = a.key.replace('.tar.zst', '_copy.tar.zst');
    bytes[Math.floor(bytes.length / 3)] ^= 0xff;
    await s3.put(BACKUP.bucket, copy, bytes);
    try {
      // Act
      const r = await verifyBackup({ store: s3, bucket: BACKUP.bucket, catalog: { store: s3, bucket: CATALOG } });
      // Assess
      const onCopy = r.findings.filter((x) => x.archive === copy);
      expect(onCopy.some((x) => x.kind === 'member-corrupt' && x.member?.startsWith('objects/') && ['zstd', 'sha256'].includes(x.check ?? ''))).toBe(true);
      expect(onCopy.filter((x) => x.kind === 'catalog-row-missing')).toHaveLength(a.manifest.objects.length);
      expect(r.findings.filter((x) => x.archive !== copy)).toEqual([]);
    } finally {
      await s3.delete(BACKUP.bucket, copy);
    }
  });
});

describe('Command: xregion restore --athena (moto)', () => {
  it('restores a user through catalog rows from Athena and ranged reads from S3', async () => {
    // Prepare: Athena answers with some of the rows the catalog holds for ana (the local catalog's
    // own answer to the restore's query, typed as the Glue table types them): only her PDF, so
    // what is restored shows the rows came from Athena
    const local = await cli(['catalog', 'query', selectionSql({ user: 'ana@acme.com' }), '--json', '--config', f.configFile, '--data-dir', f.dataDir]);
    if (local.code !== 0) throw new Error(local.stderr);
    const all = JSON.parse(local.stdout) as Record<string, unknown>[];
    const rows = all.filter((r) => String(r.object_path).endsWith('important-document.pdf'));
    const types: Record<string, string> = { object_size: 'bigint', member_offset: 'bigint', member_size: 'bigint', target_buckets: 'array' };
    const text = (v: unknown): string => (Array.isArray(v) ? `[${v.join(', ')}]` : String(v ?? ''));
    await cannedAthenaResult(
      BACKUP.region,
      RESTORE_COLUMNS.map((c) => [c, types[c] ?? 'varchar']),
      rows.map((r) => RESTORE_COLUMNS.map((c) => text(r[c]))),
    );
    const dir = mkdtempSync(join(tmpdir(), 'xregion-moto-'));

    // Act
    const r = await cli(['restore', '--user', 'ana@acme.com', '--to', dir, '--athena', '--workgroup', 'primary', '--endpoint', moto().endpoint, '--config', f.configFile, '--data-dir', f.dataDir]);

    // Assess
    if (r.code !== 0) throw new Error(r.stderr);
    expect(all.length).toBeGreaterThan(rows.length);
    expect(readdirSync(join(dir, 'ana@acme.com'))).toEqual(['important-document.pdf']);
    expect(sha(join(dir, 'ana@acme.com/important-document.pdf'))).toBe(patternSha256(22, 3_500));
  });
});

describe('Class: AthenaCatalogQuery (moto)', () => {
  it('starts the query with the guide table substituted, polls until done and converts typed columns', async () => {
    // Prepare
    const server = moto();
    await cannedAthenaResult(server.region, [['backup_date', 'varchar'], ['file_count', 'bigint']], [['2025-01-23', '2'], ['2025-01-20', '12']]);
    const q = new AthenaCatalogQuery({ ...server.connection(), workGroup: 'primary', database: 'xrtest_catalog', table: 'src_bucket_data', pollMs: 10 });
    try {
      // Act
      const r = await q.query("SELECT backup_date, COUNT(*) as file_count FROM catalog_table_name WHERE object_name = 'catalog_table_name' GROUP BY backup_date");
      // Assess
      expect(r).toEqual({ columns: ['backup_date', 'file_count'], rows: [{ backup_date: '2025-01-23', file_count: 2 }, { backup_date: '2025-01-20', file_count: 12 }] });
    } finally {
      await q.close();
    }
  });

  it('returns array<string> columns (Athena text `[a, b]`) as arrays', async () => {
    // Prepare
    const server = moto();
    await cannedAthenaResult(server.region, [['target_buckets', 'array']], [['[acme-backup-eu, acme-mirror-ca]'], ['[]']]);
    const q = new AthenaCatalogQuery({ ...server.connection(), workGroup: 'primary', pollMs: 10 });
    try {
      // Act
      const r = await q.query('SELECT target_buckets FROM t');
      // Assess
      expect(r.rows).toEqual([{ target_buckets: ['acme-backup-eu', 'acme-mirror-ca'] }, { target_buckets: [] }]);
    } finally {
      await q.close();
    }
  });
});
