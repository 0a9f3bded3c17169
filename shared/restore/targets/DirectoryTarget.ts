/** Restores into a local folder: never outside it, never through a planted symlink, atomic rename. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, realpath, rename, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileWriteError, safeExtractPath, sharedFileWriterPool, validateMemberName, type FileWriterPool } from '../../archive';
import { RestoreError } from '../errors';
import type { RestoreTarget, TargetFile, TargetState } from './port';

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class DirectoryTarget implements RestoreTarget {
  readonly acceptsBorrowedBuffers = true;
  private ready: Promise<void> | undefined;
  /** safeExtractPath checks then creates each folder: one resolution at a time, or parallel restores race on mkdir. */
  private resolving: Promise<unknown> = Promise.resolve();
  private readonly checkedDirs = new Set<string>();
  private realRoot: string | undefined;
  /** Temporary names: one random part per target and a counter (randomBytes per file cost ~20 µs each). */
  private readonly tmpTag = randomBytes(6).toString('hex');
  private tmpCount = 0;

  constructor(
    readonly root: string,
    private readonly writers: FileWriterPool = sharedFileWriterPool(),
  ) {}

  private resolvePath(path: string): Promise<{ path: string; tmp: string }> {
    // Folders this target already checked (or created) need no second walk: a bulk restore of
    // thousands of files into a few folders would otherwise lstat every component every time.
    validateMemberName(path);
    const cut = path.lastIndexOf('/');
    const dir = cut < 0 ? '' : path.slice(0, cut);
    const name = path.slice(cut + 1);
    if (this.checkedDirs.has(dir) && name !== '' && name !== '.' && name !== '..') {
      const folder = join(this.realRoot!, dir);
      return Promise.resolve({ path: join(folder, name), tmp: join(folder, `.${name.slice(0, 40)}.${this.tmpTag}-${(this.tmpCount++).toString(36)}.partial`) });
    }
    const next = this.resolving.then(async () => {
      const r = await safeExtractPath(this.root, path);
      this.realRoot ??= await realpath(this.root);
      if (r.path === join(this.realRoot, dir, name)) this.checkedDirs.add(dir);
      return r;
    });
    this.resolving = next.catch(() => undefined);
    return next;
  }

  describe(path: string): string {
    return join(this.root, path);
  }

  private ensureRoot(): Promise<void> {
    this.ready ??= mkdir(this.root, { recursive: true }).then(() => undefined);
    return this.ready;
  }

  async check(file: TargetFile): Promise<TargetState> {
    await this.ensureRoot();
    const { path } = await this.resolvePath(file.path);
    const st = await lstat(path).catch(() => undefined);
    if (!st) return 'absent';
    if (!st.isFile() || st.size !== file.size) return 'different';
    return (await sha256File(path)) === file.sha256 ? 'identical' : 'different';
  }

  async write(file: TargetFile, body: Readable | Buffer): Promise<void> {
    await this.ensureRoot();
    const { path, tmp } = await this.resolvePath(file.path);
    try {
      if (Buffer.isBuffer(body)) {
        if (body.length !== file.size) this.verify(file, body.length, createHash('sha256').update(body).digest('hex'));
        await this.writeSmall(file, body, path, tmp);
        return;
      } else {
        const hash = createHash('sha256');
        let size = 0;
        const digest = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            hash.update(chunk);
            size += chunk.length;
            cb(null, chunk);
          },
        });
        await pipeline(body, digest, createWriteStream(tmp, { flags: 'wx' }));
        this.verify(file, size, hash.digest('hex'));
      }
      if (file.lastModified) {
        const t = new Date(file.lastModified);
        if (!Number.isNaN(t.getTime())) await utimes(tmp, t, t);
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A small file read whole: hashed, written, dated and renamed by a writer thread in one batched
   * step (the main thread only queues it); nothing is written if its sha256 disagrees.
   */
  private async writeSmall(file: TargetFile, body: Buffer, path: string, tmp: string): Promise<void> {
    const t = file.lastModified ? new Date(file.lastModified).getTime() / 1000 : NaN;
    try {
      await this.writers.write({ path, tmp, data: body, sha256: file.sha256, ...(Number.isFinite(t) && { mtime: t }) });
    } catch (err) {
      if (err instanceof FileWriteError && err.check === 'sha256') this.verify(file, body.length, err.got ?? '');
      throw err;
    }
  }

  private verify(file: TargetFile, size: number, got: string): void {
    if (size !== file.size || got !== file.sha256) {
      throw new RestoreError(`${this.describe(file.path)}: restored ${size} bytes with sha256 ${got}, expected ${file.size} bytes with ${file.sha256}; not written`);
    }
  }
}
