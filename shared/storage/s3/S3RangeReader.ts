/** RangeReader over an S3 (or any ObjectStore) object via ranged GETs, pinned to one version. */
import type { RangeReader } from '../../archive/RangeReader';
import type { ObjectStore, ReadOptions } from '../port';

export interface S3RangeReaderOptions {
  /** Read exactly this version. */
  versionId?: string;
  /** Fail with PreconditionFailedError if the object's ETag changes under us. */
  etag?: string;
  /** Known size: saves the HEAD. */
  size?: number;
}

/**
 * Random access to one object. When neither versionId nor etag is given, the first size()/read()
 * pins the ETag it sees, so every later read fails loudly (PreconditionFailedError) instead of
 * mixing bytes of two versions.
 */
export class S3RangeReader implements RangeReader {
  private knownSize: number | undefined;
  private readonly pin: ReadOptions;

  constructor(
    private readonly store: ObjectStore,
    readonly bucket: string,
    readonly key: string,
    opts: S3RangeReaderOptions = {},
  ) {
    this.knownSize = opts.size;
    this.pin = { versionId: opts.versionId, ifMatch: opts.etag };
  }

  async size(): Promise<number> {
    if (this.knownSize === undefined) {
      const info = await this.store.head(this.bucket, this.key, this.pin);
      this.knownSize = info.size;
      if (this.pin.versionId === undefined && this.pin.ifMatch === undefined) this.pin.ifMatch = info.etag;
    }
    return this.knownSize;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    if (this.pin.versionId === undefined && this.pin.ifMatch === undefined) await this.size();
    return this.store.getRange(this.bucket, this.key, offset, length, this.pin);
  }
}
