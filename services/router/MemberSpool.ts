/**
 * Verified members held back until their whole archive has verified: the router reads an archive
 * once (one download, one decompression) and commits nothing to a normal destination before the
 * last member and the manifest check passed, so no object of a corrupt archive ever becomes
 * visible. Small members wait in memory up to a budget; the rest wait in files under the spool
 * directory (on ECS the task's ephemeral storage, locally the data dir) up to a limit. A member
 * past the limit is only verified in the pass and streamed by a second one after the commit.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ManifestObject } from '../../shared/archive';

/** Members up to this size may wait in memory. */
const MEMORY_MEMBER_BYTES = 1024 * 1024;
/** Default bytes of members waiting in memory at once (the rest spill to files). */
const DEFAULT_MEMORY_BUDGET = 64 * 1024 * 1024;
/** Default bytes of members waiting in files: within the 21 GiB a Fargate task has without asking for more. */
export const DEFAULT_SPOOL_LIMIT = 4 * 1024 * 1024 * 1024;

export interface SpooledMember {
  object: ManifestObject;
  /** A fresh stream (or the bytes) of the member, as often as asked. */
  open(): Readable | Buffer;
}

export class MemberSpool {
  private readonly members: SpooledMember[] = [];
  private inMemory = 0;
  private dir: string | undefined;

  private inFiles = 0;

  constructor(
    private readonly root: string,
    private readonly opts: { memoryBudget?: number; fileLimit?: number } = {},
  ) {}

  /** True when a member of this size still fits (in memory or in files). */
  fits(size: number): boolean {
    return this.fitsInMemory(size) || this.inFiles + size <= (this.opts.fileLimit ?? DEFAULT_SPOOL_LIMIT);
  }

  private fitsInMemory(size: number): boolean {
    return size <= MEMORY_MEMBER_BYTES && this.inMemory + size <= (this.opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET);
  }

  /** Reads a member whole (its body errors if its sha256 disagrees with the manifest) and keeps it for commit; call only when it fits. */
  async add(object: ManifestObject, body: Readable): Promise<void> {
    if (this.fitsInMemory(object.size)) {
      const bytes = Buffer.concat(await body.toArray());
      this.inMemory += bytes.length;
      this.members.push({ object, open: () => bytes });
      return;
    }
    this.dir ??= await this.makeDir();
    const file = join(this.dir, String(this.members.length));
    this.inFiles += object.size;
    await pipeline(body, createWriteStream(file, { flags: 'wx' }));
    this.members.push({ object, open: () => createReadStream(file) });
  }

  /** The members kept, in archive order. */
  get entries(): readonly SpooledMember[] {
    return this.members;
  }

  /** Removes the spool's files. */
  async discard(): Promise<void> {
    this.members.length = 0;
    this.inMemory = 0;
    this.inFiles = 0;
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }

  private async makeDir(): Promise<string> {
    const dir = join(this.root, randomUUID());
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

/** Removes what earlier (killed) routers left under a spool root; for the root's only owner at its start. */
export async function sweepSpoolRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}
