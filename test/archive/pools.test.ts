import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { Compressor } from 'zstd-napi';
import { ArchiveCorruptError, FileWriteError, FileWriterPool, FrameDecoderPool, FrameDecoderPoolError, type SeekFrame } from '../../shared/archive';
import { tempDir } from './helpers';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** One zstd frame of `raw` with its seek-table entry (checksum flag on, as our writer sets it). */
function frameOf(raw: Buffer): { compressed: Buffer; entry: SeekFrame } {
  const c = new Compressor();
  c.setParameters({ compressionLevel: 3, checksumFlag: true });
  const compressed = c.compress(raw);
  return { compressed, entry: { compressedOffset: 0, compressedSize: compressed.length, decompressedOffset: 0, decompressedSize: raw.length, checksum: compressed.readUInt32LE(compressed.length - 4) } };
}

describe('Class: FrameDecoderPool', () => {
  it('decodes a frame into a pooled buffer and hashes the ranges asked for; a wrong entry is a seek-table error, a damaged frame a zstd error', async () => {
    // Prepare
    const pool = new FrameDecoderPool(1);
    const raw = Buffer.from('0123456789'.repeat(1000));
    const { compressed, entry } = frameOf(raw);
    const damaged = Buffer.from(compressed);
    damaged[Math.floor(damaged.length / 2)]! ^= 0xff;

    // Act
    const f = await pool.decode(compressed, entry, {}, [10, 20]);
    const decoded = Buffer.from(f.data);
    f.release();
    const wrongSize = pool.decode(compressed, { ...entry, decompressedSize: raw.length + 1 }, { member: 'objects/x' });
    const wrongSum = pool.decode(compressed, { ...entry, checksum: (entry.checksum! ^ 1) >>> 0 }, { member: 'objects/x' });
    const broken = pool.decode(damaged, entry, { member: 'objects/x' });

    // Assess
    expect(decoded.equals(raw)).toBe(true);
    expect(f.digests).toEqual([sha(raw.subarray(10, 30))]);
    await expect(wrongSize).rejects.toMatchObject({ check: 'seek-table', member: 'objects/x' });
    await expect(wrongSum).rejects.toMatchObject({ check: 'seek-table', member: 'objects/x' });
    await expect(broken).rejects.toBeInstanceOf(ArchiveCorruptError);
    await expect(broken).rejects.toMatchObject({ check: 'zstd' });
    await pool.close();
  });

  it('fails the frames in flight, instead of leaving them pending, when a worker ends unexpectedly', async () => {
    // Prepare
    const pool = new FrameDecoderPool(1);
    const { compressed, entry } = frameOf(Buffer.alloc(100_000, 7));
    (await pool.decode(compressed, entry, {})).release();

    // Act
    const ended = (pool as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
    const pending = pool.decode(compressed, entry, {});
    await ended;

    // Assess
    await expect(pending).rejects.toBeInstanceOf(FrameDecoderPoolError);
    expect(pool.broken).toBe(true);
    await pool.close();
  });
});

describe('Class: FileWriterPool', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('creates files through their temporary names, from plain and shared buffers, with their mtime; a sha256 mismatch writes nothing', async () => {
    // Prepare
    const pool = new FileWriterPool(2);
    const shared = Buffer.from(new SharedArrayBuffer(64));
    shared.write('shared bytes here');
    const plain = Buffer.from('plain bytes');

    // Act
    const writes = [
      pool.write({ path: join(t.dir, 'a'), tmp: join(t.dir, '.a.partial'), data: plain, mtime: 1_000_000 }),
      pool.write({ path: join(t.dir, 'b'), tmp: join(t.dir, '.b.partial'), data: shared.subarray(0, 12), sha256: sha(shared.subarray(0, 12)) }),
      pool.write({ path: join(t.dir, 'c'), tmp: join(t.dir, '.c.partial'), data: plain, sha256: sha(Buffer.from('other')) }),
      pool.write({ path: join(t.dir, 'no/such/dir/d'), tmp: join(t.dir, 'no/such/dir/.d.partial'), data: plain }),
    ];
    const results = await Promise.allSettled(writes);

    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect(readFileSync(join(t.dir, 'a')).equals(plain)).toBe(true);
    expect(statSync(join(t.dir, 'a')).mtimeMs).toBe(1_000_000_000);
    expect(readFileSync(join(t.dir, 'b')).toString()).toBe('shared bytes');
    const mismatch = (results[2] as PromiseRejectedResult).reason as FileWriteError;
    expect(mismatch).toBeInstanceOf(FileWriteError);
    expect(mismatch.check).toBe('sha256');
    expect(existsSync(join(t.dir, 'c'))).toBe(false);
    expect(((results[3] as PromiseRejectedResult).reason as FileWriteError).code).toBe('ENOENT');
    expect(readdirSync(t.dir).filter((n) => n.endsWith('.partial'))).toEqual([]);
    await pool.close();
  });
});
