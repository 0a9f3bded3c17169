/**
 * The catalog rows of one rule at one backup destination: the JSONL files under the rule's folder
 * of the region's catalog bucket (`{catalog}/{source_bucket}/{prefix}/year=…/…jsonl`), streamed
 * line by line, keeping per object path the (archive key, sha256, ETag) of each row whose
 * `target_buckets` names the destination. Memory: one small entry per row.
 */
import { createInterface } from 'node:readline';
import { catalogBase, type CatalogRow } from '../catalog';
import type { ReplicationRule } from '../config';
import { NoSuchBucketError, type ObjectStore } from '../storage';

export interface CatalogEntry {
  archiveKey: string;
  sha256: string;
  etag: string | null;
}

export class CatalogIndex {
  readonly rows = new Map<string, CatalogEntry[]>();
  count = 0;
  /** Lines that are not JSON objects (file and line number). */
  readonly unreadable: string[] = [];
  bucketExists = true;

  constructor(readonly bucket: string) {}

  /** Rows of one object path. */
  of(objectPath: string): readonly CatalogEntry[] {
    return this.rows.get(objectPath) ?? [];
  }

  /** True when a row names exactly this archive, object and sha256. */
  has(archiveKey: string, objectPath: string, sha256: string): boolean {
    return this.of(objectPath).some((r) => r.archiveKey === archiveKey && r.sha256 === sha256);
  }
}

export interface ReadCatalogIndexOptions {
  store: ObjectStore;
  /** The catalog bucket of the destination's region. */
  bucket: string;
  rule: ReplicationRule;
  /** The backup destination's bucket: only rows whose target_buckets include it count. */
  destinationBucket: string;
}

/** Streams every catalog file of the rule; a missing bucket gives an empty index with bucketExists false. */
export async function readCatalogIndex(opts: ReadCatalogIndexOptions): Promise<CatalogIndex> {
  const index = new CatalogIndex(opts.bucket);
  const { bucket: sourceBucket, prefix_filter: prefix } = opts.rule.source;
  try {
    for await (const o of opts.store.list(opts.bucket, catalogBase(sourceBucket, prefix))) {
      if (!o.key.endsWith('.jsonl')) continue;
      const { body } = await opts.store.get(opts.bucket, o.key);
      // readline decodes across chunk boundaries: a character split between chunks stays whole.
      const lines = createInterface({ input: body, crlfDelay: Infinity });
      let n = 0;
      for await (const line of lines) {
        n++;
        if (!line.trim()) continue;
        let row: Partial<CatalogRow>;
        try {
          row = JSON.parse(line) as Partial<CatalogRow>;
          if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new Error('not a JSON object');
        } catch {
          index.unreadable.push(`${o.key} line ${n}`);
          continue;
        }
        if (typeof row.object_path !== 'string' || typeof row.archive_key !== 'string' || typeof row.sha256 !== 'string') continue;
        if (row.source_bucket !== sourceBucket || !Array.isArray(row.target_buckets) || !row.target_buckets.includes(opts.destinationBucket)) continue;
        const entry: CatalogEntry = { archiveKey: row.archive_key, sha256: row.sha256, etag: typeof row.etag === 'string' ? row.etag : null };
        const list = index.rows.get(row.object_path);
        if (list) list.push(entry);
        else index.rows.set(row.object_path, [entry]);
        index.count++;
      }
    }
  } catch (err) {
    if (!(err instanceof NoSuchBucketError)) throw err;
    index.bucketExists = false;
  }
  return index;
}
