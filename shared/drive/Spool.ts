/**
 * Holds one downloaded file until it is verified: in memory up to `memoryLimit` bytes, then in a
 * temp file. sha256 and md5 are computed as bytes arrive, so the md5 is checked against Drive's
 * BEFORE anything is uploaded, and the upload carries the sha256 as its checksum.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

export class Spool {
  private chunks: Buffer[] = [];
  private file: fs.FileHandle | undefined;
  private path: string | undefined;
  private sha = createHash('sha256');
  private md5h = createHash('md5');
  size = 0;
  private digests: { sha256: string; md5: string } | undefined;

  constructor(private readonly memoryLimit = 8 * 1024 * 1024, private readonly dir = tmpdir()) {}

  async write(chunk: Buffer): Promise<void> {
    this.sha.update(chunk);
    this.md5h.update(chunk);
    this.size += chunk.length;
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

  /** Frees memory and removes the temp file. */
  async dispose(): Promise<void> {
    this.chunks = [];
    await this.file?.close().catch(() => undefined);
    this.file = undefined;
    if (this.path) await fs.rm(this.path, { force: true });
    this.path = undefined;
  }
}
