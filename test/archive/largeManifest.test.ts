/**
 * A manifest larger than 64 of its frames: a valid config (frame_target_bytes 65536, thousands of
 * objects with long keys) made archives whose manifest every reader failed to find, so the router
 * quarantined them and the batch's objects were never delivered.
 */
import { join } from 'node:path';
import { ArchiveReader, LocalFileRangeReader } from '../../shared/archive';
import { tempDir, writeArchive } from './helpers';

describe('Class: ArchiveReader (large manifests)', () => {
  it('finds a manifest that spans more than 64 frames', async () => {
    // Prepare: 5,000 empty members with ~1 KB keys and 64 KiB frames: a manifest of several MiB
    const { dir, cleanup } = tempDir();
    try {
      const path = join(dir, 'big-manifest.tar.zst');
      const members = Array.from({ length: 5_000 }, (_, i) => ({ key: `deep/${'segment-'.repeat(120)}${i}.txt`, data: Buffer.alloc(0) }));
      const { manifest, writer } = await writeArchive(path, members, { frameTargetBytes: 65_536 });
      expect(writer.stats.bytesIn).toBeGreaterThan(0);
      // Act
      const reader = new ArchiveReader(new LocalFileRangeReader(path));
      const { seekTable, manifest: read } = await reader.readIndex();
      // Assess
      expect(seekTable.frames.length).toBeGreaterThan(64);
      expect(read.objects).toHaveLength(5_000);
      expect(read.objects.at(-1)!.key).toBe(manifest.objects.at(-1)!.key);
    } finally {
      cleanup();
    }
  }, 60_000);
});
