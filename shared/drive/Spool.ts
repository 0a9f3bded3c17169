/**
 * Holds one downloaded file until it is verified: in memory up to `memoryLimit` bytes, then in a
 * temp file. sha256 and md5 are computed as bytes arrive, so the md5 is checked against Drive's
 * BEFORE anything is uploaded, and the upload carries the sha256 as its checksum.
 *
 * Every spool of a run draws on one SpoolBudget (memory and disk together): with 8 transfers of
 * multi-GiB files across concurrent users, spooling had no bound but the disk (ENOSPC on a 20 GiB
 * Fargate volume); now a download waits for room before it starts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { DriveAbortedError } from './errors';

/** Default spool budget of a run: 8 GiB (a 20 GiB Fargate volume also holds the index logs and the image). */
export const DEFAULT_SPOOL_BUDGET_BYTES = 8 * 1024 ** 3;

/**
 * Bytes that a run's spools may hold at once. A download reserves its file's size before it
 * starts and waits, first come first served, until that fits; a file larger than the whole budget
 * goes alone (once nothing else is held). A stream of unknown size (an export) reserves what it
 * receives as it goes without waiting — exports are documents, small next to binaries — and so
 * delays the next download instead: waiting in mid-stream could deadlock two growing exports.
 */
export class SpoolBudget {
  private used = 0;
  /** The most held at once (tests and the benchmark check it against the limit). */
  peak = 0;
  private readonly waiters: { n: number; go: () => void }[] = [];

  constructor(readonly limitBytes = DEFAULT_SPOOL_BUDGET_BYTES) {}

  get held(): number {
    return this.used;
  }

  /** Waits until `n` bytes fit, then holds them. */
  async reserve(n: number, signal?: AbortSignal): Promise<void> {
    if (this.waiters.length === 0 && this.fits(n)) return this.take(n);
    await new Promise<void>((resolve, reject) => {
      const w = { n, go: () => { signal?.removeEventListener('abort', onAbort); resolve(); } };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new DriveAbortedError());
        this.wake();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }

  /** Holds `n` more bytes without waiting (a stream that outgrew its reservation). */
  force(n: number): void {
    this.take(n);
  }

  /** Gives `n` bytes back and starts whoever now fits. */
  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    this.wake();
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.limitBytes;
  }

  private take(n: number): void {
    this.used += n;
    this.peak = Math.max(this.peak, this.used);
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].n)) {
      const w = this.waiters.shift()!;
      this.take(w.n);
      w.go();
    }
  }
}

export class Spool {
  private chunks: Buffer[] = [];
  private file: fs.FileHandle | undefined;
  private path: string | undefined;
  private sha = createHash('sha256');
  private md5h = createHash('md5');
  size = 0;
  private digests: { sha256: string; md5: string } | undefined;
  /** Bytes held from the budget (returned by dispose). */
  private held = 0;

  constructor(private readonly memoryLimit = 8 * 1024 * 1024, private readonly dir = tmpdir(), private readonly budget?: SpoolBudget) {}

  /** Holds room for `n` bytes before the first write (waits while the run's spools are full). */
  async reserve(n: number, signal?: AbortSignal): Promise<void> {
    if (!this.budget || n <= this.held) return;
    await this.budget.reserve(n - this.held, signal);
    this.held = n;
  }

  async write(chunk: Buffer): Promise<void> {
    this.sha.update(chunk);
    this.md5h.update(chunk);
    this.size += chunk.length;
    if (this.budget && this.size > this.held) {
      this.budget.force(this.size - this.held);
      this.held = this.size;
    }
    if (!this.file && this.size <= this.memoryLimit) {
      this.chunks.push(chunk);
      return;
    }
    if (!this.file) {
      this.path = join(this.dir, `xregion-drive-${randomBytes(8).toString('hex')}.part`);
      this.file = await fs.open(this.path, 'w');
      for (const c of this.chunks) await this.file.write(c);
      this.chunks = [];
    }
    await this.file.write(chunk);
  }

  /** Finishes hashing; call once all bytes are in. */
  async finish(): Promise<{ sha256: string; md5: string; size: number }> {
    if (!this.digests) {
      this.digests = { sha256: this.sha.digest('hex'), md5: this.md5h.digest('hex') };
      await this.file?.close();
      this.file = undefined;
    }
    return { ...this.digests, size: this.size };
  }

  /** The bytes, for the upload. */
  body(): Buffer | Readable {
    return this.path ? createReadStream(this.path) : Buffer.concat(this.chunks);
  }

  /** Frees memory, removes the temp file and gives its room back to the budget. */
  async dispose(): Promise<void> {
    this.chunks = [];
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
    if (this.path) await fs.rm(this.path, { force: true });
    this.path = undefined;
    this.budget?.release(this.held);
    this.held = 0;
  }
}
