/** The zod schema of `manifest.json` (DESIGN.md "The archive"); types and parsing live in ./manifest. */
import { z } from 'zod';
import { ARCHIVE_FORMAT } from './manifest';

export const manifestObjectSchema = z.object({
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

export const manifestSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  archive: z.string(),
  created: z.string(),
  source: z.object({ region: z.string(), bucket: z.string(), prefix: z.string() }),
  compression: z.object({ codec: z.literal('zstd'), level: z.number().int(), frame_target_bytes: z.number().int().positive() }),
  objects: z.array(manifestObjectSchema),
  skipped: z.array(z.object({ key: z.string(), reason: z.string() })),
});
