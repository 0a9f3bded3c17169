/** Translate @azure/storage-blob (RestError) failures into the storage port's typed errors. */
import { NoSuchBucketError, NoSuchObjectError, PreconditionFailedError, StorageError } from '../errors';

interface RestErrorShape {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  details?: { errorCode?: string };
}

const RETRYABLE_CODES = new Set(['ServerBusy', 'OperationTimedOut', 'InternalError', 'REQUEST_SEND_ERROR', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** The service's error code (x-ms-error-code), wherever the SDK put it. */
export function azureErrorCode(err: unknown): string {
  const e = (err ?? {}) as RestErrorShape;
  return e.details?.errorCode ?? e.code ?? '';
}

/**
 * Map an SDK error to NoSuchObject/NoSuchBucket/PreconditionFailed/StorageError(retryable).
 * Azure answers a taken key under `If-None-Match: *` with 409 BlobAlreadyExists where S3 answers
 * 412: both are PreconditionFailedError here, as the port promises.
 */
export function translateAzureError(err: unknown, bucket: string, key?: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (err ?? {}) as RestErrorShape;
  const status = e.statusCode;
  const code = azureErrorCode(err);
  if (code === 'ContainerNotFound') return new NoSuchBucketError(bucket, { cause: err });
  if (code === 'BlobNotFound' || (status === 404 && key !== undefined)) return new NoSuchObjectError(bucket, key ?? '', { cause: err });
  if (status === 404) return new NoSuchBucketError(bucket, { cause: err });
  if (status === 412 || code === 'ConditionNotMet' || code === 'BlobAlreadyExists' || code === 'SourceConditionNotMet') {
    return new PreconditionFailedError(bucket, key ?? '', { cause: err });
  }
  const retryable = RETRYABLE_CODES.has(code) || status === 429 || (status !== undefined && status >= 500 && status !== 501);
  const where = key === undefined ? bucket : `${bucket}/${key}`;
  // The message carries code and status only: the SDK's request (with any SAS) stays in `cause`,
  // whose inspect output the SDK redacts.
  const text = (e.message ?? String(err)).split('\n')[0];
  return new StorageError(`azure ${where}: ${code || e.name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${text}`, bucket, key, retryable, { cause: err });
}
