/**
 * The CatalogQuery port: SQL over the catalog. Athena on AWS, DuckDB over the same JSONL
 * partitions locally. Both answer with column names and rows of plain JS values (strings,
 * numbers, arrays, null); 64-bit integers become numbers when safe, decimal strings otherwise.
 */

/** A query's answer, columns in SELECT order. */
export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** SQL over the catalog. The guide's table name `catalog_table_name` always works. */
export interface CatalogQuery {
  /** Runs one statement and returns every row (paging as needed). */
  query(sql: string): Promise<QueryResult>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A SQL string literal ('' doubles quotes). */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A LIKE pattern matching `prefix` literally at the start (escape char `\`). */
export function likePrefix(prefix: string): string {
  return `${sqlString(prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%')} ESCAPE '\\'`;
}

/** Errors of the catalog query adapters: the engine's message, the SQL, and the cause. */
export class CatalogQueryError extends Error {
  constructor(
    message: string,
    readonly sql: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CatalogQueryError';
  }
}
