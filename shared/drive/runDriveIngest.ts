/**
 * A whole Drive ingest run for one configured source: find the users (Directory or the list),
 * and the shared drives, run each subject under one shared concurrency limit and request pacer,
 * then write the run record under `_xregion/runs/` and emit the run's metrics.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import pLimit from 'p-limit';
import type { DriveSource } from '../config';
import type { ServiceMetrics } from '../observability';
import type { ObjectStore } from '../storage/port';
import type { BackoffOptions } from './backoff';
import { AuthFactory, parseDriveCredentials, type DriveCredentials } from './credentials';
import { DriveAuthError, DriveCredentialsError } from './errors';
import { DriveApi, type DriveApiOptions } from './DriveApi';
import { discoverSubjects } from './discover';
import { OwnerSelection } from './selection';
import { readJsonObject } from '../storage/jsonObject';
import { STATE_ROOT } from './UserState';
import { Pacer } from './Pacer';
import { RunLease } from './RunLease';
import { addStats, emptyStats, type DriveRunReport, type SubjectReport } from './report';
import type { TransferOptions } from './transfer';
import { UserIngest, type Subject } from './UserIngest';
import { openRunScratch } from './scratch';
import { SpoolBudget } from './Spool';
import { writeSkippedStatus } from './statusRecord';

export const RUNS_ROOT = '_xregion/runs/drive/';

export interface DriveIngestOptions {
  source: DriveSource;
  store: ObjectStore;
  credentials: DriveCredentials;
  /** Drive API root (the sample Drive), e.g. http://127.0.0.1:8085/ */
  rootUrl?: string;
  /** Only this user (e-mail). */
  userFilter?: string;
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (subject: string, report: SubjectReport) => void;
  metrics?: ServiceMetrics;
  /** Overall request rate (default 200/s, Drive's default per-project quota of 12 000/min). */
  ratePerSecond?: number;
  /** Per-user request rate (default 200/s). */
  userRatePerSecond?: number;
  /** Subjects worked on at once (default `source.user_concurrency`); file transfers share `source.concurrency`. */
  userConcurrency?: number;
  /** Bytes every spool of the run may hold at once, or the budget itself (default 8 GiB; see SpoolBudget). */
  spoolBudget?: number | SpoolBudget;
  backoff?: Omit<BackoffOptions, 'signal'>;
  requestTimeoutMs?: number;
  downloadTimeoutMs?: number;
  transfer?: Omit<TransferOptions, 'backoff' | 'onRetry'>;
  stateFlushEvery?: number;
  /** Run date (tests); default now. */
  now?: Date;
  /** Called once per Drive HTTP request. */
  onRequest?: (what: string) => void;
  /** How long the source's run lease lasts without renewal (default 2 min, renewed every 30 s; see RunLease). */
  leaseTtlMs?: number;
}

function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Runs one Drive source end to end; the report holds the stats and per-subject statuses. A run
 * that writes (not a dry run) first takes the source's run lease: while another run holds it,
 * this one throws DriveRunLockedError before changing anything.
 */
export async function runDriveIngest(o: DriveIngestOptions): Promise<DriveRunReport> {
  // A malformed key is refused here, once, before the lease or any request (not retried per user).
  parseDriveCredentials(o.credentials, 'Drive credentials');
  const started = o.now ?? new Date();
  const runId = newRunId(started);
  // The run stops when the caller aborts or when its lease is lost to another run.
  const stop = new AbortController();
  const forward = (): void => stop.abort(o.signal?.reason);
  if (o.signal?.aborted) forward();
  else o.signal?.addEventListener('abort', forward, { once: true });
  const lease = o.dryRun ? undefined : await RunLease.acquire(o.store, o.source.target.bucket, o.source.name, runId, { ttlMs: o.leaseTtlMs, onLost: (err) => stop.abort(err) });
  try {
    const report = await runWithLease({ ...o, signal: stop.signal }, started, runId, lease?.notice ? [lease.notice] : []);
    return report;
  } catch (err) {
    throw credentialsRefused(err) ?? err;
  } finally {
    o.signal?.removeEventListener('abort', forward);
    await lease?.release().catch(() => undefined); // if this fails, the lease just expires after its ttl
  }
}

