/**
 * One owning process per data dir. The appliance (`xregion start`, and anything else that writes
 * queues or source buckets of the embedded default) holds `<dataDir>/owner.lock` with its pid,
 * host and process start time. A lock whose process is dead (on this host) is taken over at once,
 * with a message; a live owner makes every other writer refuse. Readers (catalog, verify,
 * reconcile, restore to a folder) never take it.
 *
 * Why: the local queues are loaded into memory by their owner, so a second process that sent or
 * received messages in the same folders would process a persisted backlog twice or have its
 * events never seen until a restart.
 */
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface DataDirOwner {
  pid: number;
  host: string;
  /** Kernel start time of the process (Linux /proc), so a reused pid is not taken for the owner. */
  startTime?: string;
  command: string;
  since: string;
}

/** Another live process owns the data dir. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner,
  ) {
    super(
      `${dataDir} is in use by \`${owner.command}\` (pid ${owner.pid} on ${owner.host}, since ${owner.since}); ` +
        `stop it first, or let it do the work${owner.host === hostname() ? '' : `; if that host is gone, remove ${join(dataDir, LOCK_FILE)}`}`,
    );
    this.name = 'DataDirBusyError';
  }
}

const LOCK_FILE = 'owner.lock';

/** The kernel start time of a process, or undefined where /proc is not there. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name (field 2) may hold spaces, so count from its closing paren.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** True when the owner's process still runs (on this host; another host's owner counts as alive). */
function isAlive(owner: DataDirOwner): boolean {
  // An unreadable or torn lock names no process (pid 0 would be our own process group to kill()).
  if (!Number.isInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStartTime(owner.pid);
  return !(owner.startTime && start && start !== owner.startTime);
}

function sameOwner(a: DataDirOwner, b: DataDirOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.since === b.since && a.startTime === b.startTime;
}

function readOwner(file: string): DataDirOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DataDirOwner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // A torn lock (crash while writing it) has no live owner to protect.
    return { pid: 0, host: hostname(), command: 'unknown (unreadable lock)', since: '?' };
  }
}

export class DataDirLock {
  private released = false;

  private constructor(
    readonly dataDir: string,
    readonly owner: DataDirOwner,
  ) {}

  /** Takes the lock; a dead owner's lock is taken over (onTakeover says so). Throws DataDirBusyError when a live process holds it. */
  static acquire(dataDir: string, command: string, onTakeover: (dead: DataDirOwner) => void = () => undefined): DataDirLock {
    mkdirSync(dataDir, { recursive: true });
    const file = join(dataDir, LOCK_FILE);
    const me: DataDirOwner = { pid: process.pid, host: hostname(), startTime: processStartTime(process.pid), command, since: new Date().toISOString() };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const fd = openSync(file, 'wx');
        try {
          writeSync(fd, JSON.stringify(me));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        return new DataDirLock(dataDir, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = readOwner(file);
      if (!current) continue; // released meanwhile
      if (isAlive(current) && !(current.pid === me.pid && current.host === me.host)) throw new DataDirBusyError(dataDir, current);
      // Dead owner: move its lock aside (only one contender's rename succeeds), then create ours.
      const aside = join(dataDir, `${LOCK_FILE}.stale-${process.pid}`);
      try {
        renameSync(file, aside);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      const moved = readOwner(aside);
      if (moved && !sameOwner(moved, current)) {
        // Another contender took over between our read and our rename: that was its live lock. Put it back.
        try {
          linkSync(aside, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        rmSync(aside, { force: true });
        continue;
      }
      rmSync(aside, { force: true });
      onTakeover(current);
    }
    throw new Error(`${file}: could not take the data-dir lock (it kept changing hands)`);
  }

  /** Releases the lock (idempotent); only removes it while it is still ours. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const file = join(this.dataDir, LOCK_FILE);
    const current = readOwner(file);
    if (current && current.pid === this.owner.pid && current.host === this.owner.host) rmSync(file, { force: true });
  }
}
