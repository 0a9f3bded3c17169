/**
 * Per-subject ingest state in the source bucket, under `_xregion/state/drive/{source}/{subject}/`:
 * - `state.json`: change token (committed only once every change before it is durable), the
 *   pending start token of an unfinished full listing, and the id of a run in progress;
 * - `index.jsonl`: fileId → key, md5/revision, sha256, one `[id, entry]` line per file (rewritten
 *   at the end of a run only when the run changed something);
 * - `journal/{runId}-{n}.jsonl`: index updates since, written every few files during a run, so a
 *   crash loses at most the last few entries — and those are recovered by checking the object's
 *   own metadata (see UserIngest), never by uploading again;
 * - `status.json`: the subject's status record (see statusRecord.ts).
 * While a run works, the index lives in an IndexStore (a log on local disk and a compact hash
 * table), streamed in from index.jsonl and the journal and streamed back out by compaction.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { NoSuchObjectError, PreconditionFailedError } from '../storage/errors';
import type { ObjectStore } from '../storage/port';
import { DriveStateError, DriveStateTakenOverError } from './errors';
import { readJsonObject, writeJsonObject } from '../storage/jsonObject';
import { IndexStore, select, type IndexSummary } from './IndexStore';

export interface IndexEntry {
  /** Object key ('' when nothing was stored). */
  key: string;
  kind: 'binary' | 'export' | 'record' | 'unavailable' | 'excluded' | 'failed' | 'not_owned';
  md5?: string;
  /** headRevisionId (binary) or version (native) the stored copy came from. */
  rev?: string;
  modifiedTime?: string;
  sha256?: string;
  size?: number;
  /** Path below the owner segment as stored (escaped names, with a ` [id]` suffix when one was needed). */
  path?: string;
  /** The path before any duplicate suffix (what the file's name and folder give today). */
  basePath?: string;
  /** Paths of the other parents of a multi-parent file. */
  alsoAt?: string[];
  reason?: string;
  /**
   * Why the last attempt failed, on an entry that keeps its previous backup (key, path, sha256):
   * the file is retried next run, and its path stays claimed so no other file takes its key.
   */
  failed?: string;
  /** Why the file is excluded now, on an entry that keeps its previous backup (see `failed`). */
  excluded?: string;
  deleted?: { time: string; reason: 'trashed' | 'removed' };
}

export interface StateDoc {
  version: 1;
  subject: string;
  driveId?: string;
  /** Committed change token: everything before it is backed up. */
  changeToken?: string;
  /** Start token taken before a full listing that has not finished yet. */
  pendingToken?: string;
  /** Set while a run works; still set at the next start means that run crashed. */
  inProgress?: string;
  lastRun?: string;
  /** Fingerprint of the exclude rules, size limit and export formats of the last finished run. */
  rules?: string;
}

export const STATE_ROOT = '_xregion/state/drive/';

export interface UserStateOptions {
  /** Journal the index every N changed files (default 50). */
  flushEvery?: number;
  /** Folder for the local index log (default a folder of the OS temp dir); removed by close(). */
  localDir?: string;
}

export class UserState {
  private pending: [string, IndexEntry | null][] = [];
  private journals: string[] = [];
  private seq = 0;
  private lastFlush = Date.now();
  private flushing: Promise<void> = Promise.resolve();
  /** Something this run recorded differs from index.jsonl (journal segments left by a crash count). */
  private changed = false;
  /** The previous run did not finish (crash or abort). */
  crashed = false;

