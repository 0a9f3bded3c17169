/**
 * Where restored files go. Every target guarantees: a file becomes visible only once all of its
 * bytes arrived and their sha256 matched (a failed restore leaves nothing behind); `path` is a
 * safe relative name (checked by the caller with validateMemberName and again by the target).
 */
import type { Readable } from 'node:stream';

/** One file to restore: where, and what it must be. */
export interface TargetFile {
  /** Relative path under the target (`/`-separated). */
  path: string;
  size: number;
  /** Expected sha256 (hex). */
  sha256: string;
  contentType?: string;
  /** Original user metadata (S3 x-amz-meta-*). */
  metadata: Record<string, string>;
  tags?: Record<string, string>;
  /** Original LastModified (ISO-8601). */
  lastModified?: string;
}

/** What is at a target path now. */
export type TargetState = 'absent' | 'identical' | 'different';

export interface RestoreTarget {
  /**
   * True when the target keeps user metadata and tags (a bucket, Drive): the archive's manifest
   * must then be read. A folder needs only the bytes, so catalog rows suffice.
   */
  readonly needsMetadata?: boolean;
  /**
   * True when write() may be given a Buffer that is a view of a shared, pooled frame buffer, valid
   * only until write() settles (a folder hands it to a writer thread without a copy). Others get
   * a copy of their own.
   */
  readonly acceptsBorrowedBuffers?: boolean;
  /** Human-readable location of a path, for messages. */
  describe(path: string): string;
  /** Compares what exists at `file.path` with the file to restore. */
  check(file: TargetFile): Promise<TargetState>;
  /**
   * Writes `body`; commits only when it ends without error with the expected size and sha256. A
   * Buffer is a small file already read whole (no stream machinery per file).
   */
  write(file: TargetFile, body: Readable | Buffer): Promise<void>;
  /** Releases resources. */
  close?(): Promise<void>;
}
