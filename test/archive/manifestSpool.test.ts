import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { ArchiveReader, ArchiveWriter, DuplicateMemberError, LocalFileRangeReader } from '../../shared/archive';
import { HashSet64 } from '../../shared/archive/ManifestSpool';
import { tempDir } from './helpers';

describe('Class: ManifestSpool (through ArchiveWriter)', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('records spilled to the temp file come back whole: finish() and readIndex agree, duplicates are still refused', async () => {
    // Prepare: ~6,000 records of ~400 bytes, several MiB of records, past the 1 MiB in-memory chunk
    const path = join(t.dir, 'spill.tar.zst');
    const w = new ArchiveWriter(createWriteStream(path), { archiveName: 'spill.tar.zst', source: { region: 'r', bucket: 'b', prefix: 'p/' }, threads: 2, frameTargetBytes: 64 * 1024 });
    const n = 6000;
    for (let i = 0; i < n; i++) {
      await w.addMember({ key: `p/k${i}`, relativeKey: `k${i}`, size: 3, metadata: { note: 'm'.repeat(200), i: String(i) }, tags: { t: `v${i}` } }, Buffer.from('abc'));
    }

    // Act
    const dupRelative = await w.addMember({ key: 'p/other', relativeKey: 'k17', size: 1 }, Buffer.from('x')).catch((e: unknown) => e);

    // Assess
    expect(dupRelative).toBeInstanceOf(DuplicateMemberError);
    expect((dupRelative as DuplicateMemberError).field).toBe('relative_key');
  });

  it('finish() returns exactly the manifest readers parse, with every sha256', async () => {
    // Prepare
    const path = join(t.dir, 'back.tar.zst');
    const w = new ArchiveWriter(createWriteStream(path), { archiveName: 'back.tar.zst', source: { region: 'r', bucket: 'b', prefix: 'p/' }, threads: 2, frameTargetBytes: 64 * 1024 });
    for (let i = 0; i < 5000; i++) await w.addMember({ key: `p/k${i}`, relativeKey: `k${i}`, size: 4, metadata: { note: 'n'.repeat(300) } }, Buffer.from(`v${i % 100}`.padEnd(4)));
    await expect(w.addMember({ key: 'p/k3', relativeKey: 'fresh', size: 0 }, Buffer.alloc(0))).rejects.toBeInstanceOf(DuplicateMemberError);

    // Act
    const w2 = new ArchiveWriter(createWriteStream(join(t.dir, 'back2.tar.zst')), { archiveName: 'back2.tar.zst', source: { region: 'r', bucket: 'b', prefix: 'p/' }, threads: 2 });
    for (let i = 0; i < 5000; i++) await w2.addMember({ key: `p/k${i}`, relativeKey: `k${i}`, size: 4, metadata: { note: 'n'.repeat(300) } }, Buffer.from(`v${i % 100}`.padEnd(4)));
    const manifest = await w2.finish();
    const read = await new ArchiveReader(new LocalFileRangeReader(join(t.dir, 'back2.tar.zst'))).readIndex();

    // Assess
    expect(manifest.objects).toHaveLength(5000);
    expect(manifest.objects.every((o) => /^[0-9a-f]{64}$/.test(o.sha256))).toBe(true);
    expect(read.manifest).toEqual(manifest);
  });

  it('HashSet64 grows and remembers every hash', () => {
    // Prepare
    const s = new HashSet64();
    // As the writer uses it: on SHA-256 prefixes.
    const h = (i: number): Buffer => createHash('sha256').update(String(i)).digest().subarray(0, 8);

    // Act
    const first = Array.from({ length: 50_000 }, (_, i) => s.add(h(i + 1)));
    const again = Array.from({ length: 50_000 }, (_, i) => s.add(h(i + 1)));

    // Assess
    expect(first.every(Boolean)).toBe(true);
    expect(again.some(Boolean)).toBe(false);
    expect(s.add(Buffer.alloc(8))).toBe(true);
    expect(s.add(Buffer.alloc(8))).toBe(false);
  });
});
