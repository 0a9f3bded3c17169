/**
 * drive: the Google Drive connector. Owns credentials (service account with domain-wide
 * delegation, or one user's OAuth token), user and shared-drive discovery, full listings and
 * change tracking, paths and keys, content download/export, pacing and backoff, per-user resumable
 * state under `_xregion/state/drive/`, and run records under `_xregion/runs/drive/`.
 */
export { runDriveIngest, RUNS_ROOT, type DriveIngestOptions } from './runDriveIngest';
export { formatRunReport, runProblems, emptyStats, type DriveRunReport, type DriveStats, type SubjectReport, type SubjectStatus, type DriveEvent } from './report';
export {
  loadDriveCredentials, parseDriveCredentials, AuthFactory, CREDENTIALS_ENV, INGEST_SCOPES,
  type DriveCredentials, type ServiceAccountCredentials, type AuthorizedUserCredentials,
} from './credentials';
export { DriveApi, FILE_FIELDS, type DriveFile } from './DriveApi';
export { STATE_ROOT, UserState, type IndexEntry, type StateDoc } from './UserState';
export { buildKey, escapeName, withIdSuffix, encodeMetadataValue, decodeMetadataValue, matchesPattern } from './paths';
export { withBackoff, backoffDelay, classifyError, parseRetryAfter, type BackoffOptions } from './backoff';
export { Pacer } from './Pacer';
export { RunLease, DriveRunLockedError, runLeaseKey, pidRunning, DEFAULT_LEASE_TTL_MS, type LeaseDoc, type RunLeaseOptions } from './RunLease';
export * from './mimeTypes';
export * from './errors';
