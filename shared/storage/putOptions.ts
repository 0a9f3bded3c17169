/** Put-option rules both adapters share. */
import { SHA256_METADATA_KEY, type PutOptions } from './port';

/**
 * Lower-case metadata keys (S3 does), and treat a caller-supplied `xregion-sha256` metadata
 * value as the expected sha256 when `sha256` is not given: the recorded value is always one the
 * adapter verified, never a stale copy carried over from elsewhere.
 */
export function normalizePutOptions(opts: PutOptions): PutOptions {
  const metadata = Object.fromEntries(Object.entries(opts.metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const sha256 = (opts.sha256 ?? metadata[SHA256_METADATA_KEY])?.toLowerCase();
  return { ...opts, metadata, ...(sha256 !== undefined ? { sha256 } : {}) };
}
