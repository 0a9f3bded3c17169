/**
 * When is a file dropped into a bucket folder complete? Only its writer knows; from outside, the
 * best sign is that nothing about it changed for a while. A file's mtime alone is not that sign:
 * tools that keep the source's timestamps (sync clients, `rsync --inplace -t`, some downloaders)
 * stamp an old mtime while still writing, and a writer whose clock is ahead stamps a future one.
 * So a scan remembers, per key, the first time it saw each (size, mtime, inode) and calls the
 * file settled only when a later scan, `settleMs` or more after that, sees the very same values.
 * A file already older than `settleMs` when first seen (there before the process started) is
 * taken at once, as restarts would otherwise delay every waiting file by a settle time.
 * Observations live in memory only: after a restart a file is either old (taken at once) or
 * observed again.
 */
import type { Stats } from 'node:fs';

interface Observation {
  size: number;
  mtimeMs: number;
  ino: number;
  /** performance.now() of the first scan that saw these values: immune to wall-clock steps. */
  seenAt: number;
}

export class SettleTracker {
  private readonly buckets = new Map<string, Map<string, Observation>>();

  /**
   * True when `st` is settled: seen with these values `settleMs` or more ago, or, seen for the
   * first time, already older than `settleMs` by its mtime. Records a new observation otherwise.
   * A settled key is forgotten (the caller announces it or finds it needs no announcement).
   */
  settled(bucket: string, key: string, st: Stats, settleMs: number): boolean {
    const seen = this.seen(bucket);
    if (settleMs <= 0) {
      // No settling asked for (and a file written this millisecond has an mtime past Date.now()).
      seen.delete(key);
      return true;
    }
    const o = seen.get(key);
    if (o === undefined && Date.now() - st.mtimeMs >= settleMs) return true;
    if (o === undefined || o.size !== st.size || o.mtimeMs !== st.mtimeMs || o.ino !== st.ino) {
      this.observe(bucket, key, st);
      return false;
    }
    if (performance.now() - o.seenAt < settleMs) return false;
    seen.delete(key);
    return true;
  }

  /** Record `st` as first seen now (the file changed while it was being read, say). */
  observe(bucket: string, key: string, st: Stats): void {
    this.seen(bucket).set(key, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, seenAt: performance.now() });
  }

  /** Forget a key: announced, or needing no announcement. */
  forget(bucket: string, key: string): void {
    this.buckets.get(bucket)?.delete(key);
  }

  /** After a complete walk of `prefix`: forget keys under it that the walk did not meet (removed since). */
  retainVisited(bucket: string, prefix: string, visited: ReadonlySet<string>): void {
    const seen = this.buckets.get(bucket);
    if (!seen) return;
    for (const key of seen.keys()) if (key.startsWith(prefix) && !visited.has(key)) seen.delete(key);
  }

  /** Files of `bucket` seen by a scan and not settled yet. */
  count(bucket: string): number {
    return this.buckets.get(bucket)?.size ?? 0;
  }

  private seen(bucket: string): Map<string, Observation> {
    let seen = this.buckets.get(bucket);
    if (!seen) {
      seen = new Map();
      this.buckets.set(bucket, seen);
    }
    return seen;
  }
}