/** A refusal of the credentials themselves, as the one error of the run. */
function credentialsRefused(err: unknown): DriveCredentialsError | undefined {
  if (!(err instanceof DriveAuthError)) return undefined;
  return new DriveCredentialsError(`Google refused the Drive credentials (${err.message}); no subject can be backed up: check the key and its domain-wide delegation`, { cause: err });
}

async function runWithLease(o: DriveIngestOptions, started: Date, runId: string, notices: string[]): Promise<DriveRunReport> {
  const auth = new AuthFactory(o.credentials, o.rootUrl);
  const overall = new Pacer(o.ratePerSecond ?? 200);
  const userPacers = new Map<string, Pacer>();
  let discoveryRetries = 0;
  const backoff: BackoffOptions = { ...o.backoff, signal: o.signal };
  const discoveryBackoff: BackoffOptions = { ...backoff, onRetry: (i) => { discoveryRetries += 1; o.backoff?.onRetry?.(i); } };
  const apiOpts = (subject: string, b: BackoffOptions): DriveApiOptions => {
    let p = userPacers.get(subject);
    if (!p) userPacers.set(subject, (p = new Pacer(o.userRatePerSecond ?? 200)));
    return { rootUrl: o.rootUrl, pacers: [p, overall], backoff: b, requestTimeoutMs: o.requestTimeoutMs, downloadTimeoutMs: o.downloadTimeoutMs, onRequest: o.onRequest };
  };
  const api = (subject: string, b = backoff) => new DriveApi(auth.forSubject(subject), apiOpts(subject, b));
  const found = await discoverSubjects(o.source, o.userFilter, auth, (subj) => api(subj, discoveryBackoff));
  const { subjects: list, skipped } = found;
  // Stops every subject at once when the credentials are refused (or the caller aborts).
  const halt = new AbortController();
  if (o.signal?.aborted) halt.abort();
  else o.signal?.addEventListener('abort', () => halt.abort(), { once: true });
  const limit = pLimit(o.source.concurrency);
  const uploadLimit = pLimit(o.source.concurrency);
  // Local scratch (spools, index logs); what killed runs left there is swept first.
  const scratch = await openRunScratch(o.transfer?.spoolDir ?? tmpdir(), runId);
  const spoolBudget = o.spoolBudget instanceof SpoolBudget ? o.spoolBudget : new SpoolBudget(o.spoolBudget);
  const ctx = {
    source: o.source, store: o.store, runId, backupDate: started, dryRun: !!o.dryRun, limit, uploadLimit, signal: halt.signal,
    selection: new OwnerSelection(o.source, o.store, found.directory, found.backedUp, runId, !!o.dryRun),
    transfer: { ...o.transfer, spoolDir: scratch.dir, spoolBudget }, scratchDir: scratch.dir, backoff, stateFlushEvery: o.stateFlushEvery, onProgress: o.onProgress,
  };
  const reports: SubjectReport[] = new Array(list.length);
  const userLimit = pLimit(o.userConcurrency ?? o.source.user_concurrency);
  // Credentials refused for one subject are refused for all: stop the others and fail the run once.
  let refused: Error | undefined;
  await Promise.all(
    list.map((subj, i) =>
      userLimit(async () => {
        if (refused) return;
        const ov = o.source.user_overrides[subj.email];
        const isUser = !subj.driveId;
        const rules = {
          exclude: isUser && ov?.exclude_patterns !== undefined ? ov.exclude_patterns : o.source.exclude_patterns,
          maxBytes: (isUser && ov?.max_file_size_mb !== undefined ? ov.max_file_size_mb : o.source.max_file_size_mb) * 1024 * 1024,
        };
        const ingest = new UserIngest(ctx, subj, (b) => api(subj.email, b), rules);
        reports[i] = await ingest.run();
        if (ingest.failure instanceof DriveAuthError && !refused) {
          refused = ingest.failure;
          halt.abort();
        }
      }),
    ),
  ).finally(() => scratch.close());
  if (refused) throw refused;
  for (const [i, subj] of list.entries()) if (found.notes.has(subj.id)) reports[i].message ??= found.notes.get(subj.id);
  // A shared drive nobody can read is a subject in error (the run fails, the reason says what to do).
  for (const { subject, reason } of found.unreadable) reports.push(unreadableReport(subject, reason));
  // Users not backed up keep a status record that says so (with their earlier counts).
  if (!o.dryRun) for (const u of skipped) await writeSkippedStatus(o.store, o.source.target.bucket, { source: o.source.name, runId }, u.email, u.reason.startsWith('disabled') ? 'disabled' : 'suspended', u.reason).catch(() => undefined);
  // What is kept of each user not backed up: the run record says so (suspended users' files are
  // deleted 20 days after the account is; the README lists what the administrator can do).
  for (const u of skipped) Object.assign(u, await lastBackupOf(o, u.email));
  const stats = emptyStats();
  for (const r of reports) addStats(stats, r.stats);
  stats.retries += discoveryRetries;
  const finished = new Date();
  const report: DriveRunReport = {
    runId, source: o.source.name, startedAt: started.toISOString(), finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(), dryRun: !!o.dryRun, stats, subjects: reports, skippedUsers: skipped, notices, recordKey: '',
  };
  if (!o.dryRun) {
    const key = `${RUNS_ROOT}${o.source.name}/${runId}.json`;
    try {
      await o.store.put(o.source.target.bucket, key, Buffer.from(JSON.stringify({ ...report, recordKey: key }, null, 1)), { contentType: 'application/json' });
      report.recordKey = key;
    } catch (err) {
      // The report itself still reaches the caller (and the logs).
      report.recordError = `cannot write run record ${key}: ${(err as Error).message}`;
    }
  }
  emitMetrics(o.metrics, report);
  return report;
}

