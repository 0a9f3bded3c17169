/** Builds catalog rows (one per archived object) from an archive manifest, and their JSONL text. */
import type { CatalogRow } from './columns';

/** The manifest fields the catalog needs (structurally a subset of the archive Manifest). */
export interface ManifestForCatalog {
  archive: string;
  created: string;
  source: { bucket: string; prefix: string };
  objects: readonly {
    key: string;
    size: number;
    sha256: string;
    etag?: string;
    version_id?: string;
    last_modified?: string;
    content_type?: string;
    storage_class?: string;
    metadata: Record<string, string>;
    offset: number;
  }[];
}

export interface CatalogContext {
  /** Region of the backup destination the rows describe. */
  backupRegion: string;
  /** Key of the archive in the backup bucket. */
  archiveKey: string;
  /** Every destination bucket of the rule. */
  targetBuckets: readonly string[];
}

const dateOf = (iso: string) => iso.slice(0, 10);

/** Drive metadata values are percent-encoded by drive-ingest (S3 metadata is ASCII); decode for humans. */
function driveValue(metadata: Record<string, string>, name: string): string | null {
  const v = metadata[name];
  if (v === undefined) return null;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** One row per archived object, columns in CATALOG_COLUMNS order. */
export function catalogRows(manifest: ManifestForCatalog, ctx: CatalogContext): CatalogRow[] {
  return manifest.objects.map((o) => {
    const created = o.last_modified ?? manifest.created;
    return {
      backup_file: manifest.archive,
      backup_timestamp: manifest.created,
      backup_date: dateOf(manifest.created),
      source_bucket: manifest.source.bucket,
      source_prefix: manifest.source.prefix,
      object_name: o.key.slice(o.key.lastIndexOf('/') + 1),
      object_path: o.key,
      object_size: o.size,
      creation_time: created,
      creation_date: dateOf(created),
      target_buckets: [...ctx.targetBuckets],
      backup_region: ctx.backupRegion,
      archive_key: ctx.archiveKey,
      sha256: o.sha256,
      etag: o.etag ?? null,
      version_id: o.version_id ?? null,
      content_type: o.content_type ?? null,
      storage_class: o.storage_class ?? null,
      member_offset: o.offset,
      member_size: o.size,
      drive_user: driveValue(o.metadata, 'drive-user'),
      drive_file_id: driveValue(o.metadata, 'drive-file-id'),
      drive_owner: driveValue(o.metadata, 'drive-owner'),
      drive_path: driveValue(o.metadata, 'drive-path'),
      drive_mime_type: driveValue(o.metadata, 'drive-mime-type'),
      drive_modified_time: driveValue(o.metadata, 'drive-modified-time'),
    };
  });
}

/** JSON Lines: one compact object per line, newline-terminated. */
export function toJsonl(rows: readonly CatalogRow[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
}
