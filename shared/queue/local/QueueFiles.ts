/**
 * How a LocalQueue keeps its messages in its folder, so a restarted process gets back every
 * un-deleted message with its receive count:
 *   <dir>/<id>.json     one message (send), or an array of messages (sendBatch: one file, one
 *                       sync and one rename for the lot), named by its first message's id
 *   <dir>/receives.log  journal: `<id> <receiveCount>` per delivery, `d <id>` per delete of a
 *                       message whose file still holds others
 *   <dir>/.tmp-*        a file being written (synced, then renamed to its name)
 * The journal is appended through one open descriptor (before: open, fstat, write, close per
 * receive), folded into the files when the queue is opened (a torn last line from a crash is
 * ignored), when it passes 4 MiB, and removed whenever the queue is empty.
 *
 * Everything here is synchronous but the syncs: each file is a few hundred bytes, and a
 * threadpool round trip per file cost several times the syscall on the bench machine. Receive
 * counts are synced before messages are handed out (a power loss loses no delivery count, so
 * poison messages still reach the DLQ); deletes are not (one undone by a power loss is a
 * redelivery, which at-least-once allows).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { DirSync, syncDirSync, syncFd, writeFileDurably, writeFileDurablySync } from '../../storage/local/durable';
import { PROCESS_TAG } from '../../storage/local/layout';
import { sweepTemp, type SweepResult } from '../../storage/local/tempFiles';
import { QueueError } from '../errors';

/** What a message file holds per message. */
export interface Stored {
  id: string;
  body: string;
  receiveCount: number;
  sentAt: number;
}

/** Receive-count journal in the queue's folder. */
const JOURNAL = 'receives.log';
/** Past this size the journal is folded into the message files during a run too. */
const JOURNAL_MAX_BYTES = 4 * 1024 * 1024;
/** Message temp files (a write, a sync and a rename away from a message file). */
const TEMP_PREFIX = '.tmp-';
/**
 * Opening removes temp files older than this. One lives for a write and an fdatasync,
 * milliseconds (seconds under heavy I/O), so an older one is a killed writer's, even if a second
 * process opened the same folder; the folder's owner calls sweepTempFiles() for the rest.
 */
const STALE_TEMP_MS = 10_000;
/** Message-file unlinks in flight at once (the thread pool has 4 threads, which the syncs need too). */
const UNLINKS = 2;

let tempCounter = 0;

/** Live messages by the file that holds them. */
export function groupByFile(messages: Iterable<{ stored: Stored; file: string }>): Map<string, Stored[]> {
  const out = new Map<string, Stored[]>();
  for (const { stored, file } of messages) {
    let list = out.get(file);
    if (!list) out.set(file, (list = []));
    list.push(stored);
  }
  return out;
}

export class QueueFiles {
  private readonly dirSync = new DirSync();
  /** Temp files of this queue's writes in flight: sweepTempFiles leaves them alone. */
  private readonly inFlight = new Set<string>();
  /** Live messages per file name. */
  private readonly files = new Map<string, Set<string>>();
  /** Files whose messages changed since the journal was last folded (received or partly deleted). */
  private readonly dirty = new Set<string>();
  private journalFd: number | undefined;
  /** Syncs in flight per journal descriptor (see received()). */
  private readonly syncing = new Map<number, number>();
  /** Files whose last message was deleted and whose unlink has not finished; free unlink slots; unlinks waiting for one. */
  private readonly unlinking = new Set<string>();
  private unlinkSlots = UNLINKS;
  private readonly unlinkWaiting: Array<() => void> = [];
  /** Bytes appended to the journal since it was last removed (it is always removed on load). */
  private journalBytes = 0;

  constructor(
    private readonly name: string,
    readonly dir: string,
    private readonly fsync: boolean,
  ) {}

