import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDbCatalogQuery, catalogTableName, substituteGuideTable, type CatalogQuery } from '../../shared/catalog';
import { archivedObjects, buildCatalogFixture, cli, PREFIX, SOURCE, type CatalogFixture } from '../restore/catalogFixture';

/** The guide's queries, split on blank-line-separated statements (comments dropped). */
const GUIDE = readFileSync(join(__dirname, '..', 'fixtures', 'guide-queries.sql'), 'utf8')
  .split(';')
  .map((s) => s.split('\n').filter((l) => !l.trim().startsWith('--')).join('\n').trim())
  .filter(Boolean);

let f: CatalogFixture;
let q: CatalogQuery;
const TABLE = catalogTableName(SOURCE.bucket, PREFIX);

beforeAll(async () => {
  f = await buildCatalogFixture();
  const root = join(f.dataDir, 'regions', 'eu-central-1', f.catalogBucket);
  q = await DuckDbCatalogQuery.open({ tables: [{ name: TABLE, dir: join(root, SOURCE.bucket, PREFIX) }] });
}, 60_000);
afterAll(async () => {
  await q?.close();
  f?.cleanup();
});

describe('Class: DuckDbCatalogQuery', () => {
  describe('Method: query (the product guide queries, unchanged)', () => {
    it('has six guide queries, each runs unchanged against the pipeline catalog', async () => {
      // Prepare
      expect(GUIDE).toHaveLength(6);
      // Act
      const results = await Promise.all(GUIDE.map((sql) => q.query(sql)));
      // Assess: no archive of ours is named like the guide's example, and nothing is above 100 MB
      expect(results[0]!.rows).toEqual([]);
      expect(results[5]!.rows).toEqual([]);
      expect(results[0]!.columns).toEqual(['object_name', 'object_size', 'creation_date']);
    });

    it('files in one backup: the archive manifest, ordered by name', async () => {
      // Prepare
      const objs = archivedObjects(f);
      const file = objs.find((o) => o.name === 'invoice-001.pdf')!.backupFile;
      // Act
      const r = await q.query(GUIDE[0]!.replace('backup_1753329108085.tar.zst', file));
      // Assess
      const want = objs.filter((o) => o.backupFile === file).map((o) => ({ object_name: o.name, object_size: o.size })).sort((a, b) => (a.object_name < b.object_name ? -1 : 1));
      expect(r.rows.map((x) => ({ object_name: x.object_name, object_size: x.object_size }))).toEqual(want);
      expect(r.rows.every((x) => /^\d{4}-\d{2}-\d{2}$/.test(String(x.creation_date)))).toBe(true);
    });

    it('name pattern: every invoice, newest backup first', async () => {
      const r = await q.query(GUIDE[1]!);
      expect(r.rows.map((x) => x.object_name)).toEqual(['invoice-002.pdf', 'invoice-001.pdf']);
      expect(r.rows.map((x) => x.backup_date)).toEqual(['2025-01-23', '2025-01-20']);
    });

    it('date range: year/month/day partitions as strings, days 20..25 only', async () => {
      const r = await q.query(GUIDE[2]!);
      const want = archivedObjects(f).filter((o) => o.created >= '2025-01-20' && o.created < '2025-01-26');
      expect(r.rows).toHaveLength(want.length);
      expect(new Set(r.rows.map((x) => x.object_name))).toEqual(new Set(want.map((o) => o.name)));
      expect(r.rows.map((x) => x.object_name)).not.toContain('late.txt');
      expect(r.rows.slice(0, 2).map((x) => x.backup_file)).toEqual(Array(2).fill(want.find((o) => o.created.startsWith('2025-01-23'))!.backupFile));
    });

    it('which backup holds a file: the newest one', async () => {
      const r = await q.query(GUIDE[3]!);
      expect(r.rows).toEqual([{ backup_file: archivedObjects(f).find((o) => o.name === 'important-document.pdf' && o.created.startsWith('2025-01-23'))!.backupFile, source_bucket: SOURCE.bucket, source_prefix: PREFIX, backup_date: '2025-01-23' }]);
    });

    it('statistics by date: counts, sums and distinct backups match the manifests', async () => {
      const r = await q.query(GUIDE[4]!);
      const jan = archivedObjects(f).filter((o) => o.created.startsWith('2025-01'));
      const dates = [...new Set(jan.map((o) => o.created.slice(0, 10)))].sort().reverse();
      expect(r.rows).toEqual(
        dates.map((d) => {
          const on = jan.filter((o) => o.created.startsWith(d));
          return { backup_date: d, file_count: on.length, total_size_bytes: on.reduce((n, o) => n + o.size, 0), backup_count: new Set(on.map((o) => o.backupFile)).size };
        }),
      );
    });

    it('large files: exactly the rows above the threshold, largest first (small-threshold variant)', async () => {
      const r = await q.query(GUIDE[5]!.replace('100000000', '100000'));
      const want = archivedObjects(f).filter((o) => o.size > 100_000).sort((a, b) => b.size - a.size);
      expect(r.rows.map((x) => [x.object_name, x.object_size])).toEqual(want.map((o) => [o.name, o.size]));
    });

    it('exposes the Glue table name too, and Drive columns decoded', async () => {
      const r = await q.query(`SELECT DISTINCT drive_user FROM ${TABLE} ORDER BY 1`);
      expect(r.rows.map((x) => x.drive_user)).toEqual(['ana@acme.com', 'bob@acme.com', 'carol@acme.com']);
    });
  });

  describe('Method: open', () => {
    it('an empty catalog still has every column with its type', async () => {
      const empty = await DuckDbCatalogQuery.open({ tables: [{ name: 't', dir: join(f.dataDir, 'nothing-here') }] });
      try {
        const r = await empty.query('SELECT backup_file, object_size, target_buckets, year FROM catalog_table_name WHERE object_size > 5');
        expect(r).toEqual({ columns: ['backup_file', 'object_size', 'target_buckets', 'year'], rows: [] });
        const guide = await Promise.all(GUIDE.map((sql) => empty.query(sql)));
        expect(guide.every((g) => g.rows.length === 0)).toBe(true);
      } finally {
        await empty.close();
      }
    });
  });
});

describe('Command: xregion catalog query', () => {
  it('prints JSON, CSV and a table from the embedded default', async () => {
    const base = ['catalog', 'query', '--config', f.configFile, '--data-dir', f.dataDir];
    const json = await cli([...base, "SELECT object_name FROM catalog_table_name WHERE object_name LIKE '%invoice%' ORDER BY 1", '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ object_name: 'invoice-001.pdf' }, { object_name: 'invoice-002.pdf' }]);
    const csv = await cli([...base, `SELECT object_name, object_size FROM ${TABLE} WHERE object_name = 'notes.txt'`, '--csv']);
    expect(csv.stdout).toBe('object_name,object_size\r\nnotes.txt,700\r\n');
    const table = await cli([...base, "SELECT COUNT(*) AS n FROM catalog_table_name WHERE year = '2025' AND month = '01'"]);
    expect(table.stdout).toMatch(/^n\s*\n-+\n\d+\n\(1 row\)\n$/);
    const bad = await cli([...base, 'SELECT nope FROM catalog_table_name']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/nope/);
  });
});

describe('Function: substituteGuideTable', () => {
  it('replaces the bare identifier, never inside string literals', () => {
    expect(substituteGuideTable("SELECT * FROM catalog_table_name WHERE object_name = 'catalog_table_name' AND x = 'it''s'", 'db_t')).toBe(
      "SELECT * FROM db_t WHERE object_name = 'catalog_table_name' AND x = 'it''s'",
    );
  });
});
