/** The catalog SQL behind `xregion restore --object-path/--user/--prefix/--query`. */
import { likePrefix, sqlString } from '../catalog';

/** Columns a restore reads from the catalog. */
export const RESTORE_COLUMNS = ['object_path', 'source_bucket', 'backup_file', 'archive_key', 'source_prefix', 'backup_timestamp', 'backup_region', 'target_buckets', 'object_size', 'sha256', 'member_offset', 'member_size', 'content_type', 'creation_time'] as const;

/** What to select: exactly one of the fields (date only with user). */
export interface CatalogSelection {
  objectPath?: string;
  user?: string;
  /** YYYY-MM-DD: only rows backed up that day. */
  date?: string;
  prefix?: string;
  /** User SQL returning at least object_path and backup_file. */
  query?: string;
}

/** SQL over `catalog_table_name` returning RESTORE_COLUMNS for the selection. */
export function selectionSql(sel: CatalogSelection): string {
  const cols = RESTORE_COLUMNS.join(', ');
  if (sel.query !== undefined) {
    const inner = sel.query.trim().replace(/;\s*$/, '');
    const c = RESTORE_COLUMNS.map((k) => `c.${k}`).join(', ');
    return `SELECT ${c} FROM catalog_table_name c JOIN (${inner}) q ON c.object_path = q.object_path AND c.backup_file = q.backup_file`;
  }
  const where: string[] = [];
  if (sel.objectPath !== undefined) where.push(`object_path = ${sqlString(sel.objectPath)}`);
  if (sel.user !== undefined) where.push(`drive_user = ${sqlString(sel.user)}`);
  if (sel.date !== undefined) where.push(`backup_date = ${sqlString(sel.date)}`);
  if (sel.prefix !== undefined) where.push(`object_path LIKE ${likePrefix(sel.prefix)}`);
  return `SELECT ${cols} FROM catalog_table_name${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
}
