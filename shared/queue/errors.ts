/** Typed errors of the queue port; adapters translate SDK errors into these. */
export class QueueError extends Error {
  constructor(
    message: string,
    readonly queue: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueueError';
  }
}

/**
 * extendVisibility() with a receipt handle that no longer owns the message (it was deleted,
 * or its visibility ran out and it was delivered again). The caller lost the message: stop
 * working on it, someone else will. Permanent.
 */
export class StaleReceiptError extends QueueError {
  constructor(queue: string, options?: { cause?: unknown }) {
    super(`${queue}: receipt handle is stale (message deleted or redelivered)`, queue, false, options);
    this.name = 'StaleReceiptError';
  }
}
