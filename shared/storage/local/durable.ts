/**
 * Durability for the local store and the local queue: what an acknowledged write needs to
 * survive a power loss, not just a process crash. A file is renamed into place only after its
 * bytes are on disk (fdatasync), else the rename can survive with the bytes lost: a name that
 * points at zeros, described by a sidecar that says they are fine. And a rename (or a new folder)
 * is on disk only once the folder holding the new entry is fsynced.
 *
 * The syncs run on the thread pool: one costs 0.5–2 ms on the bench machine's disk, hundreds of
 * times a metadata syscall, and the event loop keeps working meanwhile (the router writes 16
 * objects at a time, so their syncs overlap: bench:pipeline's 10,000 x 10 KB took 26.4 s with
 * synchronous syncs, 15.8 s with these, in single runs). Directory syncs are group commits:
 * every caller that asks for a folder in one event-loop turn shares one fsync, and a caller that
 * arrives while one is running waits for the next (the running one may have started before its
 * rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The sync calls, looked up at call time so tests can observe them. */
export const syncCalls = {
  fdatasync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void => fs.fdatasync(fd, cb),
  fsync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void => fs.fsync(fd, cb),
  fdatasyncSync: (fd: number): void => fs.fdatasyncSync(fd),
  fsyncSync: (fd: number): void => fs.fsyncSync(fd),
};

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** fdatasync an open file on the thread pool. */
export function syncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => syncCalls.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** fdatasync the file at `file` (written and closed by someone else: a stream, a link). */
export async function syncFile(file: string): Promise<void> {
  const fd = fs.openSync(file, 'r');
  try {
    await syncFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Create or replace `file` with `data` (one synchronous write: small files), fdatasynced first when `durable`. */
export async function writeFileDurably(file: string, data: string | Buffer, durable: boolean): Promise<void> {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    if (durable) await syncFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Synchronous writeFileDurably, for start-up paths where nothing else could run meanwhile. */
export function writeFileDurablySync(file: string, data: string | Buffer, durable: boolean): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, data);
    if (durable) syncCalls.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Append `data` to `file` (created if missing), fdatasynced when `durable`; true when the append created the file. */
export async function appendDurably(file: string, data: string, durable: boolean): Promise<boolean> {
  const fd = fs.openSync(file, 'a');
  try {
    const created = fs.fstatSync(fd).size === 0;
    fs.writeFileSync(fd, data);
    if (durable) await syncFd(fd);
    return created;
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a folder now, synchronously (start-up paths). A folder that is gone has nothing left to keep. */
export function syncDirSync(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw err;
  }
  try {
    syncCalls.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

async function syncDirNow(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (err) {
    if (errno(err) === 'ENOENT') return; // removed with its last entry: nothing left to keep
    throw err;
  }
  try {
    await new Promise<void>((resolve, reject) => syncCalls.fsync(fd, (err) => (err ? reject(err) : resolve())));
  } finally {
    fs.closeSync(fd);
  }
}

interface PendingSync {
  promise: Promise<void>;
  started: boolean;
}

/** Group-committed folder fsyncs, and the entries of new folders not yet on disk. */
export class DirSync {
  private readonly pending = new Map<string, PendingSync>();
  /** Folders created whose own entry (in their parent) is still being synced. */
  private readonly newFolders = new Map<string, Promise<void>>();

  /** Resolves once every entry `dir` had when this was called is on disk. */
  sync(dir: string): Promise<void> {
    const current = this.pending.get(dir);
    if (current && !current.started) return current.promise; // not begun yet: it covers us too
    const entry: PendingSync = { started: false, promise: Promise.resolve() };
    entry.promise = (current ? current.promise.catch(() => undefined) : Promise.resolve())
      .then(() => new Promise<void>((resolve) => setImmediate(resolve))) // let this turn's callers join
      .then(() => {
        entry.started = true;
        return syncDirNow(dir);
      })
      .finally(() => {
        if (this.pending.get(dir) === entry) this.pending.delete(dir);
      });
    this.pending.set(dir, entry);
    return entry.promise;
  }

  /**
   * Record that `mkdir -p` created `first` up to `leaf`, and start syncing their parents. Until
   * that is done, a write into any of them is not durable: folderDurable() waits for it, so a
   * second writer into a folder the first just made cannot return before the folder is on disk.
   */
  created(first: string, leaf: string): void {
    for (let d = leaf; ; d = path.dirname(d)) {
      const p = this.sync(path.dirname(d));
      this.newFolders.set(d, p);
      const done = (): void => {
        if (this.newFolders.get(d) === p) this.newFolders.delete(d);
      };
      p.then(done, done);
      if (d === first || path.dirname(d) === d) return;
    }
  }

  /** Resolves once `dir` and every folder above it are on disk as far as created() knows (rejects if such a sync failed). */
  async folderDurable(dir: string): Promise<void> {
    const waits: Promise<void>[] = [];
    for (let d = dir; ; d = path.dirname(d)) {
      const p = this.newFolders.get(d);
      if (p) waits.push(p);
      if (path.dirname(d) === d) break;
    }
    await Promise.all(waits);
  }
}
