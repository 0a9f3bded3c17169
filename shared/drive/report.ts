/** Run statistics, per-subject status records and the printed table. */

export interface DriveStats {
  /** Files considered (folders excluded). */
  total: number;
  /** Binary files downloaded. */
  downloaded: number;
  /** Google-native files exported. */
  exported: number;
  /** Forms, Sites, My Maps, shortcuts written as JSON records. */
  records: number;
  /** Objects written to the bucket (downloads + exports + records + moves). */
  uploaded: number;
  skippedUnchanged: number;
  skippedByRule: number;
  /** Visible but owned outside the backed-up set, recorded as not_owned with the owner (not stored). */
  notOwned: number;
  /** Visible but backed up under another subject (its owner, or the subject that claimed it): not counted in total. */
  ownerBackedUp: number;
  /** Cannot be downloaded (recorded with the reason). */
  unavailable: number;
  failed: number;
  /** Deletion events recorded (trashed or removed in Drive; backups kept). */
  deleted: number;
  /** Bytes written. */
  bytes: number;
  /** Retries after rate limits, 5xx and dropped connections. */
  retries: number;
}

export const emptyStats = (): DriveStats => ({
  total: 0, downloaded: 0, exported: 0, records: 0, uploaded: 0, skippedUnchanged: 0, skippedByRule: 0, notOwned: 0, ownerBackedUp: 0,
  unavailable: 0, failed: 0, deleted: 0, bytes: 0, retries: 0,
});

export function addStats(into: DriveStats, from: DriveStats): void {
  for (const k of Object.keys(into) as (keyof DriveStats)[]) into[k] += from[k];
}

export type SubjectStatus =
  | 'ok'
  /** Finished, but some files failed (they are retried next run). */
  | 'partial'
  /** Stopped on downloadQuotaExceeded / daily limits; resumes next run. */
  | 'quota_exceeded'
  | 'suspended'
  | 'disabled'
  | 'error'
  | 'aborted';

/** One event worth keeping in the run record. */
export interface DriveEvent {
  type: 'deleted' | 'unavailable' | 'failed' | 'also_at' | 'excluded' | 'not_owned';
  fileId: string;
  path?: string;
  key?: string;
  reason?: string;
  time?: string;
}

export interface SubjectReport {
  /** User e-mail, or `shared-drive:{id}`. */
  subject: string;
  label: string;
  mode: 'full' | 'incremental' | 'none';
  status: SubjectStatus;
  message?: string;
  lastRun: string;
  /** Files known after this run (the index size). */
  files: number;
  bytes: number;
  errorCount: number;
  stats: DriveStats;
  events: DriveEvent[];
  /** Events left out of `events` to keep the record small. */
  eventsDropped: number;
}

export interface DriveRunReport {
  runId: string;
  source: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  dryRun: boolean;
  stats: DriveStats;
  subjects: SubjectReport[];
  /** Users not backed up (suspended, disabled) with the reason. */
  skippedUsers: { email: string; reason: string; lastBackup?: string; storedFiles?: number }[];
  /** What the run did that an operator should know (a lease taken over from a killed run, ...). */
  notices?: string[];
  /** Where the run record was written ('' in dry runs or when it could not be written). */
  recordKey: string;
  /** Why the run record could not be written. */
  recordError?: string;
}

const fmtBytes = (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** A fixed-width text table of the run: one row per subject, then the totals. */
export function formatRunReport(r: DriveRunReport): string {
  const head = ['subject', 'mode', 'status', 'total', 'down', 'export', 'records', 'uploaded', 'unchanged', 'by rule', 'unavail', 'failed', 'deleted', 'bytes'];
  const row = (label: string, mode: string, status: string, s: DriveStats) => [
    label, mode, status, s.total, s.downloaded, s.exported, s.records, s.uploaded, s.skippedUnchanged, s.skippedByRule, s.unavailable, s.failed, s.deleted, fmtBytes(s.bytes),
  ].map(String);
  const rows = r.subjects.map((u) => row(u.label, u.mode, u.status, u.stats));
  rows.push(row('TOTAL', '', r.dryRun ? 'dry-run' : '', r.stats));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [
    `drive ingest ${r.source} run ${r.runId}: ${(r.durationMs / 1000).toFixed(1)} s${r.dryRun ? ' (dry run: nothing written)' : ''}`,
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(0, -1).map(line),
    line(widths.map((w) => '-'.repeat(w))),
    line(rows[rows.length - 1]),
  ];
  for (const n of r.notices ?? []) out.push(n);
  for (const u of r.skippedUsers) {
    const kept = u.lastBackup ? `; last backed up ${u.lastBackup.slice(0, 10)} (${u.storedFiles ?? 0} files, kept)` : u.reason === 'disabled by user_overrides' ? '' : '; never backed up';
    out.push(`skipped ${u.email}: ${u.reason}${kept}`);
  }
  for (const u of r.subjects) if (u.message) out.push(`${u.label}: ${u.status}: ${u.message}`);
  if (r.recordKey) out.push(`run record: ${r.recordKey}`);
  if (r.recordError) out.push(r.recordError);
  return out.join('\n');
}

/**
 * Why a run counts as failed (empty when every subject is `ok` and the run record was written):
 * a `partial` or `quota_exceeded` user is a failure too, or the ECS task-failure alarm would never
 * fire for a user whose files fail every day.
 */
export function runProblems(r: DriveRunReport): string[] {
  const out = r.subjects.filter((s) => s.status !== 'ok').map((s) => {
    const why = s.status === 'partial' ? `${s.stats.failed} file(s) failed; they are retried next run` : s.message ?? '';
    return `${s.label}: ${s.status}${why ? ` (${why})` : ''}`;
  });
  if (r.recordError) out.push(r.recordError);
  return out;
}
