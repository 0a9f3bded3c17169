/**
 * Turning catalog rows into restore requests: the newest version of each object (at or before
 * `--as-of`), grouped by archive so each archive is opened once.
 */
import { RestoreRequestError } from './errors';

/** The catalog columns a restore needs. */
export interface CatalogRowRef {
  object_path: string;
  /** Bucket the object was read from: the same key under two source buckets is two objects. */
  source_bucket?: string | null;
  backup_file: string;
  archive_key: string;
  source_prefix: string;
  backup_timestamp: string;
  backup_region: string;
  target_buckets: string[] | string;
  member_offset?: number | null;
  member_size?: number | null;
  sha256?: string | null;
  content_type?: string | null;
  creation_time?: string | null;
}

/** The catalog facts of a row, when it has them all. */
function knownOf(r: CatalogRowRef): KnownMemberInfo | undefined {
  if (typeof r.member_offset !== 'number' || typeof r.member_size !== 'number' || typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) return undefined;
  return {
    offset: r.member_offset,
    size: r.member_size,
    sha256: r.sha256,
    ...(r.content_type ? { contentType: r.content_type } : {}),
    ...(r.creation_time ? { lastModified: r.creation_time } : {}),
  };
}

/** One member of an archive to restore, and the path it gets under the target. */
export interface MemberRequest {
  /** Original object key (manifest `key`); or give `relativeKey`. */
  objectPath?: string;
  /** Key relative to the rule prefix (manifest `relative_key`, the member name without `objects/`). */
  relativeKey?: string;
  path: string;
  /** What the catalog row says about the member: lets a restore skip the manifest. */
  known?: KnownMemberInfo;
}

/** Catalog facts about a member (member_offset, member_size, sha256, content_type, creation_time). */
export interface KnownMemberInfo {
  offset: number;
  size: number;
  sha256: string;
  contentType?: string;
  lastModified?: string;
}

/** An archive in a backup bucket and the members wanted from it (`members` absent = all). */
export interface ArchiveRef {
  bucket: string;
  key: string;
  /** Region of the bucket (to pick the object store). */
  region?: string;
  versionId?: string;
}

export interface ArchiveRequest extends ArchiveRef {
  kind: 'archive';
  members?: MemberRequest[];
}

/** One plain object (a normal destination) to restore to `path`. */
export interface ObjectRequest {
  kind: 'object';
  bucket: string;
  key: string;
  region?: string;
  path: string;
}

export type RestoreRequest = ArchiveRequest | ObjectRequest;

/**
 * `--as-of` as an instant: a date (YYYY-MM-DD) means the end of that day (UTC), a timestamp is
 * taken as given.
 */
export function parseAsOf(text: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(text) ? new Date(`${text}T23:59:59.999Z`) : new Date(text);
  if (Number.isNaN(d.getTime())) throw new RestoreRequestError(`--as-of ${JSON.stringify(text)} is not a date (YYYY-MM-DD) or an ISO-8601 timestamp`);
  return d;
}

/**
 * The newest row of each object (source_bucket + object_path) whose backup_timestamp is at or before `asOf` (the version
 * the backups held at that moment); ties go to the later archive name.
 */
export function latestVersions<R extends CatalogRowRef>(rows: readonly R[], asOf?: Date): R[] {
  const best = new Map<string, R>();
  for (const r of rows) {
    const t = Date.parse(r.backup_timestamp);
    if (asOf && !(t <= asOf.getTime())) continue;
    const id = `${r.source_bucket ?? ''}\0${r.object_path}`;
    const cur = best.get(id);
    if (!cur) {
      best.set(id, r);
      continue;
    }
    const ct = Date.parse(cur.backup_timestamp);
    if (t > ct || (t === ct && r.backup_file > cur.backup_file)) best.set(id, r);
  }
  return [...best.values()];
}

/** Path of an object under the target: its key without the rule prefix. */
export function relativePath(objectPath: string, sourcePrefix: string): string {
  return sourcePrefix && objectPath.startsWith(sourcePrefix) ? objectPath.slice(sourcePrefix.length) : objectPath;
}

/**
 * Groups rows by archive. `locate` names the backup bucket (and region) holding a row's archive.
 */
export function archiveRequests<R extends CatalogRowRef>(rows: readonly R[], locate: (row: R) => { bucket: string; region?: string }): ArchiveRequest[] {
  const groups = new Map<string, ArchiveRequest>();
  for (const r of rows) {
    const where = locate(r);
    const id = `${where.region ?? ''}\0${where.bucket}\0${r.archive_key}`;
    let g = groups.get(id);
    if (!g) {
      g = { kind: 'archive', bucket: where.bucket, key: r.archive_key, ...(where.region !== undefined && { region: where.region }), members: [] };
      groups.set(id, g);
    }
    const known = knownOf(r);
    g.members!.push({ objectPath: r.object_path, path: relativePath(r.object_path, r.source_prefix), ...(known && { known }) });
  }
  return [...groups.values()];
}