/** The last backup of a user and how many files it holds, from the user's status record. */
async function lastBackupOf(o: DriveIngestOptions, email: string): Promise<{ lastBackup?: string; storedFiles?: number }> {
  const rec = (await readJsonObject(o.store, o.source.target.bucket, `${STATE_ROOT}${o.source.name}/${email}/status.json`).catch(() => undefined))?.value as { lastBackup?: string; storedFiles?: number } | undefined;
  return rec?.lastBackup ? { lastBackup: rec.lastBackup, storedFiles: rec.storedFiles ?? 0 } : {};
}

function unreadableReport(s: Subject, reason: string): SubjectReport {
  return { subject: s.id, label: s.label, mode: 'none', status: 'error', message: reason, lastRun: new Date().toISOString(), files: 0, bytes: 0, errorCount: 1, stats: emptyStats(), events: [], eventsDropped: 0 };
}

function emitMetrics(m: ServiceMetrics | undefined, r: DriveRunReport): void {
  if (!m) return;
  const dims = { source: r.source };
  const s = r.stats;
  m.add('DriveFilesTotal', 'Count', s.total, dims);
  m.add('DriveFilesUploaded', 'Count', s.uploaded, dims);
  m.add('DriveFilesDownloaded', 'Count', s.downloaded, dims);
  m.add('DriveFilesExported', 'Count', s.exported, dims);
  m.add('DriveFilesSkippedUnchanged', 'Count', s.skippedUnchanged, dims);
  m.add('DriveFilesSkippedByRule', 'Count', s.skippedByRule, dims);
  m.add('DriveFilesUnavailable', 'Count', s.unavailable, dims);
  m.add('DriveFilesFailed', 'Count', s.failed, dims);
  m.add('DriveDeletionsRecorded', 'Count', s.deleted, dims);
  m.add('DriveBytesUploaded', 'Bytes', s.bytes, dims);
  m.add('DriveRetries', 'Count', s.retries, dims);
  m.add('DriveRunDuration', 'Milliseconds', r.durationMs, dims);
  for (const u of r.subjects) if (u.status !== 'ok') m.add('DriveSubjectsNotOk', 'Count', 1, { ...dims, status: u.status });
  m.flush();
}
