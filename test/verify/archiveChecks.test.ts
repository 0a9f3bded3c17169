import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveReader, LocalFileRangeReader } from '../../shared/archive';
import { LocalObjectStore } from '../../shared/storage';
import { verifyBackup } from '../../shared/verify';
import { craftArchive, editSeekTable, tempDir, writeArchive } from '../archive/helpers';

const BUCKET = 'backup-bucket';
const MEMBERS = ['a.bin', 'b.bin', 'c.bin'].map((key, i) => ({ key, data: Buffer.from(`${key} `.repeat(400 + i)) }));

describe('Function: verifyBackup (archive checks)', () => {
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

  it('a manifest naming an unsafe member is a finding naming the member and the member-name check', async () => {
    // Prepare
    const manifest = {
      format: 'xregion-archive/1',
      archive: 'backup_1_x.tar.zst',
      created: new Date(0).toISOString(),
      source: { region: 'us-east-1', bucket: 'src', prefix: '' },
      compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
      objects: [{ key: '../x', relative_key: '../x', size: 5, sha256: '0'.repeat(64), metadata: {}, tags: {}, header_offset: 0, offset: 512 }],
      skipped: [],
    };

    // Act
    const r = await verifyOne('unsafe/', craftArchive([{ name: 'objects/x', data: Buffer.from('pwned') }], manifest));

    // Assess
    expect(r.findings.map((f) => [f.kind, f.archive, f.member, f.check])).toEqual([['archive-unreadable', 'unsafe/backup_1_x.tar.zst', 'objects/../x', 'member-name']]);
    expect(r.findings[0]!.detail).toBe(`backup_1_x.tar.zst: unsafe member name "objects/../x": contains a '..' segment`);
  });
});
