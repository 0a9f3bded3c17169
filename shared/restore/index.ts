/**
 * restore: getting backed-up objects back. Owns planning (catalog rows → the newest version of
 * each object at or before a date, grouped by archive), executing restores through ranged reads
 * of only the covering frames (each archive byte fetched at most once, sha256 verified), and the
 * targets (a folder, a bucket, a Drive folder). Knows nothing about the CLI; reports progress through a callback.
 */
export { RestoreError, RestoreRequestError, RestoreConflictError } from './errors';
export { ForwardRangeReader } from './ForwardRangeReader';
export {
  archiveRequests,
  latestVersions,
  parseAsOf,
  relativePath,
  type ArchiveRef,
  type ArchiveRequest,
  type CatalogRowRef,
  type KnownMemberInfo,
  type MemberRequest,
  type ObjectRequest,
  type RestoreRequest,
} from './plan';
export { RESTORE_COLUMNS, selectionSql, type CatalogSelection } from './selection';
export { runRestore, type OutcomeStatus, type RestoreOutcome, type RestoreProgress, type RestoreSummary, type RestorerOptions } from './Restorer';
export { DirectoryTarget } from './targets/DirectoryTarget';
export { ObjectStoreTarget } from './targets/ObjectStoreTarget';
export { DriveTarget, type DriveTargetOptions } from './targets/DriveTarget';
export type { RestoreTarget, TargetFile, TargetState } from './targets/port';
export { parseS3Url, type S3Url } from './s3Url';
export { lookupMembers, readKnownMember, type KnownMember } from './readKnownMember';
