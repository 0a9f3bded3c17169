import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveReader, LocalFileRangeReader } from '../../shared/archive';
import { LocalObjectStore } from '../../shared/storage';
import { verifyBackup } from '../../shared/verify';
import { editSeekTable, tempDir, writeArchive } from '../archive/helpers';

const BUCKET = 'backup-bucket';
const MEMBERS = ['a.bin', 'b.bin', 'c.bin'].map((key, i) => ({ key, data: Buffer.from(`${key} `.repeat(400 + i)) }));

describe('Function: verifyBackup (seek table)', () => {
  let t: ReturnType<typeof tempDir>;
  let store: LocalObjectStore;
  let good: Buffer;
  let bFrame: number;
  beforeAll(async () => {
    t = tempDir();
    store = new LocalObjectStore({ root: join(t.dir, 'store') });
    await store.ensureBucket(BUCKET);
    const path = join(t.dir, 'good.tar.zst');
    // One member per frame (target 1 KiB), so each seek-table entry belongs to one member.
    const { manifest } = await writeArchive(path, MEMBERS, { frameTargetBytes: 1024 });
    good = readFileSync(path);
    const { seekTable } = await new ArchiveReader(new LocalFileRangeReader(path)).readIndex();
    const b = manifest.objects[1]!;
    bFrame = seekTable.frames.findIndex((f) => f.decompressedOffset <= b.offset && b.offset < f.decompressedOffset + f.decompressedSize);
  });
  afterAll(() => t.cleanup());

  async function verifyOne(prefix: string, bytes: Buffer, sample?: number) {
    await store.put(BUCKET, `${prefix}backup_1_x.tar.zst`, bytes);
    return verifyBackup({ store, bucket: BUCKET, prefix, ...(sample !== undefined && { sample, random: () => 0.5 }) });
  }

  it('a clean archive: no findings', async () => {
    // Act
    const r = await verifyOne('clean/', good);

    // Assess
    expect(r).toMatchObject({ ok: true, archives: 1, membersChecked: 3, findings: [] });
  });

  it('a seek-table checksum that disagrees with its frame is a finding naming the member and the seek-table check (full and sampled)', async () => {
    // Prepare: only the table entry is altered; the frame itself and its zstd checksum are intact
    const bad = editSeekTable(good, (e) => (e[bFrame]!.checksum ^= 0x00010000));

    // Act
    const full = await verifyOne('full/', bad);
    const sampled = await verifyOne('sampled/', bad, 1);

    // Assess
    for (const [r, key] of [
      [full, 'full/backup_1_x.tar.zst'],
      [sampled, 'sampled/backup_1_x.tar.zst'],
    ] as const) {
      expect(r.ok).toBe(false);
      expect(r.findings.map((f) => [f.kind, f.archive, f.member, f.check])).toEqual([['member-corrupt', key, 'objects/b.bin', 'seek-table']]);
      expect(r.findings[0]!.detail).toMatch(/seek-table checksum 0x[0-9a-f]{8} disagrees with the frame's XXH64 0x[0-9a-f]{8}/);
    }
  });
});
