/** Typed errors of the storage port; adapters translate SDK/filesystem errors into these. */
export class StorageError extends Error {
  constructor(
    message: string,
    readonly bucket: string,
    readonly key: string | undefined,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

/** The object (or version) does not exist. Permanent. */
export class NoSuchObjectError extends StorageError {
  constructor(bucket: string, key: string, options?: { cause?: unknown }) {
    super(`s3://${bucket}/${key}: no such object`, bucket, key, false, options);
    this.name = 'NoSuchObjectError';
  }
}

/** The bucket does not exist. Permanent. */
export class NoSuchBucketError extends StorageError {
  constructor(bucket: string, options?: { cause?: unknown }) {
    super(`s3://${bucket}: no such bucket`, bucket, undefined, false, options);
    this.name = 'NoSuchBucketError';
  }
}

/** An IfMatch (ETag) precondition failed: the object changed. Permanent. */
export class PreconditionFailedError extends StorageError {
  constructor(bucket: string, key: string, options?: { cause?: unknown }) {
    super(`s3://${bucket}/${key}: precondition failed (object changed)`, bucket, key, false, options);
    this.name = 'PreconditionFailedError';
  }
}

/** Streamed bytes did not match the expected sha256; nothing was committed. */
export class ChecksumMismatchError extends StorageError {
  constructor(bucket: string, key: string, readonly expected: string, readonly actual: string) {
    super(`s3://${bucket}/${key}: sha256 mismatch (expected ${expected}, got ${actual}); not committed`, bucket, key, false);
    this.name = 'ChecksumMismatchError';
  }
}

/** Streamed byte count did not match the declared size; nothing was committed. */
export class SizeMismatchError extends StorageError {
  constructor(bucket: string, key: string, readonly expected: number, readonly actual: number) {
    super(`s3://${bucket}/${key}: size mismatch (expected ${expected} bytes, got ${actual}); not committed`, bucket, key, false);
    this.name = 'SizeMismatchError';
  }
}

/** The key (or bucket name) cannot be stored by this adapter. Permanent. */
export class InvalidKeyError extends StorageError {
  constructor(bucket: string, key: string, readonly reason: string) {
    super(`s3://${bucket}/${key}: invalid key (${reason})`, bucket, key, false);
    this.name = 'InvalidKeyError';
  }
}

/**
 * The adapter cannot honour an option (e.g. a versionId on a store without blob versions, a KMS
 * key on Azure): refused rather than silently ignored. Permanent.
 */
export class UnsupportedOptionError extends StorageError {
  constructor(bucket: string, key: string | undefined, readonly option: string, readonly reason: string) {
    super(`${key === undefined ? bucket : `${bucket}/${key}`}: option "${option}" is not supported here (${reason})`, bucket, key, false);
    this.name = 'UnsupportedOptionError';
  }
}

/** A queue message body is not an S3 event notification. Permanent: dead-letter it. */
export class MalformedEventError extends Error {
  constructor(readonly reason: string, readonly body: string, options?: { cause?: unknown }) {
    super(`malformed S3 event (${reason}): ${body.length > 200 ? `${body.slice(0, 200)}…` : body}`, options);
    this.name = 'MalformedEventError';
  }
}
