/** Typed errors of restores. */

/** Base class: something about a restore request or its execution. */
export class RestoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RestoreError';
  }
}

/** The request cannot be understood (bad URL, nothing selected, unknown bucket). */
export class RestoreRequestError extends RestoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RestoreRequestError';
  }
}

/** A different file already exists at the target and --overwrite was not given. Nothing was written. */
export class RestoreConflictError extends RestoreError {
  constructor(readonly target: string) {
    super(`${target} exists with different content (use --overwrite to replace it)`);
    this.name = 'RestoreConflictError';
  }
}
