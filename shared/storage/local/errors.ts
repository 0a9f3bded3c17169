/** Errors of the local ObjectStore beyond the port's (shared/storage/errors.ts). */
import { StorageError } from '../errors';

/**
 * The version is stored (or was found in the bucket folder) but its ObjectCreated event could not
 * be queued. Its sidecar still says "not announced", so the next scanForNewFiles offers it again;
 * retrying the put works too (a new version, a new event). Retryable.
 */
export class EventNotQueuedError extends StorageError {
  constructor(
    bucket: string,
    key: string,
    readonly eventName: string,
    readonly committed: boolean,
    options?: { cause?: unknown },
  ) {
    const cause = options?.cause instanceof Error ? options.cause.message : String(options?.cause);
    super(`s3://${bucket}/${key}: ${committed ? 'committed, but ' : ''}its ${eventName} event could not be queued (the next scanForNewFiles offers it again): ${cause}`, bucket, key, true, options);
    this.name = 'EventNotQueuedError';
  }
}
