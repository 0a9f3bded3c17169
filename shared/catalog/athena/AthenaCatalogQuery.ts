/**
 * CatalogQuery on Athena: StartQueryExecution in a workgroup, poll GetQueryExecution with
 * exponential backoff until it leaves QUEUED/RUNNING, then page through GetQueryResults.
 * `catalog_table_name` in the SQL is replaced by the rule's table when one is given, so the
 * guide's queries run unchanged here too.
 */
import type { AthenaClient, ColumnInfo, Row } from '@aws-sdk/client-athena';
import { awsClientOptions, type AwsConnectionConfig } from '../../storage/s3/s3Client';
import { CatalogQueryError, type CatalogQuery, type QueryResult } from '../CatalogQuery';

export interface AthenaCatalogQueryOptions extends AwsConnectionConfig {
  workGroup: string;
  /** Glue database (default: the workgroup's / the query's own qualification). */
  database?: string;
  /** Table that `catalog_table_name` stands for. */
  table?: string;
  /** First poll delay in ms (doubles up to maxPollMs). */
  pollMs?: number;
  maxPollMs?: number;
  /** Give up after this long (default 10 minutes). */
  timeoutMs?: number;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint']);
const FLOAT_TYPES = new Set(['double', 'float', 'real', 'decimal']);

function convert(value: string | undefined, type: string | undefined): unknown {
  if (value === undefined) return null;
  const t = (type ?? '').toLowerCase();
  if (INTEGER_TYPES.has(t)) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value;
  }
  if (FLOAT_TYPES.has(t)) return Number(value);
  if (t === 'boolean') return value === 'true';
  if (t.startsWith('array')) return arrayOf(value);
  return value;
}

/**
 * Athena renders `array<string>` as `[a, b]` (not JSON). Catalog arrays hold bucket names, which
 * cannot contain commas, so splitting on ", " is exact.
 */
function arrayOf(value: string): string[] {
  const inner = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return inner.trim() === '' ? [] : inner.split(', ');
}

/** Replaces the bare identifier `catalog_table_name` (not inside quotes) with `table`. */
export function substituteGuideTable(sql: string, table: string): string {
  return sql.replace(/('(?:[^']|'')*')|\bcatalog_table_name\b/g, (m, quoted: string | undefined) => quoted ?? table);
}

export class AthenaCatalogQuery implements CatalogQuery {
  private readonly client: AthenaClient;
  // Loaded on first use, not at import (the catalog barrel is imported by services that never query).
  private readonly sdk = require('@aws-sdk/client-athena') as typeof import('@aws-sdk/client-athena');

  constructor(private readonly opts: AthenaCatalogQueryOptions) {
    this.client = new this.sdk.AthenaClient(awsClientOptions(opts));
  }

  async query(sql: string): Promise<QueryResult> {
    const text = this.opts.table ? substituteGuideTable(sql, this.opts.table) : sql;
    let id: string;
    try {
      const started = await this.client.send(
        new this.sdk.StartQueryExecutionCommand({
          QueryString: text,
          WorkGroup: this.opts.workGroup,
          ...(this.opts.database !== undefined && { QueryExecutionContext: { Database: this.opts.database } }),
        }),
      );
      id = started.QueryExecutionId as string;
    } catch (err) {
      throw new CatalogQueryError(`athena: ${(err as Error).message}`, text, { cause: err });
    }
    await this.waitFor(id, text);
    return this.results(id, text);
  }

  private async waitFor(id: string, sql: string): Promise<void> {
    let delay = this.opts.pollMs ?? 200;
    const deadline = Date.now() + (this.opts.timeoutMs ?? 600_000);
    for (;;) {
      const r = await this.client.send(new this.sdk.GetQueryExecutionCommand({ QueryExecutionId: id }));
      const status = r.QueryExecution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return;
      if (state === 'FAILED' || state === 'CANCELLED') {
        throw new CatalogQueryError(`athena query ${id} ${state}: ${status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? 'no reason given'}`, sql);
      }
      if (Date.now() > deadline) throw new CatalogQueryError(`athena query ${id} still ${state} after ${this.opts.timeoutMs ?? 600_000} ms`, sql);
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, this.opts.maxPollMs ?? 5_000);
    }
  }

  private async results(id: string, sql: string): Promise<QueryResult> {
    let info: ColumnInfo[] | undefined;
    const rows: Record<string, unknown>[] = [];
    let token: string | undefined;
    let first = true;
    do {
      const page = await this.client.send(new this.sdk.GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }));
      info ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      let data: Row[] = page.ResultSet?.Rows ?? [];
      // Athena repeats the column labels as the first row of a SELECT's first page.
      if (first && data.length > 0 && info.length > 0 && info.every((c, i) => data[0]!.Data?.[i]?.VarCharValue === (c.Label ?? c.Name))) data = data.slice(1);
      first = false;
      for (const r of data) {
        const row: Record<string, unknown> = {};
        info.forEach((c, i) => {
          row[c.Name ?? `_col${i}`] = convert(r.Data?.[i]?.VarCharValue, c.Type);
        });
        rows.push(row);
      }
      token = page.NextToken;
    } while (token);
    if (!info) throw new CatalogQueryError(`athena query ${id}: no result metadata`, sql);
    return { columns: info.map((c, i) => c.Name ?? `_col${i}`), rows };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
