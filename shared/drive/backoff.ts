/**
 * Retries with exponential backoff and full jitter (AWS architecture blog's "full jitter":
 * sleep = random(0, min(cap, base * 2^attempt))), never shorter than a server's Retry-After.
 * Classifies googleapis/gaxios errors into DriveApiError / DriveQuotaError.
 */
import { DriveAbortedError, DriveApiError, DriveAuthError, DriveQuotaError } from './errors';

/** Reasons that mean "slow down and retry". */
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'backendError', 'internalError']);
/**
 * Reasons that will not clear by retrying today: stop the user's run. downloadQuotaExceeded is not
 * among them: Google counts it per file ("The download quota for this file has been exceeded"), so
 * that file fails (retried next run) and the user's other files go on.
 */
export const QUOTA_STOP_REASONS = new Set(['dailyLimitExceeded', 'quotaExceeded', 'uploadLimitExceeded', 'storageQuotaExceeded', 'sharingRateLimitExceeded']);

/**
 * 403 reasons that mean this file cannot be stored as it is (recorded as `unavailable`, not retried);
 * any other non-retryable 403 (no reason, a permission change mid-run, ...) is a failure retried next run.
 */
export const UNAVAILABLE_REASONS = new Set(['cannotDownloadFile', 'cannotDownloadAbusiveFile', 'exportSizeLimitExceeded', 'cannotExportFile', 'fileNotDownloadable']);

export interface BackoffOptions {
  /** Attempts in all (default 8). */
  maxAttempts?: number;
  /** First backoff ceiling in ms (default 500). */
  baseMs?: number;
  /** Largest backoff in ms (default 32 000). */
  capMs?: number;
  signal?: AbortSignal;
  /** Called before each sleep (for metrics and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; error: DriveApiError }) => void;
  /** Random source in [0,1) (tests). */
  random?: () => number;
}

/** OAuth token-endpoint errors that refuse the service account or client itself, not one user. */
const CLIENT_REFUSED = new Set(['invalid_client', 'unauthorized_client']);

interface GaxiosLike {
  status?: number;
  code?: string | number;
  message?: string;
  name?: string;
  response?: { status?: number; headers?: unknown; data?: unknown };
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** Retry-After (seconds or HTTP date) in ms. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Translates any error from a googleapis call (or a body stream) into a DriveApiError. */
export function classifyError(err: unknown, what: string): DriveApiError {
  if (err instanceof DriveApiError) return err;
  const e = (err ?? {}) as GaxiosLike;
  const status = e.response?.status ?? (typeof e.status === 'number' ? e.status : undefined);
  let reason: string | undefined;
  let message = e.message ?? String(err);
  let raw = e.response?.data;
  if (typeof raw === 'string' && raw.startsWith('{')) {
    // Streamed (media/export) responses hand back the error body as text.
    try { raw = JSON.parse(raw); } catch { /* not JSON: keep the text */ }
  }
  const data = raw as { error?: { message?: string; errors?: { reason?: string }[] } | string; error_description?: string } | undefined;
  if (data && typeof data === 'object' && data.error && typeof data.error === 'object') {
    reason = data.error.errors?.[0]?.reason;
    message = data.error.message ?? message;
  } else if (data && typeof data === 'object' && typeof data.error === 'string') {
    reason = data.error;
    message = data.error_description ?? data.error;
  }
  const full = `${what}: ${status ?? 'network'} ${reason ?? ''} ${message}`.replace(/\s+/g, ' ').trim();
  if (reason && QUOTA_STOP_REASONS.has(reason)) return new DriveQuotaError(full, status, reason, { cause: err });
  // invalid_grant "Invalid JWT ..." means Google cannot verify our signature: the key, not the user.
  if (reason && (CLIENT_REFUSED.has(reason) || (reason === 'invalid_grant' && /invalid jwt/i.test(message)))) return new DriveAuthError(full, status, reason, { cause: err });
  // A key that cannot sign fails inside OpenSSL before any request: no retry will fix it.
  if (status === undefined && typeof e.code === 'string' && e.code.startsWith('ERR_OSSL')) return new DriveAuthError(full, undefined, e.code, { cause: err });
  const retryAfterMs = parseRetryAfter(header(e.response?.headers, 'retry-after'));
  if (status === undefined) {
    // No HTTP status: a network failure, a dropped stream or our own timeout.
    return new DriveApiError(full, undefined, String(e.code ?? e.name ?? 'network'), true, undefined, { cause: err });
  }
  const retryable = status === 429 || status >= 500 || status === 408 || (status === 403 && !!reason && RATE_REASONS.has(reason));
  return new DriveApiError(full, status, reason, retryable, retryAfterMs, { cause: err });
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new DriveAbortedError());
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(new DriveAbortedError()); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The full-jitter delay for an attempt (0-based), at least `retryAfterMs`. */
export function backoffDelay(attempt: number, opts: BackoffOptions, retryAfterMs?: number): number {
  const base = opts.baseMs ?? 500;
  const cap = opts.capMs ?? 32_000;
  const ceiling = Math.min(cap, base * 2 ** attempt);
  const jitter = (opts.random ?? Math.random)() * ceiling;
  return Math.max(jitter, retryAfterMs ?? 0);
}

/** Runs `fn`, retrying retryable failures with backoff; throws the classified error. */
export async function withBackoff<T>(what: string, fn: () => Promise<T>, opts: BackoffOptions = {}): Promise<T> {
  const max = opts.maxAttempts ?? 8;
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw new DriveAbortedError();
    try {
      return await fn();
    } catch (err) {
      if (opts.signal?.aborted) throw new DriveAbortedError({ cause: err });
      const e = classifyError(err, what);
      if (!e.retryable || attempt + 1 >= max) throw e;
      const delayMs = backoffDelay(attempt, opts, e.retryAfterMs);
      opts.onRetry?.({ attempt, delayMs, error: e });
      await sleep(delayMs, opts.signal);
    }
  }
}
