/**
 * Errors are classified once, here: permanent failures (the same input fails the same way every
 * time: quarantine or skip it, with a record) and retryable ones (leave the message for
 * redelivery and, after maxReceiveCount, the dead-letter queue).
 */
import { ArchiveCorruptError, UnsafeMemberNameError } from '../archive/errors';
import { MalformedEventError } from '../storage/errors';

export type FailureKind = 'permanent' | 'retryable';

/** Permanent for corrupt or unsafe archives and malformed events; retryable for everything else. */
export function classifyFailure(err: unknown): FailureKind {
  if (err instanceof ArchiveCorruptError || err instanceof UnsafeMemberNameError || err instanceof MalformedEventError) return 'permanent';
  return 'retryable';
}
