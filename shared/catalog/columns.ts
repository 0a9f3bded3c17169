/**
 * The catalog's columns: one JSONL row per archived object per backup destination.
 * The router writes rows with these names; the CDK Glue table declares the same columns and
 * types; DuckDB reads the same files locally. The product guide's columns come first.
 */
export interface CatalogColumn {
  name: string;
  /** Hive/Glue type. */
  type: 'string' | 'bigint' | 'array<string>';
  comment: string;
}

export const CATALOG_COLUMNS: readonly CatalogColumn[] = [
  { name: 'backup_file', type: 'string', comment: 'archive file name, e.g. backup_1753329108085_3f9a.tar.zst' },
  { name: 'backup_timestamp', type: 'string', comment: 'when the archive was created (ISO-8601 UTC)' },
  { name: 'backup_date', type: 'string', comment: 'archive creation date, YYYY-MM-DD (UTC)' },
  { name: 'source_bucket', type: 'string', comment: 'bucket the object was read from' },
  { name: 'source_prefix', type: 'string', comment: 'the rule prefix_filter' },
  { name: 'object_name', type: 'string', comment: 'last path segment of the key' },
  { name: 'object_path', type: 'string', comment: 'full source key' },
  { name: 'object_size', type: 'bigint', comment: 'object size in bytes' },
  { name: 'creation_time', type: 'string', comment: 'object LastModified (ISO-8601 UTC)' },
  { name: 'creation_date', type: 'string', comment: 'object LastModified date, YYYY-MM-DD' },
  { name: 'target_buckets', type: 'array<string>', comment: 'every destination bucket of the rule' },
  { name: 'backup_region', type: 'string', comment: 'region of this backup destination' },
  { name: 'archive_key', type: 'string', comment: 'key of the archive in the backup bucket' },
  { name: 'sha256', type: 'string', comment: 'sha256 of the object content (hex)' },
  { name: 'etag', type: 'string', comment: 'source ETag' },
  { name: 'version_id', type: 'string', comment: 'source version id, if versioned' },
  { name: 'content_type', type: 'string', comment: 'Content-Type' },
  { name: 'storage_class', type: 'string', comment: 'storage class of the source object' },
  { name: 'member_offset', type: 'bigint', comment: 'uncompressed offset of the member data in the tar stream' },
  { name: 'member_size', type: 'bigint', comment: 'member data size in bytes' },
  { name: 'drive_user', type: 'string', comment: 'Google Drive user the file was backed up for' },
  { name: 'drive_file_id', type: 'string', comment: 'Drive file id' },
  { name: 'drive_owner', type: 'string', comment: 'Drive owner e-mail' },
  { name: 'drive_path', type: 'string', comment: 'path in the user\'s Drive' },
  { name: 'drive_mime_type', type: 'string', comment: 'Drive MIME type' },
  { name: 'drive_modified_time', type: 'string', comment: 'Drive modifiedTime (ISO-8601)' },
];

/** Partition columns, strings as in Athena: WHERE year = '2025'. */
export const CATALOG_PARTITION_KEYS = ['year', 'month', 'day'] as const;

/** One catalog row as written to JSONL. */
export interface CatalogRow {
  backup_file: string;
  backup_timestamp: string;
  backup_date: string;
  source_bucket: string;
  source_prefix: string;
  object_name: string;
  object_path: string;
  object_size: number;
  creation_time: string;
  creation_date: string;
  target_buckets: string[];
  backup_region: string;
  archive_key: string;
  sha256: string;
  etag: string | null;
  version_id: string | null;
  content_type: string | null;
  storage_class: string | null;
  member_offset: number;
  member_size: number;
  drive_user: string | null;
  drive_file_id: string | null;
  drive_owner: string | null;
  drive_path: string | null;
  drive_mime_type: string | null;
  drive_modified_time: string | null;
}

/**
 * Folder of a rule's catalog files, always ending in `/`: `{source_bucket}/{source_prefix}/`.
 * The router's keys, the Glue table location and the local DuckDB views all use it, so a prefix
 * without a trailing slash (`logs`) still gives `logs/year=…` partitions, never `logsyear=…`.
 */
export function catalogBase(sourceBucket: string, sourcePrefix: string): string {
  return `${sourceBucket}/${sourcePrefix}/`.replace(/\/{2,}/g, '/');
}

/** Catalog object key: `{catalogBase}year=YYYY/month=MM/day=DD/{archive}.jsonl`. */
export function catalogKey(sourceBucket: string, sourcePrefix: string, archiveCreated: Date, archiveName: string): string {
  const iso = archiveCreated.toISOString();
  const [y, m, d] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  return `${catalogBase(sourceBucket, sourcePrefix)}year=${y}/month=${m}/day=${d}/${archiveName}.jsonl`;
}
