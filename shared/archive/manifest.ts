/** The `manifest.json` contract (DESIGN.md "The archive") and its validation on read. */
import { z } from 'zod';
import { ArchiveCorruptError } from './errors';

export const ARCHIVE_FORMAT = 'xregion-archive/1';

const manifestObjectSchema = z.object({
  key: z.string(),
  relative_key: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  etag: z.string().optional(),
  version_id: z.string().optional(),
  last_modified: z.string().optional(),
  content_type: z.string().optional(),
  storage_class: z.string().optional(),
  metadata: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
  offset: z.number().int().nonnegative(),
  header_offset: z.number().int().nonnegative(),
});

const manifestSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  archive: z.string(),
  created: z.string(),
  source: z.object({ region: z.string(), bucket: z.string(), prefix: z.string() }),
  compression: z.object({ codec: z.literal('zstd'), level: z.number().int(), frame_target_bytes: z.number().int().positive() }),
  objects: z.array(manifestObjectSchema),
  skipped: z.array(z.object({ key: z.string(), reason: z.string() })),
});

/** One archived object: its S3 identity, sha256 and uncompressed byte range in the tar stream. */
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
/** The whole manifest, the last member of every archive. */
export type Manifest = z.infer<typeof manifestSchema>;
/** Where the archived objects came from. */
export type ArchiveSource = Manifest['source'];

/** Parses and validates manifest JSON; throws ArchiveCorruptError (check 'manifest'). */
export function parseManifest(json: string, archive?: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ArchiveCorruptError({ archive, member: 'manifest.json', check: 'manifest' }, 'manifest is not valid JSON', { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveCorruptError(
      { archive, member: 'manifest.json', check: 'manifest' },
      `manifest does not match ${ARCHIVE_FORMAT}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  return parsed.data;
}

/** Quick check: is this JSON text one of our manifests (vs. a user file that happens to be called manifest.json)? */
export function looksLikeManifest(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format === ARCHIVE_FORMAT;
}
