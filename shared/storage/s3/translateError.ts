/** Translate AWS SDK (S3) errors into the storage port's typed errors. */
import { NoSuchBucketError, NoSuchObjectError, PreconditionFailedError, StorageError } from '../errors';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** Map an SDK error to NoSuchObject/NoSuchBucket/PreconditionFailed/StorageError(retryable). */
export function translateS3Error(err: unknown, bucket: string, key?: string, ctx: { versionId?: string } = {}): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  if (name === 'NoSuchBucket') return new NoSuchBucketError(bucket, { cause: err });
  if (name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound' || status === 404) {
    return key === undefined ? new NoSuchBucketError(bucket, { cause: err }) : new NoSuchObjectError(bucket, key, { cause: err });
  }
  if (status === 412 || name === 'PreconditionFailed') {
    return new PreconditionFailedError(bucket, key ?? '', { cause: err });
  }
  // S3 answers a malformed or unknown version id with 400 InvalidArgument.
  if (ctx.versionId !== undefined && key !== undefined && status === 400 && /version/i.test(`${name} ${e.message ?? ''}`)) {
    return new NoSuchObjectError(bucket, key, { cause: err });
  }
  const retryable =
    RETRYABLE_NAMES.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    RETRYABLE_CODES.has(e.code ?? '') ||
    Boolean(e.$retryable);
  const where = key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
  return new StorageError(`${where}: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`, bucket, key, retryable, {
    cause: err,
  });
}
