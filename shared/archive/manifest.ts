/** The `manifest.json` contract (DESIGN.md "The archive") and its validation on read. */
import type { z } from 'zod';
import { ArchiveCorruptError } from './errors';
import type { manifestObjectSchema, manifestSchema } from './manifestSchema';
import { OBJECTS_PREFIX, validateMemberName } from './memberName';

export const ARCHIVE_FORMAT = 'xregion-archive/1';

/** One archived object: its S3 identity, sha256 and uncompressed byte range in the tar stream. */
export type ManifestObject = z.infer<typeof manifestObjectSchema>;
/** The whole manifest, the last member of every archive. */
export type Manifest = z.infer<typeof manifestSchema>;
/** Where the archived objects came from. */
export type ArchiveSource = Manifest['source'];

/** Parses and validates manifest JSON; throws ArchiveCorruptError (check 'manifest'), or UnsafeMemberNameError for a name no reader may act on. */
export function parseManifest(json: string, archive?: string): Manifest {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ArchiveCorruptError({ archive, member: 'manifest.json', check: 'manifest' }, 'manifest is not valid JSON', { cause: err });
  }
  // Loaded on first read: zod costs ~50 ms to load, which every `xregion archive create` (a writer
  // only) would otherwise pay at startup.
  const { manifestSchema } = require('./manifestSchema') as typeof import('./manifestSchema');
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveCorruptError(
      { archive, member: 'manifest.json', check: 'manifest' },
      `manifest does not match ${ARCHIVE_FORMAT}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
  }
  // Every reader parses here, so no caller can print, look up or extract a name it has not checked.
  for (const o of parsed.data.objects) {
    try {
      validateMemberName(o.relative_key, archive);
    } catch (err) {
      // A safe relative key makes a safe member name, so one check per object suffices; the
      // member name is what readers and tar show, so it is the one reported when it is unsafe too.
      validateMemberName(OBJECTS_PREFIX + o.relative_key, archive);
      throw err;
    }
  }
  checkUnique(parsed.data, archive);
  return parsed.data;
}

/**
 * Each object once: readers look members up by relative_key (one member name each) and the
 * router and restores write by key, so a second entry would shadow or overwrite the first.
 */
function checkUnique(m: Manifest, archive: string | undefined): void {
  for (const field of ['key', 'relative_key'] as const) {
    const seen = new Set<string>();
    m.objects.forEach((o, i) => {
      if (seen.has(o[field])) {
        const j = m.objects.findIndex((p) => p[field] === o[field]);
        throw new ArchiveCorruptError({ archive, member: 'manifest.json', check: 'manifest' }, `manifest lists ${field} ${JSON.stringify(o[field])} twice (objects ${j} and ${i})`);
      }
      seen.add(o[field]);
    });
  }
}

/** Quick check: is this JSON text one of our manifests (vs. a user file that happens to be called manifest.json)? */
export function looksLikeManifest(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { format?: unknown }).format === ARCHIVE_FORMAT;
}
