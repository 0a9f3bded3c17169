/**
 * One subject's run (a user's My Drive, or one shared drive): a full listing the first time
 * (start token first, then folders, then files), `changes.list` afterwards; each file planned,
 * de-duplicated and either skipped, recorded, or transferred under the shared concurrency limit.
 */
import { createHash } from 'node:crypto';
import type { Limit } from 'p-limit';
import type { DriveSource } from '../config';
import { NoSuchObjectError } from '../storage/errors';
import type { ObjectStore } from '../storage/port';
import { classifyError, UNAVAILABLE_REASONS, type BackoffOptions } from './backoff';
import { planFile, recordBody, revisionOf, ruleReason, type Plan, type Rules } from './classify';
import { FILE_FIELDS, type DriveApi, type DriveFile } from './DriveApi';
import { DriveAbortedError, DriveApiError, DriveChecksumError, DriveQuotaError, DriveStateError } from './errors';
import { FolderTree } from './FolderTree';
import { FOLDER_MIME } from './mimeTypes';
import { buildKey, encodeMetadataValue, escapeName, MAX_METADATA_PATH, splitExt, withIdSuffix } from './paths';
import { emptyStats, type DriveEvent, type SubjectReport } from './report';
import { downloadBinary, downloadExport, type TransferOptions } from './transfer';
import { writeSubjectStatus } from './statusRecord';
import type { OwnerSelection } from './selection';
import { STATE_ROOT, UserState, type IndexEntry } from './UserState';

export interface Subject {
  /** User e-mail, or `shared-drive:{id}`. */
  id: string;
  /** Who is impersonated. */
  email: string;
  /** Key segment after the prefix: the user's e-mail, or `shared-drives/{name}`. */
  ownerSegment: string;
  driveId?: string;
  label: string;
}

export interface IngestContext {
  source: DriveSource;
  store: ObjectStore;
  runId: string;
  backupDate: Date;
  dryRun: boolean;
  /** Concurrent Drive downloads (source.concurrency), shared by every subject of the run. */
  limit: Limit;
  /** Concurrent object-store writes (same size): a finished download uploads while the next one starts. */
  uploadLimit: Limit;
  signal?: AbortSignal;
  transfer: Omit<TransferOptions, 'backoff' | 'onRetry'>;
  backoff: BackoffOptions;
  /** Journal the index every N files (default 50). */
  stateFlushEvery?: number;
  /** This run's local scratch folder (index logs); default one under the OS temp dir. */
  scratchDir?: string;
  onProgress?: (subject: string, report: SubjectReport) => void;
  /** Who backs up files a user sees but does not own (none: they are treated as the user's own). */
  selection?: OwnerSelection;
}

const MAX_EVENTS = 1000;
const MAX_KEY_BYTES = 1024;
/** Where files whose key would pass S3's 1024-byte limit are stored, by id. */
export const LONG_PATHS_DIR = '_long-paths';
const FOLDERS_Q = `mimeType = '${FOLDER_MIME}' and trashed = false`;
const FILES_Q = `mimeType != '${FOLDER_MIME}' and trashed = false`;

export class UserIngest {
  readonly report: SubjectReport;
  private readonly stop = new AbortController();
  /** Removed when the run ends: with hundreds of subjects, one listener each piled up on the run's signal. */
  private readonly onAbort = (): void => this.stop.abort();
  private readonly inflight = new Set<Promise<void>>();
  private readonly reserved = new Map<string, string>();
  /** Files with a transfer in flight: a second change to one waits for the first to land. */
  private readonly running = new Map<string, Promise<void>>();
  private fatal: Error | undefined;
  /** What stopped this subject, if anything (the run stops at once when the credentials themselves are refused). */
  failure: Error | undefined;
  private state!: UserState;
  private tree!: FolderTree;
  private api!: DriveApi;

