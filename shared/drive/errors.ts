/** Typed errors of the Drive connector. */

/** A Drive/Directory API call failed; `reason` is Google's error reason (e.g. userRateLimitExceeded). */
export class DriveApiError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly reason: string | undefined,
    readonly retryable: boolean,
    /** Retry-After from the response, in ms. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DriveApiError';
  }
}

/**
 * A quota that retrying will not clear today (downloadQuotaExceeded, dailyLimitExceeded, the daily
 * upload cap): the user's run stops with status quota_exceeded.
 */
export class DriveQuotaError extends DriveApiError {
  constructor(message: string, status: number | undefined, reason: string, options?: { cause?: unknown }) {
    super(message, status, reason, false, undefined, options);
    this.name = 'DriveQuotaError';
  }
}

/**
 * Google refused the credentials themselves (invalid_client, unauthorized_client, a JWT it cannot
 * verify) or they cannot sign at all: every subject would fail the same way, so the run stops once
 * instead of retrying per user. A refusal of one impersonated user (invalid_grant for a suspended or
 * unknown account) is a plain DriveApiError: that subject ends in error, the others go on.
 */
export class DriveAuthError extends DriveApiError {
  constructor(message: string, status: number | undefined, reason: string | undefined, options?: { cause?: unknown }) {
    super(message, status, reason, false, undefined, options);
    this.name = 'DriveAuthError';
  }
}

/** Credentials are missing, malformed or refused (the message never contains key material). */
export class DriveCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DriveCredentialsError';
  }
}

/** Downloaded bytes disagree with Drive's md5Checksum or size. */
export class DriveChecksumError extends Error {
  constructor(readonly fileId: string, readonly expected: string, readonly actual: string) {
    super(`file ${fileId}: ${expected === actual ? 'size' : 'md5'} mismatch (expected ${expected}, got ${actual})`);
    this.name = 'DriveChecksumError';
  }
}

/** The run was aborted through its AbortSignal. */
export class DriveAbortedError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('drive ingest aborted', options);
    this.name = 'DriveAbortedError';
  }
}

/** The state store could not be written: the user's run stops (resuming later is safe). */
export class DriveStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DriveStateError';
  }
}

/**
 * state.json changed since this run read or wrote it: another run took the subject over (this
 * one stalled past its lease). The run stops without committing its change token.
 */
export class DriveStateTakenOverError extends DriveStateError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`${key} was changed by another run since this run read it (this run stalled past its lease and was taken over); stopping without committing`, options);
    this.name = 'DriveStateTakenOverError';
  }
}
