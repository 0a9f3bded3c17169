/**
 * CatalogQuery over local JSONL partitions with DuckDB. Each table is a view over
 * `<dir>/**\/*.jsonl` with hive partitions year/month/day as VARCHAR (as in Athena) and the
 * columns of CATALOG_COLUMNS given explicitly, so an empty or partial catalog still has every
 * column with its type.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { CatalogQueryError, sqlString, type CatalogQuery, type QueryResult } from '../CatalogQuery';
import { CATALOG_COLUMNS, CATALOG_PARTITION_KEYS, type CatalogColumn } from '../columns';
import { GUIDE_TABLE_NAME } from '../names';

/** One view: a name and the folder holding its `year=/month=/day=` partitions. */
export interface DuckDbTable {
  name: string;
  dir: string;
}

export interface DuckDbCatalogQueryOptions {
  tables: readonly DuckDbTable[];
  /**
   * Also expose `catalog_table_name`: over this table's folder, or (default) over every table's
   * rows, so the guide's queries run unchanged.
   */
  guideTable?: string;
}

const DUCK_TYPES: Record<CatalogColumn['type'], string> = { string: 'VARCHAR', bigint: 'BIGINT', 'array<string>': 'VARCHAR[]' };
const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;
const COLUMN_LIST = [...CATALOG_COLUMNS.map((c) => c.name), ...CATALOG_PARTITION_KEYS].map(quoteIdent).join(', ');

function hasJsonl(dir: string): boolean {
  if (!existsSync(dir)) return false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.jsonl')) return true;
    if (e.isDirectory() && hasJsonl(join(dir, e.name))) return true;
  }
  return false;
}

/** The SELECT behind one table: the files when there are any, else an empty relation of the same shape. */
export function catalogSelect(dir: string): string {
  if (!hasJsonl(dir)) {
    const cols = [
      ...CATALOG_COLUMNS.map((c) => `CAST(NULL AS ${DUCK_TYPES[c.type]}) AS ${quoteIdent(c.name)}`),
      ...CATALOG_PARTITION_KEYS.map((k) => `CAST(NULL AS VARCHAR) AS ${quoteIdent(k)}`),
    ];
    return `SELECT ${cols.join(', ')} WHERE false`;
  }
  const columns = CATALOG_COLUMNS.map((c) => `${quoteIdent(c.name)}: '${DUCK_TYPES[c.type]}'`).join(', ');
  const hiveTypes = CATALOG_PARTITION_KEYS.map((k) => `'${k}': VARCHAR`).join(', ');
  const glob = sqlString(join(dir, '**', '*.jsonl'));
  return `SELECT ${COLUMN_LIST} FROM read_json_auto(${glob}, format = 'newline_delimited', hive_partitioning = true, hive_types = {${hiveTypes}}, columns = {${columns}})`;
}

/** Plain JS values: BIGINT/HUGEINT as numbers when exact, lists as arrays. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) return String(v);
  return v;
}

/** DuckDB over local catalog folders. Create with `DuckDbCatalogQuery.open()`. */
export class DuckDbCatalogQuery implements CatalogQuery {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
  ) {}

  /** An in-memory database with one view per table plus `catalog_table_name`. */
  static async open(opts: DuckDbCatalogQueryOptions): Promise<DuckDbCatalogQuery> {
    // Loaded here, not at import: the 70 MB native module is for catalog queries only, and the
    // catalog barrel is imported by the router, verify and reconcile, which never query.
    const { DuckDBInstance: Instance } = require('@duckdb/node-api') as typeof import('@duckdb/node-api');
    const instance = await Instance.create(':memory:');
    const conn = await instance.connect();
    const q = new DuckDbCatalogQuery(instance, conn);
    const selects = opts.tables.map((t) => ({ name: t.name, sql: catalogSelect(t.dir) }));
    const guide = opts.guideTable !== undefined ? selects.find((s) => s.name === opts.guideTable) : undefined;
    if (opts.guideTable !== undefined && !guide) throw new CatalogQueryError(`no catalog table ${opts.guideTable}`, '');
    const all = guide ? [guide.sql] : selects.length > 0 ? selects.map((s) => s.sql) : [catalogSelect('/nonexistent')];
    try {
      for (const s of selects) if (s.name !== GUIDE_TABLE_NAME) await conn.run(`CREATE VIEW ${quoteIdent(s.name)} AS ${s.sql}`);
      await conn.run(`CREATE VIEW ${GUIDE_TABLE_NAME} AS ${all.join(' UNION ALL ')}`);
    } catch (err) {
      await q.close();
      throw new CatalogQueryError(`catalog views: ${(err as Error).message}`, '', { cause: err });
    }
    return q;
  }

  async query(sql: string): Promise<QueryResult> {
    let reader;
    try {
      reader = await this.conn.runAndReadAll(sql);
    } catch (err) {
      throw new CatalogQueryError(`query failed: ${(err as Error).message}`, sql, { cause: err });
    }
    const columns = reader.columnNames();
    const rows = reader.getRowObjectsJS().map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c] = plain(r[c]);
      return out;
    });
    return { columns, rows };
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.instance.closeSync();
  }
}
