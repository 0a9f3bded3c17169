/** Restores into a bucket (S3 or local) under a prefix, with the original content type, metadata and tags. */
import type { Readable } from 'node:stream';
import { validateMemberName } from '../../archive';
import { NoSuchObjectError, type ObjectStore } from '../../storage';
import { createHash } from 'node:crypto';
import type { RestoreTarget, TargetFile, TargetState } from './port';

export class ObjectStoreTarget implements RestoreTarget {
  readonly needsMetadata = true;
  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
    readonly prefix: string,
  ) {}

  /** The key a relative path lands on. */
  keyOf(path: string): string {
    validateMemberName(path);
    return `${this.prefix}${this.prefix && !this.prefix.endsWith('/') ? '/' : ''}${path}`;
  }

  describe(path: string): string {
    return `s3://${this.bucket}/${this.keyOf(path)}`;
  }

  async check(file: TargetFile): Promise<TargetState> {
    const key = this.keyOf(file.path);
    let info;
    try {
      info = await this.store.head(this.bucket, key);
    } catch (err) {
      if (err instanceof NoSuchObjectError) return 'absent';
      throw err;
    }
    if (info.size !== file.size) return 'different';
    if (info.sha256) return info.sha256 === file.sha256 ? 'identical' : 'different';
    // No recorded hash (written by something else): hash the content.
    const { body } = await this.store.get(this.bucket, key);
    const h = createHash('sha256');
    for await (const c of body) h.update(c as Buffer);
    return h.digest('hex') === file.sha256 ? 'identical' : 'different';
  }

  async write(file: TargetFile, body: Readable | Buffer): Promise<void> {
    await this.store.put(this.bucket, this.keyOf(file.path), body, {
      size: file.size,
      sha256: file.sha256,
      ...(file.contentType !== undefined && { contentType: file.contentType }),
      metadata: file.metadata,
      ...(file.tags && Object.keys(file.tags).length > 0 && { tags: file.tags }),
    });
  }
}