  /** Creates the folder if needed, sweeps old temp files, and returns the persisted messages in send order (journal folded in). */
  load(): Array<{ stored: Stored; file: string }> {
    const dir = this.dir;
    const first = mkdirSync(dir, { recursive: true });
    // A new queue folder is an entry in its parent (and so on up): on disk before any send returns.
    if (first !== undefined && this.fsync) {
      for (let d = dir; ; d = path.dirname(d)) {
        syncDirSync(path.dirname(d));
        if (d === first) break;
      }
    }
    try {
      this.sweepTempFiles(STALE_TEMP_MS);
    } catch {
      // Only tidying: leftovers are never read, and the owner's sweepTempFiles() reports failures.
    }
    const byId = new Map<string, { stored: Stored; file: string }>();
    for (const name of readdirSync(dir).sort()) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue;
      try {
        const json = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Stored | Stored[];
        for (const s of Array.isArray(json) ? json : [json]) byId.set(s.id, { stored: s, file: name });
      } catch {
        // A torn write cannot happen (tmp + rename); an unreadable file is skipped, not fatal.
      }
    }
    for (const { stored, file } of byId.values()) this.member(file).add(stored.id);
    // Fold the journal into the files (a torn last line from a crash is ignored), then drop it.
    const journal = path.join(dir, JOURNAL);
    if (existsSync(journal)) {
      for (const line of readFileSync(journal, 'utf8').split('\n')) {
        const del = /^d (\S+)$/.exec(line);
        const count = del ? null : /^(\S+) (\d+)$/.exec(line);
        const m = byId.get((del ?? count)?.[1] ?? '');
        if (!m) continue;
        if (del) {
          byId.delete(m.stored.id);
          this.files.get(m.file)?.delete(m.stored.id);
          this.dirty.add(m.file);
        } else if (Number(count![2]) > m.stored.receiveCount) {
          m.stored.receiveCount = Number(count![2]);
          this.dirty.add(m.file);
        }
      }
      this.fold(() => groupByFile([...byId.values()]));
    }
    return [...byId.values()];
  }

  /** Writes messages as one new file (temp file, synced, renamed) and syncs the folder: on disk when this resolves. Returns its name. */
  async write(messages: Stored[]): Promise<string> {
    const file = `${messages[0]!.id}.json`;
    const tmp = this.tmpFile();
    try {
      await writeFileDurably(tmp, JSON.stringify(messages.length === 1 ? messages[0] : messages), this.fsync);
      renameSync(tmp, path.join(this.dir, file));
      if (this.fsync) await this.dirSync.sync(this.dir);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new QueueError(`${this.name}: persisting message ${messages[0]!.id} in ${this.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    } finally {
      this.inFlight.delete(tmp);
    }
    const members = this.member(file);
    for (const m of messages) members.add(m.id);
    return file;
  }

  /** Appends receive counts (synced before it resolves when fsync is on); folds the journal when it grew large. */
  async received(lines: Array<{ id: string; file: string; receiveCount: number }>, live: () => Map<string, Stored[]>): Promise<void> {
    try {
      const created = this.append(lines.map((l) => `${l.id} ${l.receiveCount}\n`).join(''));
      if (this.fsync) {
        // Counted, so that a fold or an emptied queue dropping the journal meanwhile does not
        // close the descriptor under this sync (it is closed when the last sync on it is done).
        const fd = this.journalFd!;
        this.syncing.set(fd, (this.syncing.get(fd) ?? 0) + 1);
        try {
          await syncFd(fd);
        } finally {
          const left = this.syncing.get(fd)! - 1;
          if (left > 0) this.syncing.set(fd, left);
          else {
            this.syncing.delete(fd);
            if (this.journalFd !== fd) closeSync(fd); // dropped meanwhile
          }
        }
      }
      // A journal the append created is a new folder entry: synced too.
      if (created && this.fsync) await this.dirSync.sync(this.dir);
    } catch (err) {
      throw new QueueError(`${this.name}: recording receive counts in ${path.join(this.dir, JOURNAL)} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    }
    for (const l of lines) this.dirty.add(l.file);
    if (this.journalBytes > JOURNAL_MAX_BYTES) {
      // Synchronous, so no receive appends to the journal between the fold and its removal. Rare
      // (every ~140,000 receives) and only for files whose messages changed.
      this.fold(live);
    }
  }

  /**
   * Forgets deleted messages; resolves once they are gone from the folder. A file goes with its
   * last message; until then each delete of one of its messages is a journal line (not synced).
   * Files are unlinked off the event loop, two at a time: unlinking on the event loop was 31% of
   * the pipeline's main thread with 10,000 messages (each unlink waited ~2 ms for the filesystem
   * journal while other threads' fsyncs held it). The journal is dropped once the queue is empty
   * and no unlink is pending, so no delete it recorded can come back.
   */
  async deleted(messages: Array<{ id: string; file: string }>, isEmpty: () => boolean): Promise<void> {
    let lines = '';
    const gone: string[] = [];
    for (const { id, file } of messages) {
      const members = this.files.get(file);
      members?.delete(id);
      if (members && members.size > 0) {
        lines += `d ${id}\n`;
        this.dirty.add(file);
        continue;
      }
      this.files.delete(file);
      this.dirty.delete(file);
      gone.push(file);
    }
    if (lines) this.append(lines);
    if (gone.length > 0) await Promise.all(gone.map((f) => this.unlinkLater(f)));
    // Nothing left to count: the journal goes too (it only ever describes live messages).
    if (isEmpty() && this.unlinking.size === 0) this.dropJournal();
  }

  /** Unlinks a message file off the event loop (at most UNLINKS at a time, so the syncs keep thread-pool threads). */
  private unlinkLater(file: string): Promise<void> {
    this.unlinking.add(file);
    return new Promise<void>((resolve) => {
      const run = (): void => {
        this.unlinkSlots -= 1;
        unlink(path.join(this.dir, file))
          .catch(() => undefined) // gone already (a fold removed it): fine
          .finally(() => {
            this.unlinking.delete(file);
            this.unlinkSlots += 1;
            this.unlinkWaiting.shift()?.();
            resolve();
          });
      };
      if (this.unlinkSlots > 0) run();
      else this.unlinkWaiting.push(run);
    });
  }

  /** See LocalQueue.sweepTempFiles. */
  sweepTempFiles(olderThanMs: number): SweepResult {
    return sweepTemp(this.dir, (name) => name.startsWith(TEMP_PREFIX), this.inFlight, olderThanMs);
  }

  /** Appends to the journal through its open descriptor (opened, and created, as needed); true when this created it. */
  private append(data: string): boolean {
    let created = false;
    if (this.journalFd === undefined) {
      const file = path.join(this.dir, JOURNAL);
      try {
        this.journalFd = openSync(file, 'ax');
        created = true;
      } catch {
        this.journalFd = openSync(file, 'a');
      }
    }
    const buf = Buffer.from(data);
    writeSync(this.journalFd, buf);
    this.journalBytes += buf.length;
    return created;
  }

  /** Rewrites every dirty file with its live messages (or removes it), syncs the folder, and drops the journal. */
  private fold(group: () => Map<string, Stored[]>): void {
    // Unlinks still pending have no journal line to fall back on once it is gone: done here.
    for (const file of this.unlinking) rmSync(path.join(this.dir, file), { force: true });
    const byFile = this.dirty.size > 0 ? group() : new Map<string, Stored[]>();
    for (const file of this.dirty) {
      const live = byFile.get(file) ?? [];
      if (live.length === 0) rmSync(path.join(this.dir, file), { force: true });
      else this.writeSync(file, live);
    }
    if (this.dirty.size > 0 && this.fsync) syncDirSync(this.dir);
    this.dirty.clear();
    this.dropJournal();
  }

  /** Removes the journal (every count and delete in it is in the files, or its messages are gone). */
  private dropJournal(): void {
    if (this.journalFd !== undefined && !this.syncing.has(this.journalFd)) closeSync(this.journalFd);
    this.journalFd = undefined;
    rmSync(path.join(this.dir, JOURNAL), { force: true });
    this.journalBytes = 0;
  }

  /** write() for load and journal folds, where nothing may come in between; the caller syncs the folder once for all. */
  private writeSync(file: string, messages: Stored[]): void {
    const tmp = this.tmpFile();
    try {
      writeFileDurablySync(tmp, JSON.stringify(messages.length === 1 ? messages[0] : messages), this.fsync);
      renameSync(tmp, path.join(this.dir, file));
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new QueueError(`${this.name}: persisting ${file} in ${this.dir} failed: ${(err as Error).message}`, this.name, false, { cause: err });
    } finally {
      this.inFlight.delete(tmp);
    }
  }

  private member(file: string): Set<string> {
    let s = this.files.get(file);
    if (!s) {
      s = new Set();
      this.files.set(file, s);
    }
    return s;
  }

  /** A new temp file path, tracked as in flight (a per-process tag and a counter: no CSPRNG call per message). */
  private tmpFile(): string {
    tempCounter += 1;
    const tmp = path.join(this.dir, `${TEMP_PREFIX}${PROCESS_TAG}${tempCounter.toString(16).padStart(6, '0')}`);
    this.inFlight.add(tmp);
    return tmp;
  }
}
