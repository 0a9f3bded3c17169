/**
 * The files one extraction writes under its destination, tracked so that a failure leaves no
 * unverified byte and no debris behind: each member is written to a temporary sibling and renamed
 * into place only by commit(), once the caller knows it verified; discard() removes every
 * temporary not committed and every folder this extraction made that is left empty.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { safeExtractPath } from './safeExtract';

/** A member written to its temporary name, waiting for commit(). */
export interface StagedFile {
  path: string;
  tmp: string;
}

export class ExtractOutput {
  private readonly temps = new Set<string>();
  /** Folders this extraction created, in creation order (a parent before its children). */
  private readonly folders: string[] = [];

  private constructor(readonly root: string) {}

  /** Creates `root` and any missing parents, remembering which ones it made. */
  static async open(root: string): Promise<ExtractOutput> {
    const out = new ExtractOutput(root);
    const outermost = await mkdir(root, { recursive: true });
    if (outermost !== undefined) {
      const chain: string[] = [];
      for (let p = resolve(root); ; p = dirname(p)) {
        chain.unshift(p);
        if (p === outermost || dirname(p) === p) break;
      }
      out.folders.push(...chain);
    }
    return out;
  }

  /** Writes `body` to a fresh temporary file beside `relativeKey`'s final path (see safeExtractPath). */
  async stage(relativeKey: string, body: NodeJS.ReadableStream): Promise<StagedFile> {
    const { path, tmp, created } = await safeExtractPath(this.root, relativeKey);
    this.folders.push(...created);
    this.temps.add(tmp);
    await pipeline(body, createWriteStream(tmp, { flags: 'wx' }));
    return { path, tmp };
  }

  /** Renames a staged file into place: call only once its bytes are verified. */
  async commit(f: StagedFile): Promise<void> {
    await rename(f.tmp, f.path);
    this.temps.delete(f.tmp);
  }

  /** Removes every temporary not committed, then every folder this extraction made that is now empty (rmdir never removes anything else). */
  async discard(): Promise<void> {
    await Promise.all([...this.temps].map((t) => unlink(t).catch(() => undefined)));
    this.temps.clear();
    for (const f of [...this.folders].reverse()) await rmdir(f).catch(() => undefined);
    this.folders.length = 0;
  }
}
