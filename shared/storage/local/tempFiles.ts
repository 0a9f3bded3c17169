/** Sweeping the temp files of writes that never finished (the local store's and the local queue's). */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';

export interface SweepResult {
  files: number;
  bytes: number;
}

/**
 * Removes the regular files in `dir` whose names `isTemp` accepts, except those in `inFlight`
 * (full paths of this process's writes not yet renamed) and those modified less than
 * `olderThanMs` ago. Synchronous: run at start-up, and a few hundred unlinks at most. A missing
 * `dir` has nothing to sweep; other errors are thrown (the caller adds its context).
 */
export function sweepTemp(dir: string, isTemp: (name: string) => boolean, inFlight: ReadonlySet<string>, olderThanMs: number): SweepResult {
  const swept: SweepResult = { files: 0, bytes: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return swept;
    throw err;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    if (!isTemp(name) || inFlight.has(file)) continue;
    let size: number;
    try {
      const st = lstatSync(file);
      // olderThanMs 0 takes all: a file written this millisecond has an mtime past Date.now().
      if (!st.isFile() || (olderThanMs > 0 && Date.now() - st.mtimeMs < olderThanMs)) continue;
      size = st.size;
      rmSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // gone meanwhile
      throw err;
    }
    swept.files += 1;
    swept.bytes += size;
  }
  return swept;
}
