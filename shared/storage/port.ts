/**
 * The ObjectStore port: the only way services touch object storage.
 *
 * Contract every adapter guarantees (the contract suite in test/contract checks each one):
 * - Atomic commit: a put is either wholly visible or not at all. When `sha256` is given, the
 *   adapter hashes the bytes as they stream and refuses to commit on a mismatch
 *   (ChecksumMismatchError); nothing becomes visible.
 * - "Not found" is always NoSuchObjectError (never an SDK-specific error); a failed IfMatch is
 *   PreconditionFailedError. Both are permanent: retrying will not help.
 * - StorageError.retryable is true for throttling (503 SlowDown, 429), 5xx and network resets.
 * - Every put records the object's sha256 (hex) in the user metadata key `xregion-sha256`, so a
 *   later reader can compare content without reading it (S3 has no full-object sha256 for
 *   multipart uploads).
 *   The one exception: a stream larger than the multipart threshold put WITHOUT `sha256` on S3
 *   (metadata is sent before the first part, when the hash is not yet known); PutResult.sha256
 *   still carries the computed hash. Pass `sha256` when you know it.
 * - ETags are returned WITHOUT surrounding quotes by every adapter (S3 quotes them; the S3 adapter
 *   strips them). `ifMatch` accepts either form. A local ETag is the md5 hex of the content; an S3
 *   multipart ETag is `md5-of-md5s-N`: compare ETags only with ETags from the same store.
 * - versionId is opaque. S3 keeps old versions in versioned buckets; the local adapter keeps only
 *   the current one, so reading a non-current versionId is NoSuchObjectError there.
 * - storageClass is always set on reads ('STANDARD' when the store reports none).
 * - Keys the store cannot represent (local: `..`/`.`/empty segments, a leading or trailing `/`,
 *   NUL, over 1024 bytes) are InvalidKeyError.
 * - list() pages through everything under the prefix in lexicographic (UTF-8 byte) key order.
 * Bodies are streams: an adapter never buffers a whole object in memory (it buffers at most
 * the multipart threshold times the upload concurrency).
 */
import type { Readable } from 'node:stream';

/** User metadata key under which adapters record an object's full sha256 (hex). */
export const SHA256_METADATA_KEY = 'xregion-sha256';

export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  /** Without quotes. */
  etag: string;
  versionId?: string;
  lastModified: Date;
  contentType?: string;
  storageClass?: string;
  /** User metadata (S3 `x-amz-meta-*`), keys lower-case. */
  metadata: Record<string, string>;
  /** Object tags; present only when asked for with `withTags`. */
  tags?: Record<string, string>;
  /** Full-object sha256 (hex) recorded at put time (the `xregion-sha256` metadata); every adapter fills it when present. */
  sha256?: string;
}

export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
  storageClass?: string;
}

export interface ReadOptions {
  /** Read exactly this version. */
  versionId?: string;
  /** Fail with PreconditionFailedError unless the current ETag matches. */
  ifMatch?: string;
}

export interface HeadOptions extends ReadOptions {
  withTags?: boolean;
}

export interface WriteOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  storageClass?: string;
  /** SSE-KMS key id or ARN; empty means the bucket default. */
  kmsKeyId?: string;
}

export interface PutOptions extends WriteOptions {
  /** Expected length in bytes, when known. */
  size?: number;
  /**
   * Expected sha256 (hex): the put commits only if the streamed bytes match. When absent, a
   * `xregion-sha256` value in `metadata` is the expectation (so a recorded hash is always verified).
   */
  sha256?: string;
  /** Above this many bytes, upload in parts of this size (default: the adapter's, 16 MiB; min 5 MiB on S3). */
  multipartThreshold?: number;
  /**
   * S3 conditional writes: `ifNoneMatch: '*'` commits only if no object exists at the key,
   * `ifMatch` only if the current object has this ETag; otherwise PreconditionFailedError and
   * nothing is written. Single-part bodies only (up to the multipart threshold).
   */
  ifNoneMatch?: '*';
  ifMatch?: string;
}

export interface PutResult {
  /** Without quotes. */
  etag: string;
  versionId?: string;
  /** Hex sha256 of the content; for copy() the source's recorded sha256, '' when it has none. */
  sha256: string;
  size: number;
}

export interface CopyOptions extends WriteOptions {
  /**
   * Replace content type, metadata and tags with the given ones instead of copying the source's
   * (without it those three options are ignored; storageClass and kmsKeyId always apply). The
   * source's `xregion-sha256` is carried over either way.
   */
  replaceMetadata?: boolean;
}

export interface ObjectStore {
  /** Metadata of one object; NoSuchObjectError when absent. */
  head(bucket: string, key: string, opts?: HeadOptions): Promise<ObjectInfo>;
  /** Streaming read of a whole object; consume or destroy `body` (it holds a connection/file). */
  get(bucket: string, key: string, opts?: ReadOptions): Promise<{ info: ObjectInfo; body: Readable }>;
  /** Bytes [offset, offset+length) of an object (clamped at its end). */
  getRange(bucket: string, key: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer>;
  /** Streaming write; multipart above the threshold; atomic; verifies sha256 when given. */
  put(bucket: string, key: string, body: Readable | Buffer, opts?: PutOptions): Promise<PutResult>;
  /** Server-side copy (multipart copy above 5 GB). */
  copy(source: ObjectRef, target: { bucket: string; key: string }, opts?: CopyOptions): Promise<PutResult>;
  /** Every object under the prefix, paging as needed. */
  list(bucket: string, prefix?: string): AsyncIterable<ObjectSummary>;
  /** Delete one object (or one version); deleting a missing key is not an error. */
  delete(bucket: string, key: string, opts?: { versionId?: string }): Promise<void>;
}
