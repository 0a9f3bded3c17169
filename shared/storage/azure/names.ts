/**
 * What Azure can store: container names (our buckets), blob names (our keys) and blob index tags,
 * checked before a request so that the caller gets InvalidKeyError naming the rule instead of a
 * silently different key or an opaque 400.
 */
import { InvalidKeyError, StorageError } from '../errors';

/** Why `name` is not a valid container name, or undefined. */
export function containerNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'a container name has 3 to 63 characters';
  if (!/^[a-z0-9-]+$/.test(name)) return 'a container name has only lower-case letters, digits and hyphens';
  if (!/^[a-z0-9]/.test(name) || name.endsWith('-')) return 'a container name starts and ends with a letter or digit';
  if (name.includes('--')) return 'a container name has no consecutive hyphens';
  return undefined;
}

/**
 * Why `key` cannot be a blob name, or undefined. `.` and `..` segments are refused because URL
 * normalisation removes them on the way (Azurite stores `x/../y` as `y`); Azure caps names at
 * 1024 characters and 254 path segments.
 */
export function blobNameProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty key';
  if (key.length > 1024) return 'over 1024 characters';
  const segments = key.split('/');
  if (segments.some((s) => s === '.' || s === '..')) return '"." or ".." segment (URLs drop them)';
  if (segments.length > 254) return 'over 254 path segments';
  if (key.includes('\0')) return 'NUL character';
  return undefined;
}

/** Throws InvalidKeyError unless both names can be stored. */
export function assertNames(bucket: string, key?: string): void {
  const c = containerNameProblem(bucket);
  if (c) throw new InvalidKeyError(bucket, key ?? '', c);
  const k = key === undefined ? undefined : blobNameProblem(key);
  if (k) throw new InvalidKeyError(bucket, key ?? '', k);
}

const TAG_CHARS = /^[A-Za-z0-9 +\-./:=_]*$/;

/**
 * Blob index tags carry our tags unchanged, so they stay queryable (Find Blobs by Tags); tags
 * Azure cannot hold are refused, naming the rule: at most 10, keys 1-128 and values 0-256
 * characters of letters, digits, space and + - . / : = _.
 */
export function assertTags(tags: Record<string, string>, bucket: string, key: string): void {
  const entries = Object.entries(tags);
  const fail = (why: string) => new StorageError(`${bucket}/${key}: tags not storable as Azure blob index tags: ${why}`, bucket, key, false);
  if (entries.length > 10) throw fail(`${entries.length} tags (at most 10)`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128 || !TAG_CHARS.test(k)) throw fail(`key ${JSON.stringify(k)} (1-128 of A-Z a-z 0-9 space + - . / : = _)`);
    if (v.length > 256 || !TAG_CHARS.test(v)) throw fail(`value of ${JSON.stringify(k)} (0-256 of A-Z a-z 0-9 space + - . / : = _)`);
  }
}
