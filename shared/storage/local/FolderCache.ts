/**
 * Folders known to exist. Repeated mkdir/stat calls dominated small puts (measured with
 * bench/pipeline.ts), so the store creates, checks and prunes folders through this cache.
 */
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export class FolderCache {
  private readonly known = new Set<string>();

  /** mkdir -p, once per folder; returns the first folder it created (as mkdirSync), if any. */
  ensure(dir: string): string | undefined {
    if (this.known.has(dir)) return undefined;
    const first = mkdirSync(dir, { recursive: true });
    this.known.add(dir);
    return first;
  }

  /** True if `dir` is an existing folder. */
  exists(dir: string): boolean {
    if (this.known.has(dir)) return true;
    try {
      if (!statSync(dir).isDirectory()) return false;
    } catch {
      return false;
    }
    this.known.add(dir);
    return true;
  }

  /**
   * Removes empty folders from `dir` up to (not including) `stop`, forgetting only those (forgetting
   * all made every later put mkdir again). Callers create a folder and use it in one synchronous
   * step, so no prune can come between the two.
   */
  prune(dir: string, stop: string): void {
    for (let d = dir; d.startsWith(stop + path.sep); d = path.dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty (or gone): stop
      }
      this.known.delete(d);
    }
  }

  /** Forgets every folder (one was removed behind our back). */
  forget(): void {
    this.known.clear();
  }
}
