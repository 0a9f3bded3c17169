/**
 * The files one extraction writes under its destination, tracked so that a failure leaves no
 * unverified byte and no debris behind: each member is written to a temporary sibling and renamed
 * into place only once the caller knows it verified (commit() for a staged stream, or write() of
 * bytes already verified, which creates and renames the file on a writer thread); discard()
 * waits for the writes in flight (all of verified bytes), then removes every temporary not
 * renamed and every folder this extraction made that is left empty.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rmdir, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sharedFileWriterPool, type FileWriterPool } from './FileWriterPool';
import { SafePathResolver } from './safeExtract';

/** A member written to its temporary name, waiting for commit(). */
export interface StagedFile {
  path: string;
  tmp: string;
}

/** Verified bytes in flight at most (their buffers are held until written). */
const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
const MAX_INFLIGHT_FILES = 256;

export class ExtractOutput {
  private readonly temps = new Set<string>();
  /** Folders this extraction created, in creation order (a parent before its children). */
  private readonly folders: string[] = [];
  private readonly paths: SafePathResolver;
  private readonly inflight = new Set<Promise<void>>();
  private inflightBytes = 0;
  private writeError: unknown;

  private constructor(
    readonly root: string,
    private readonly writers: FileWriterPool,
  ) {
    this.paths = new SafePathResolver(root);
  }

  /** Creates `root` and any missing parents, remembering which ones it made. */
  static async open(root: string, writers: FileWriterPool = sharedFileWriterPool()): Promise<ExtractOutput> {
    const out = new ExtractOutput(root, writers);
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

  /** Final path and temporary of `relativeKey` (unsafe names and symlinked folders refused; folders created once). */
  private async prepare(relativeKey: string): Promise<StagedFile> {
    const { path, tmp, created } = await this.paths.resolve(relativeKey);
    this.folders.push(...created);
    this.temps.add(tmp);
    return { path, tmp };
  }

  /** Writes `body` to a fresh temporary file beside `relativeKey`'s final path (see safeExtractPath). */
  async stage(relativeKey: string, body: NodeJS.ReadableStream): Promise<StagedFile> {
    const f = await this.prepare(relativeKey);
    await pipeline(body, createWriteStream(f.tmp, { flags: 'wx' }));
    return f;
  }

  /** Renames a staged file into place: call only once its bytes are verified. */
  async commit(f: StagedFile): Promise<void> {
    await rename(f.tmp, f.path);
    this.temps.delete(f.tmp);
  }

  /**
   * Creates `relativeKey` from bytes the caller has verified (temporary, then rename, on a writer
   * thread); `done` runs once the file is in place or failed. Resolves as soon as there is room
   * for another write; a failed write is thrown by a later write() or by flush().
   */
  async write(relativeKey: string, data: Buffer, done?: () => void): Promise<void> {
    if (this.writeError) throw this.writeError;
    let f: StagedFile;
    try {
      f = await this.prepare(relativeKey);
    } catch (err) {
      done?.();
      throw err;
    }
    this.inflightBytes += data.length;
    const w: Promise<void> = this.writers
      .write({ path: f.path, tmp: f.tmp, data })
      .then(
        () => {
          this.temps.delete(f.tmp);
        },
        (err: unknown) => {
          this.writeError ??= err;
        },
      )
      .finally(() => {
        this.inflight.delete(w);
        this.inflightBytes -= data.length;
        done?.();
      });
    this.inflight.add(w);
    while (this.inflight.size >= MAX_INFLIGHT_FILES || (this.inflightBytes > MAX_INFLIGHT_BYTES && this.inflight.size > 0)) await Promise.race(this.inflight);
    if (this.writeError) throw this.writeError;
  }

  /** Waits for every write(); throws the first that failed. */
  async flush(): Promise<void> {
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    if (this.writeError) throw this.writeError;
  }

  /** Waits for the writes in flight, then removes every temporary not committed and every folder this extraction made that is now empty (rmdir never removes anything else). */
  async discard(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await Promise.all([...this.temps].map((t) => unlink(t).catch(() => undefined)));
    this.temps.clear();
    for (const f of [...this.folders].reverse()) await rmdir(f).catch(() => undefined);
    this.folders.length = 0;
  }
}
