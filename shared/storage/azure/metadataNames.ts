/**
 * Our metadata keys ↔ Azure metadata names, reversibly.
 *
 * Azure metadata names must be C# identifiers and are case-insensitive, while our keys (S3 style,
 * lower-cased by normalizePutOptions) hold hyphens and any other character. The common case stays
 * readable: a key of lower-case letters, digits and hyphens that starts with a letter maps '-' to
 * '_' (`drive-file-id` ↔ `drive_file_id`). Every other key is '_' + the hex of its UTF-8 bytes
 * (`1a.b` ↔ `_31612e62`). The two forms cannot collide: readable names start with a letter,
 * encoded ones with '_'. Both use lower case only, so Azure's case folding cannot change them.
 */
import { StorageError } from '../errors';

const READABLE = /^[a-z][a-z0-9-]*$/;
const ENCODED = /^_(?:[0-9a-f]{2})+$/;
const AZURE_NAME = /^[a-z_][a-z0-9_]*$/;

/** The Azure metadata name for one of our (lower-case) keys. */
export function toAzureMetadataName(key: string): string {
  const k = key.toLowerCase();
  return READABLE.test(k) ? k.replace(/-/g, '_') : `_${Buffer.from(k, 'utf8').toString('hex')}`;
}

/** Our key for an Azure metadata name written by toAzureMetadataName (names we did not write are lower-cased as they are). */
export function fromAzureMetadataName(name: string): string {
  const n = name.toLowerCase();
  if (ENCODED.test(n)) return Buffer.from(n.slice(1), 'hex').toString('utf8');
  return n.startsWith('_') ? n : n.replace(/_/g, '-');
}

/**
 * Our metadata → Azure metadata. Values travel as HTTP header values: printable ASCII only (the
 * same rule S3 applies), refused up front with the key named instead of a socket-level error.
 */
export function toAzureMetadata(metadata: Record<string, string>, bucket: string, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) {
    if (!/^[\x20-\x7e]*$/.test(v)) {
      throw new StorageError(`${bucket}/${key}: metadata "${k}" has a value that is not printable ASCII (encode it first)`, bucket, key, false);
    }
    const name = toAzureMetadataName(k);
    if (!AZURE_NAME.test(name)) throw new StorageError(`${bucket}/${key}: metadata key ${JSON.stringify(k)} cannot be mapped to an Azure name`, bucket, key, false);
    out[name] = v;
  }
  return out;
}

/** Azure metadata (as the SDK returns it) → our metadata, keys lower-case. */
export function fromAzureMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(metadata ?? {})) out[fromAzureMetadataName(name)] = v;
  return out;
}
