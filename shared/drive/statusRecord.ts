/**
 * The per-subject status record, `status.json` beside each subject's `state.json`: what an
 * administrator asks of a domain of hundreds of users ("when was bob last backed up, how much,
 * anything wrong?") without reading run records. Written at the end of each subject's run (counts
 * summed over the whole index, not just that run), and for users a run skipped (suspended,
 * disabled), whose earlier counts and last backup are kept. `xregion drive status` reads them.
 */
import type { ObjectStore } from '../storage/port';
import { readJsonObject, writeJsonObject } from '../storage/jsonObject';
import { DriveStateError } from './errors';
import type { IndexSummary } from './IndexStore';
import type { SubjectReport, SubjectStatus } from './report';
import { STATE_ROOT } from './UserState';

/** One subject's status record (stable field names: `xregion drive status --json` prints them). */
export interface SubjectStatusRecord {
  format: 'xregion-drive-status/1';
  source: string;
  /** User e-mail, or `shared-drive:{id}`. */
  subject: string;
  label: string;
  /** Status of the last run that looked at the subject. */
  status: SubjectStatus;
  message?: string;
  /** When that run finished with the subject, and its id. */
  lastRun: string;
  lastRunId: string;
  /** When a run last finished the subject's backup (status ok or partial); absent until one has. */
  lastBackup?: string;
  /** Files in the Drive the index knows (not trashed or removed). */
  totalFiles: number;
  /** Of those, files with a backup copy, and the copies' bytes. */
  storedFiles: number;
  totalBytes: number;
  /** Errors of the last run (failed files and a stop). */
  errorCount: number;
  /** Files whose last attempt failed (retried next run). */
  failedFiles: number;
  notOwned: number;
  unavailable: number;
  excluded: number;
  /** Deletions recorded (trashed or removed in Drive; their backups are kept). */
  deleted: number;
}

const FORMAT = 'xregion-drive-status/1';

/** The status record's key in a subject's state folder. */
export const statusKey = (base: string): string => `${base}status.json`;

async function previous(store: ObjectStore, bucket: string, base: string): Promise<SubjectStatusRecord | undefined> {
  return (await readJsonObject(store, bucket, statusKey(base)))?.value as SubjectStatusRecord | undefined;
}

/** Writes a subject's record after its run: the run's status, the index's counts. */
export async function writeSubjectStatus(store: ObjectStore, bucket: string, base: string, run: { source: string; runId: string }, r: SubjectReport, sum: IndexSummary): Promise<SubjectStatusRecord> {
  const prev = await previous(store, bucket, base);
  const finished = r.status === 'ok' || r.status === 'partial';
  const rec: SubjectStatusRecord = {
    format: FORMAT, source: run.source, subject: r.subject, label: r.label, status: r.status,
    ...(r.message ? { message: r.message } : {}),
    lastRun: r.lastRun, lastRunId: run.runId,
    ...(finished ? { lastBackup: r.lastRun } : prev?.lastBackup ? { lastBackup: prev.lastBackup } : {}),
    totalFiles: sum.files, storedFiles: sum.stored, totalBytes: sum.bytes, errorCount: r.errorCount,
    failedFiles: sum.failed, notOwned: sum.notOwned, unavailable: sum.unavailable, excluded: sum.excluded, deleted: sum.deleted,
  };
  await put(store, bucket, base, rec);
  return rec;
}

/** Marks a user a run did not back up (suspended, archived, disabled), keeping its earlier counts. */
export async function writeSkippedStatus(store: ObjectStore, bucket: string, run: { source: string; runId: string }, email: string, status: SubjectStatus, message: string): Promise<void> {
  const base = `${STATE_ROOT}${run.source}/${email}/`;
  const prev = await previous(store, bucket, base);
  const zero = { totalFiles: 0, storedFiles: 0, totalBytes: 0, failedFiles: 0, notOwned: 0, unavailable: 0, excluded: 0, deleted: 0 };
  const rec: SubjectStatusRecord = {
    ...zero, ...prev, format: FORMAT, source: run.source, subject: email, label: email, status, message,
    lastRun: new Date().toISOString(), lastRunId: run.runId, errorCount: 0,
  };
  await put(store, bucket, base, rec);
}

async function put(store: ObjectStore, bucket: string, base: string, rec: SubjectStatusRecord): Promise<void> {
  try {
    // Unconditional: a record is informational, the last writer is the latest run.
    await writeJsonObject(store, bucket, statusKey(base), rec, {}, 1);
  } catch (err) {
    throw new DriveStateError(`cannot write status record ${statusKey(base)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Every subject's status record of a source, by subject. */
export async function readDriveStatus(store: ObjectStore, bucket: string, source: string): Promise<SubjectStatusRecord[]> {
  const out: SubjectStatusRecord[] = [];
  const root = `${STATE_ROOT}${source}/`;
  for await (const o of store.list(bucket, root)) {
    // Only `{subject}/status.json`, not journal segments or index files.
    const rest = o.key.slice(root.length);
    if (!rest.endsWith('/status.json') || rest.indexOf('/') !== rest.length - '/status.json'.length) continue;
    const rec = (await readJsonObject(store, bucket, o.key))?.value as SubjectStatusRecord | undefined;
    if (rec?.format === FORMAT) out.push(rec);
  }
  return out.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
}

const fmtBytes = (n: number): string => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** A fixed-width table of status records, one row per subject. */
export function formatDriveStatus(source: string, recs: SubjectStatusRecord[]): string {
  if (recs.length === 0) return `drive source ${source}: no status records yet (no run has finished a subject)`;
  const head = ['subject', 'status', 'last backup', 'files', 'stored', 'bytes', 'errors', 'failed', 'not owned', 'unavail', 'last run'];
  const day = (t?: string): string => (t ? t.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z') : 'never');
  const rows = recs.map((r) => [r.label, r.status, day(r.lastBackup), r.totalFiles, r.storedFiles, fmtBytes(r.totalBytes), r.errorCount, r.failedFiles, r.notOwned, r.unavailable, day(r.lastRun)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const left = new Set([0, 1, 2, 10]);
  const line = (cells: string[]): string => cells.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  for (const r of recs) if (r.message && r.status !== 'ok') out.push(`${r.label}: ${r.status}: ${r.message}`);
  return out.join('\n');
}