  private constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    readonly base: string,
    public doc: StateDoc,
    /** ETag of state.json as this run last read or wrote it; undefined while there is none. */
    private stateEtag: string | undefined,
    private readonly runId: string,
    private readonly flushEvery: number,
    private readonly index: IndexStore,
  ) {}

  /** Reads state.json, then streams the compacted index and every journal segment into a local IndexStore. */
  static async load(store: ObjectStore, bucket: string, base: string, subject: string, runId: string, opts: UserStateOptions = {}): Promise<UserState> {
    const read = await readJsonObject(store, bucket, `${base}state.json`);
    const doc = (read?.value as StateDoc | undefined) ?? { version: 1, subject };
    const index = IndexStore.open(opts.localDir ?? join(tmpdir(), 'xregion-drive', `${process.pid}-${runId}`));
    const s = new UserState(store, bucket, base, doc, read?.etag, runId, opts.flushEvery ?? 50, index);
    try {
      s.crashed = !!doc.inProgress;
      await s.readLines(`${base}index.jsonl`);
      for await (const o of store.list(bucket, `${base}journal/`)) {
        s.journals.push(o.key);
        await s.readLines(o.key);
      }
      s.changed = s.journals.length > 0;
    } catch (err) {
      index.close();
      throw err;
    }
    return s;
  }

  private async readLines(key: string): Promise<void> {
    let body: Readable;
    try {
      body = (await this.store.get(this.bucket, key)).body;
    } catch (err) {
      if (err instanceof NoSuchObjectError) return;
      throw err;
    }
    for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let parsed: [string, IndexEntry | null];
      try {
        parsed = JSON.parse(line) as [string, IndexEntry | null];
      } catch (err) {
        throw new DriveStateError(`ingest state ${key} has a line that is not JSON: ${(err as Error).message}`, { cause: err });
      }
      // The line as written (JSON.stringify of [id, entry], as set() writes it): not re-serialized.
      this.index.apply(parsed[0], parsed[1], line);
    }
  }

  get(id: string): IndexEntry | undefined {
    return this.index.get(id);
  }

  /** Which file holds a stored path (for duplicate-name suffixes). */
  ownerOfPath(path: string): string | undefined {
    return this.index.ownerOfPath(path);
  }

  get size(): number {
    return this.index.size;
  }

  /** Counts over the index (files, bytes, unavailable, not owned, ...). */
  summary(): IndexSummary {
    return this.index.summary();
  }

  /** Bytes of memory the index's tables hold. */
  get indexTableBytes(): number {
    return this.index.tableBytes;
  }

  /**
   * One pass over the index for the files the next run looks at again before its changes: those
   * that failed (`failed: true`), and those a change of rules can affect — excluded files
   * (selection rules) and exported ones (formats).
   */
  async *recheck(which: { excluded: boolean; exports: boolean }): AsyncGenerator<{ id: string; failed: boolean }> {
    const want = (f: number): boolean => select.failed(f) || (which.excluded && select.excluded(f)) || (which.exports && select.exported(f));
    for await (const [id, e] of this.index.scan(want)) yield { id, failed: e.kind === 'failed' || e.failed !== undefined };
  }

  /** Records an index change; journaled every `flushEvery` changes or 5 s. An unchanged entry writes nothing. */
  async set(id: string, entry: IndexEntry): Promise<void> {
    if (!this.index.apply(id, entry)) return;
    this.changed = true;
    this.pending.push([id, entry]);
    if (this.pending.length >= this.flushEvery || Date.now() - this.lastFlush > 5000) await this.flush();
  }

  /** Writes buffered index changes as one journal segment (serialized). */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.lastFlush = Date.now();
    const run = this.flushing.then(async () => {
      if (batch.length === 0) return;
      const key = `${this.base}journal/${this.runId}-${String(++this.seq).padStart(6, '0')}.jsonl`;
      const body = batch.map((l) => JSON.stringify(l)).join('\n') + '\n';
      try {
        await this.store.put(this.bucket, key, Buffer.from(body), { contentType: 'application/x-ndjson' });
      } catch (err) {
        throw new DriveStateError(`cannot write ingest state ${key}: ${(err as Error).message}`, { cause: err });
      }
      this.journals.push(key);
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /**
   * Flushes the journal, then writes state.json with `patch` applied, only if it is still as this
   * run left it (If-Match, or If-None-Match for the first one): a run that stalled past its lease
   * cannot commit a change token over the run that took its subject over.
   */
  async save(patch: Partial<StateDoc>): Promise<void> {
    await this.flush();
    const doc: StateDoc = { ...this.doc, ...patch };
    for (const k of Object.keys(doc) as (keyof StateDoc)[]) if (doc[k] === undefined) delete doc[k];
    const key = `${this.base}state.json`;
    try {
      this.stateEtag = await writeJsonObject(this.store, this.bucket, key, doc, this.stateEtag === undefined ? { ifNoneMatch: '*' } : { ifMatch: this.stateEtag }, 1);
    } catch (err) {
      if (err instanceof PreconditionFailedError) throw new DriveStateTakenOverError(key, { cause: err });
      throw new DriveStateError(`cannot write ingest state ${key}: ${(err as Error).message}`, { cause: err });
    }
    this.doc = doc;
  }

  /**
   * Streams the index back into index.jsonl (one line per file) and removes the journal segments
   * it now contains — only when this run changed something: an unchanged daily run of a 1M-file
   * user writes nothing. Returns whether it wrote.
   */
  async compact(): Promise<boolean> {
    await this.flush();
    // Not over a run that took this subject over (its journal segments are not in this index).
    const key = `${this.base}state.json`;
    const now = await this.store.head(this.bucket, key).catch((err: unknown) => {
      if (err instanceof NoSuchObjectError) return undefined;
      throw err;
    });
    if (now?.etag !== this.stateEtag) throw new DriveStateTakenOverError(key);
    if (!this.changed) return false;
    try {
      await this.store.put(this.bucket, `${this.base}index.jsonl`, Readable.from(this.index.lines()), { contentType: 'application/x-ndjson' });
    } catch (err) {
      throw new DriveStateError(`cannot write ingest index: ${(err as Error).message}`, { cause: err });
    }
    // Deleting after the index is written: a crash in between only re-applies segments.
    for (const key of this.journals) await this.store.delete(this.bucket, key);
    this.journals = [];
    this.changed = false;
    return true;
  }

  /** Removes the local index log (the bucket's state stays). */
  close(): void {
    this.index.close();
  }
}