  constructor(
    private readonly ctx: IngestContext,
    readonly subject: Subject,
    private readonly makeApi: (backoff: BackoffOptions) => DriveApi,
    private readonly rules: Rules,
  ) {
    this.report = { subject: subject.id, label: subject.label, mode: 'none', status: 'ok', lastRun: new Date().toISOString(), files: 0, bytes: 0, errorCount: 0, stats: emptyStats(), events: [], eventsDropped: 0 };
    ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private get base(): string {
    return `${STATE_ROOT}${this.ctx.source.name}/${this.subject.driveId ? `shared-drive-${this.subject.driveId}` : this.subject.email}/`;
  }

  /** Runs to completion or to a stop (quota, abort, state failure); never throws. */
  async run(): Promise<SubjectReport> {
    const r = this.report;
    const backoff: BackoffOptions = { ...this.ctx.backoff, signal: this.stop.signal, onRetry: (i) => { r.stats.retries += 1; this.ctx.backoff.onRetry?.(i); } };
    this.api = this.makeApi(backoff);
    try {
      if (this.ctx.signal?.aborted) throw new DriveAbortedError();
      this.state = await UserState.load(this.ctx.store, this.ctx.source.target.bucket, this.base, this.subject.id, this.ctx.runId, { flushEvery: this.ctx.stateFlushEvery, localDir: this.ctx.scratchDir });
      if (!this.ctx.dryRun) await this.state.save({ inProgress: this.ctx.runId });
      const rootId = this.subject.driveId ?? (await this.api.rootId());
      this.tree = new FolderTree(rootId, async (id) => {
        try {
          const f = await this.api.getFile(id, 'id,name,parents,mimeType');
          return { name: f.name ?? id, parents: f.parents ?? [] };
        } catch (err) {
          if (err instanceof DriveApiError && err.status === 404) return undefined;
          throw err;
        }
      });
      if (this.state.doc.changeToken) await this.incremental();
      else await this.full();
      if (!this.ctx.dryRun) {
        await this.state.compact();
        await this.state.save({ inProgress: undefined, lastRun: new Date().toISOString(), rules: this.rulesFingerprint() });
      }
      r.status = r.stats.failed > 0 ? 'partial' : 'ok';
    } catch (err) {
      this.stop.abort();
      await Promise.allSettled([...this.inflight]);
      const e = this.fatal ?? err;
      this.failure = e as Error;
      if (e instanceof DriveQuotaError) {
        r.status = 'quota_exceeded';
        r.message = `${e.reason}: stopped this user's run; it resumes on the next run (${e.message})`;
      } else if (e instanceof DriveAbortedError) {
        r.status = 'aborted';
        r.message = 'aborted; the next run resumes';
      } else {
        r.status = 'error';
        r.message = (e as Error).message;
      }
      r.errorCount += 1;
      // Keep what finished: the next run resumes from it (state.json still says inProgress).
      if (!this.ctx.dryRun && this.state && !(e instanceof DriveStateError)) await this.state.flush().catch(() => undefined);
    }
    r.files = this.state?.size ?? 0;
    r.bytes = r.stats.bytes;
    r.lastRun = new Date().toISOString();
    if (this.state) {
      // The status record sums the whole index, so it is written before the local index goes.
      if (!this.ctx.dryRun) await writeSubjectStatus(this.ctx.store, this.ctx.source.target.bucket, this.base, { source: this.ctx.source.name, runId: this.ctx.runId }, r, this.state.summary()).catch(() => undefined);
      this.state.close();
    }
    this.ctx.signal?.removeEventListener('abort', this.onAbort);
    return r;
  }

  private async full(): Promise<void> {
    this.report.mode = 'full';
    // Every file the subject can see, not only its own: the selection decides about the others.
    const owned = '';
    let token = this.state.doc.pendingToken;
    if (!token) {
      // The start token comes first: changes made during the listing are then seen next run.
      token = await this.api.startPageToken(this.subject.driveId);
      if (!this.ctx.dryRun) await this.state.save({ pendingToken: token });
    }
    for await (const f of this.pages(`${owned}${FOLDERS_Q}`)) if (f.id) this.tree.add(f.id, { name: f.name ?? f.id, parents: f.parents ?? [] });
    for await (const f of this.pages(`${owned}${FILES_Q}`)) await this.schedule(f);
    await this.drain();
    if (!this.ctx.dryRun) await this.state.save({ changeToken: token, pendingToken: undefined });
  }

  private async *pages(q: string): AsyncGenerator<DriveFile> {
    let pageToken: string | undefined;
    do {
      const page = await this.api.listFiles(q, pageToken, this.subject.driveId);
      yield* page.items;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** `{which files}:{export formats}`: a change of either part re-checks the files it can affect. */
  private rulesFingerprint(): string {
    const h = (v: unknown): string => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
    return `${h({ exclude: this.rules.exclude, maxBytes: this.rules.maxBytes })}:${h(this.ctx.source.export_formats)}`;
  }

  private async incremental(): Promise<void> {
    this.report.mode = 'incremental';
    // Changes list only files that changed. After a change of exclude rules, size limit or export
    // formats, the files those affect (excluded ones, exports) are looked at again, so a file
    // excluded before is backed up now, and an export gets its new format. A state without a
    // fingerprint (from before this check) just records the current one.
    const [wasSelect, wasExports] = (this.state.doc.rules ?? '').split(':');
    const [select, exports] = this.rulesFingerprint().split(':');
    const known = this.state.doc.rules !== undefined;
    // One streamed pass over the index (not a list of every id: a 1M-file user's would not fit).
    for await (const { id, failed } of this.state.recheck({ excluded: known && wasSelect !== select, exports: known && wasExports !== exports })) {
      try {
        await this.schedule(await this.api.getFile(id), failed);
      } catch (err) {
        if (err instanceof DriveApiError && err.status === 404) await this.recordDeletion(id, 'removed', new Date().toISOString());
        else throw err;
      }
    }
    let token = this.state.doc.changeToken!;
    for (;;) {
      const page = await this.api.listChanges(token, this.subject.driveId);
      // Folders first, so files in this page get their new paths.
      for (const c of page.items) if (c.file && c.file.mimeType === FOLDER_MIME && !c.removed && c.fileId) this.tree.add(c.fileId, { name: c.file.name ?? c.fileId, parents: c.file.parents ?? [] });
      for (const c of page.items) {
        const id = c.fileId ?? c.file?.id;
        if (!id) continue;
        if (c.removed || !c.file) await this.recordDeletion(id, 'removed', c.time ?? '');
        else if (c.file.trashed) await this.recordDeletion(id, 'trashed', c.time ?? '');
        else if (c.file.mimeType === FOLDER_MIME) continue;
        else await this.schedule(c.file);
      }
      await this.drain();
      const next = page.nextPageToken ?? page.newStartPageToken;
      if (!next) throw new DriveApiError('changes.list returned neither nextPageToken nor newStartPageToken', undefined, undefined, false);
      // Only now is every change before `next` durable.
      if (!this.ctx.dryRun) await this.state.save({ changeToken: next });
      token = next;
      if (!page.nextPageToken) break;
    }
  }

  private event(e: DriveEvent): void {
    if (this.report.events.length < MAX_EVENTS) this.report.events.push(e);
    else this.report.eventsDropped += 1;
  }

  private async recordDeletion(id: string, reason: 'trashed' | 'removed', time: string): Promise<void> {
    const prev = this.state.get(id);
    if (!prev || prev.deleted) return;
    this.report.stats.deleted += 1;
    this.event({ type: 'deleted', fileId: id, key: prev.key, path: prev.path, reason, time });
    if (!this.ctx.dryRun) await this.state.set(id, { ...prev, deleted: { time, reason } });
  }

  /** Plans one file synchronously (so names are reserved in listing order), then queues its transfer. */
  private async schedule(f: DriveFile, retry = false): Promise<void> {
    if (this.fatal) throw this.fatal;
    const id = f.id ?? '';
    const busy = this.running.get(id);
    if (busy) await busy;
    const s = this.report.stats;
    if (!this.subject.driveId && (await this.notOwned(f))) return;
    s.total += 1;
    const plan = planFile(f, this.ctx.source.export_formats);
    const basePath = await this.tree.filePath(f.parents, plan.name);
    const prev = this.state.get(id);
    const rule = ruleReason(f, basePath, this.rules);
    if (rule) {
      s.skippedByRule += 1;
      this.event({ type: 'excluded', fileId: id, path: basePath, reason: rule });
      if (!this.ctx.dryRun && prev?.kind !== 'excluded' && prev?.excluded === undefined) {
        // A file backed up before keeps its backup and its path: another file must not take its key.
        if (prev?.key) await this.state.set(id, { ...prev, excluded: rule, failed: undefined });
        else await this.state.set(id, { key: '', kind: 'excluded', path: basePath, reason: rule, modifiedTime: f.modifiedTime ?? undefined });
      }
      return;
    }
    if (plan.kind === 'unavailable') return this.unavailable(f, basePath, plan.reason);
    const rev = revisionOf(f);
    const live = prev && !prev.deleted && prev.key && (prev.kind === 'binary' || prev.kind === 'export' || prev.kind === 'record');
    // A kept entry whose last attempt failed is always transferred again (also in a full listing).
    if (prev?.failed !== undefined) retry = true;
    if (live && prev.rev === rev && prev.basePath === basePath && !retry) {
      s.skippedUnchanged += 1;
      if (!this.ctx.dryRun && prev.excluded !== undefined) await this.state.set(id, { ...prev, excluded: undefined });
      return;
    }
    // A duplicate name in one folder: the first file (by creation) keeps the plain name.
    let path = live && prev.basePath === basePath && prev.path ? prev.path : basePath;
    const holder = this.state.ownerOfPath(path) ?? this.reserved.get(path);
    if (holder && holder !== id) {
      const dir = basePath.includes('/') ? basePath.slice(0, basePath.lastIndexOf('/') + 1) : '';
      path = `${dir}${withIdSuffix(plan.name, id)}`;
    }
    let key = buildKey(this.ctx.source.key_layout, this.ctx.source.target.prefix, this.subject.ownerSegment, path, this.ctx.backupDate);
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
      // S3 keys stop at 1024 bytes: park the file under its id (its real path is in metadata and the index).
      path = `${LONG_PATHS_DIR}/${withIdSuffix(splitExt(plan.name)[1] ? `file${splitExt(plan.name)[1]}` : 'file', id)}`;
      key = buildKey(this.ctx.source.key_layout, this.ctx.source.target.prefix, this.subject.ownerSegment, path, this.ctx.backupDate);
    }
    this.reserved.set(path, id);
    const alsoAt = (f.parents?.length ?? 0) > 1 ? await Promise.all(f.parents!.slice(1).map((p) => this.tree.folderPath(p))) : undefined;
    if (alsoAt) this.event({ type: 'also_at', fileId: id, path, reason: `also in ${alsoAt.map((a) => a || '/').join(', ')}` });
    const entry: IndexEntry = { key, kind: plan.kind, rev, md5: f.md5Checksum ?? undefined, modifiedTime: f.modifiedTime ?? undefined, path, basePath, alsoAt };
    const moved = live && prev.rev === rev && prev.key !== key && !retry;
    await this.enqueue(id, () => this.transfer(f, plan, entry, moved ? prev : undefined));
  }

  /** A file owned outside this subject that is backed up elsewhere or only recorded (true: nothing more to do). */
  private async notOwned(f: DriveFile): Promise<boolean> {
    const d = this.ctx.selection ? await this.ctx.selection.decide(f, this.subject.email) : { kind: 'own' as const };
    if (d.kind === 'own' || d.kind === 'backup') return false;
    const s = this.report.stats;
    if (d.kind === 'elsewhere') { s.ownerBackedUp += 1; return true; }
    s.total += 1;
    s.notOwned += 1;
    const id = f.id ?? '';
    const path = await this.tree.filePath(f.parents, escapeName(f.name ?? id));
    this.event({ type: 'not_owned', fileId: id, path, reason: d.reason });
    const prev = this.state.get(id);
    // A file backed up before (policy changed since) keeps its backup and key; the reason says why no more.
    if (!this.ctx.dryRun && (prev?.kind !== 'not_owned' || prev.reason !== d.reason)) {
      await this.state.set(id, { ...(prev?.key ? prev : { key: '' }), kind: prev?.key ? prev.kind : 'not_owned', path, reason: d.reason, modifiedTime: f.modifiedTime ?? undefined, failed: undefined });
    }
    return true;
  }

  private async unavailable(f: DriveFile, path: string, reason: string): Promise<void> {
    const id = f.id ?? '';
    this.report.stats.unavailable += 1;
    this.event({ type: 'unavailable', fileId: id, path, reason });
    const prev = this.state.get(id);
    if (!this.ctx.dryRun && (prev?.kind !== 'unavailable' || prev.reason !== reason)) {
      await this.state.set(id, { ...(prev?.key ? prev : { key: '' }), kind: prev?.key ? prev.kind : 'unavailable', path, reason, modifiedTime: f.modifiedTime ?? undefined, failed: undefined, excluded: undefined });
    }
  }

  private async enqueue(id: string, task: () => Promise<void>): Promise<void> {
    // Bounded look-ahead: at most downloads + uploads + a few queued files per subject.
    while (this.inflight.size >= this.ctx.source.concurrency * 3) await Promise.race(this.inflight);
    if (this.fatal) throw this.fatal;
    const p: Promise<void> = task().finally(() => {
      this.inflight.delete(p);
      if (this.running.get(id) === p) this.running.delete(id);
    });
    this.inflight.add(p);
    this.running.set(id, p);
  }

  private async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    if (this.fatal) throw this.fatal;
  }

  private metadata(f: DriveFile, path: string, md5?: string): Record<string, string> {
    const enc = encodeMetadataValue;
    const encPath = enc(path, MAX_METADATA_PATH);
    const truncated = encPath.length < enc(path).length;
    const m: Record<string, string> = {
      'drive-file-id': f.id ?? '',
      'drive-owner': enc(f.owners?.[0]?.emailAddress ?? (this.subject.driveId ? `shared-drive:${this.subject.driveId}` : this.subject.email)),
      'drive-user': enc(this.subject.email),
      'drive-path': encPath,
      'drive-mime-type': enc(f.mimeType ?? ''),
      'drive-modified-time': f.modifiedTime ?? '',
      'backup-timestamp': this.ctx.backupDate.toISOString(),
    };
    if (md5) m['drive-md5'] = md5;
    if (truncated) m['drive-path-truncated'] = 'true';
    return m;
  }

  /** After a crash, an object may be in the bucket although the index lost it: adopt it. */
  private async adoptExisting(f: DriveFile, entry: IndexEntry): Promise<boolean> {
    if (!this.state.crashed) return false;
    try {
      const info = await this.ctx.store.head(this.ctx.source.target.bucket, entry.key);
      const m = info.metadata;
      const same = m['drive-file-id'] === f.id && (f.md5Checksum ? m['drive-md5'] === f.md5Checksum : m['drive-modified-time'] === (f.modifiedTime ?? ''));
      if (!same) return false;
      await this.state.set(f.id ?? '', { ...entry, sha256: info.sha256, size: info.size });
      this.report.stats.skippedUnchanged += 1;
      return true;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return false;
      throw err;
    }
  }

  private async transfer(f: DriveFile, plan: Exclude<Plan, { kind: 'unavailable' }>, entry: IndexEntry, movedFrom?: IndexEntry): Promise<void> {
    const s = this.report.stats;
    const id = f.id ?? '';
    const bucket = this.ctx.source.target.bucket;
    try {
      if (this.stop.signal.aborted) throw new DriveAbortedError();
      if (this.ctx.dryRun) {
        s.uploaded += 1;
        if (plan.kind === 'binary') s.downloaded += 1;
        else if (plan.kind === 'export') s.exported += 1;
        else s.records += 1;
        return;
      }
      if (await this.ctx.uploadLimit(() => this.adoptExisting(f, entry))) return;
      const metadata = this.metadata(f, entry.basePath ?? entry.path ?? '', plan.kind === 'binary' ? f.md5Checksum ?? undefined : undefined);
      if (movedFrom) {
        // Same bytes under a new name or folder: copy server-side instead of downloading again.
        const r = await this.ctx.uploadLimit(() => this.ctx.store.copy({ bucket, key: movedFrom.key }, { bucket, key: entry.key }, { replaceMetadata: true, contentType: plan.contentType, metadata }));
        await this.state.set(id, { ...entry, sha256: movedFrom.sha256 ?? r.sha256, size: r.size });
        s.uploaded += 1;
        return;
      }
      const opts = { ...this.ctx.transfer, backoff: { ...this.ctx.backoff, signal: this.stop.signal }, onRetry: () => { s.retries += 1; } };
      const spool = await this.ctx.limit(() => {
        if (this.stop.signal.aborted) throw new DriveAbortedError();
        return plan.kind === 'binary' ? downloadBinary(this.api, f, opts) : plan.kind === 'export' ? downloadExport(this.api, plan.link, opts) : Promise.resolve(undefined);
      });
      try {
        let body: Buffer | NodeJS.ReadableStream;
        let sha256: string | undefined;
        let size: number;
        if (spool) {
          const d = await spool.finish();
          body = spool.body();
          sha256 = d.sha256;
          size = d.size;
        } else {
          body = recordBody(f);
          size = (body as Buffer).length;
        }
        const put = await this.ctx.uploadLimit(() => this.ctx.store.put(bucket, entry.key, body as Buffer, { contentType: plan.contentType, metadata, sha256, size }));
        await this.state.set(id, { ...entry, sha256: put.sha256, size: put.size });
        s.uploaded += 1;
        s.bytes += put.size;
        if (plan.kind === 'binary') s.downloaded += 1;
        else if (plan.kind === 'export') s.exported += 1;
        else s.records += 1;
      } finally {
        await spool?.dispose();
      }
    } catch (err) {
      await this.fail(f, entry, err);
    } finally {
      this.ctx.onProgress?.(this.subject.id, this.report);
    }
  }

  private async fail(f: DriveFile, entry: IndexEntry, err: unknown): Promise<void> {
    const id = f.id ?? '';
    this.reserved.delete(entry.path ?? '');
    if (err instanceof DriveAbortedError || err instanceof DriveQuotaError || err instanceof DriveStateError) {
      this.fatal ??= err;
      this.stop.abort();
      return;
    }
    const e = err instanceof DriveChecksumError ? err : classifyError(err, `file ${id}`);
    if (e instanceof DriveApiError && e.status === 403 && !e.retryable && !!e.reason && UNAVAILABLE_REASONS.has(e.reason)) {
      return this.unavailable(f, entry.path ?? '', `${e.reason ?? 'forbidden'}: ${e.message}`).catch((x: unknown) => { this.fatal ??= x as Error; });
    }
    this.report.stats.failed += 1;
    this.report.errorCount += 1;
    this.event({ type: 'failed', fileId: id, path: entry.path, reason: e.message });
    // A file backed up before keeps its last good backup (key, path, sha256) and so its claim on
    // the path; the failure is recorded beside it and retried next run.
    const prev = this.state.get(id);
    const next: IndexEntry = prev?.key ? { ...prev, failed: e.message } : { ...entry, key: '', kind: 'failed', reason: e.message };
    await this.state.set(id, next).catch((x: unknown) => { this.fatal ??= x as Error; this.stop.abort(); });
  }
}

export { FILE_FIELDS };
