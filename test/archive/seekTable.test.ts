import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { compressBound } from 'zstd-napi/binding';
import { ArchiveCorruptError, ArchiveReader, LocalFileRangeReader, MAX_FRAME_BYTES } from '../../shared/archive';
import { encodeSeekTable, parseSeekTable } from '../../shared/archive/seekTable';
import { editSeekTable, tempDir, writeArchive } from './helpers';

/** Largest buffer the code under test may allocate while reading an index: one frame. */
const ALLOC_LIMIT = MAX_FRAME_BYTES;

/** Runs `fn` while every Buffer allocation above ALLOC_LIMIT throws (as it would on a small task). */
async function withAllocationLimit<T>(fn: () => Promise<T>): Promise<T> {
  const spies = (['alloc', 'allocUnsafe', 'allocUnsafeSlow'] as const).map((m) => {
    const original = Buffer[m].bind(Buffer) as (n: number) => Buffer;
    return jest.spyOn(Buffer, m).mockImplementation(((n: number, ...rest: unknown[]) => {
      if (n > ALLOC_LIMIT) throw new RangeError(`test: refused to allocate ${n} bytes`);
      return (original as (...a: unknown[]) => Buffer)(n, ...rest);
    }) as never);
  });
  try {
    return await fn();
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('Seek table: hostile frame sizes', () => {
  let t: ReturnType<typeof tempDir>;
  let good: string;
  beforeAll(async () => {
    t = tempDir();
    good = join(t.dir, 'good.tar.zst');
    await writeArchive(good, [
      { key: 'a.txt', data: Buffer.from('alpha '.repeat(300)) },
      { key: 'b.txt', data: Buffer.from('beta '.repeat(300)) },
    ], { frameTargetBytes: 1024 });
  });
  afterAll(() => t.cleanup());

  it('an entry claiming 0xFFFFFFFF decompressed bytes fails the seek-table check before anything is allocated', async () => {
    // Prepare: the manifest's frame (the one readIndex decompresses first) claims 4 GiB
    const path = join(t.dir, 'huge-d.tar.zst');
    writeFileSync(path, editSeekTable(readFileSync(good), (e) => (e[e.length - 1]!.decompressedSize = 0xffffffff)));

    // Act
    const err = await withAllocationLimit(() => caught(new ArchiveReader(new LocalFileRangeReader(path), 'huge-d.tar.zst').readIndex()));

    // Assess: a typed, permanent error (quarantine), not an allocation failure (retry)
    expect(err).toBeInstanceOf(ArchiveCorruptError);
    expect(err).toMatchObject({ archive: 'huge-d.tar.zst', check: 'seek-table' });
    expect((err as Error).message).toMatch(/4294967295 decompressed bytes, more than the 33554432 a frame can hold/);
  });

  it('an entry claiming 0xFFFFFFFF compressed bytes fails the seek-table check', async () => {
    // Prepare
    const path = join(t.dir, 'huge-c.tar.zst');
    writeFileSync(path, editSeekTable(readFileSync(good), (e) => (e[0]!.compressedSize = 0xffffffff)));

    // Act
    const err = await withAllocationLimit(() => caught(new ArchiveReader(new LocalFileRangeReader(path)).readIndex()));

    // Assess
    expect(err).toBeInstanceOf(ArchiveCorruptError);
    expect(err).toMatchObject({ check: 'seek-table' });
  });

  it('parseSeekTable refuses a compressed size above zstd\'s bound for a 32 MiB frame even when the totals add up', () => {
    // Prepare: a table alone (no frames needed): one 40 MiB "frame" in a 40 MiB archive
    const big = 40 * 1024 * 1024;
    const table = encodeSeekTable([{ compressedSize: big, decompressedSize: 1024, checksum: 0 }]);

    // Act
    const err = (() => {
      try {
        parseSeekTable(table, big + table.length, 'c.tar.zst');
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    // Assess
    expect(err).toBeInstanceOf(ArchiveCorruptError);
    expect(err).toMatchObject({ check: 'seek-table' });
    expect((err as Error).message).toContain(`more than the ${compressBound(MAX_FRAME_BYTES)} a frame can take`);
  });

  it('parseSeekTable accepts frames at the limits', () => {
    // Prepare
    const c = compressBound(MAX_FRAME_BYTES);
    const table = encodeSeekTable([{ compressedSize: c, decompressedSize: MAX_FRAME_BYTES, checksum: 1 }]);

    // Act
    const parsed = parseSeekTable(table, c + table.length);

    // Assess
    expect(parsed).toMatchObject({ compressedSize: c, decompressedSize: MAX_FRAME_BYTES });
  });

  it('readIndex stops looking for manifest.json once the tail frames hold more than any manifest, without buffering them all', async () => {
    // Prepare: nine 32 MiB frames of zeros (a few KiB each compressed) and no manifest
    const c = new Compressor();
    c.setParameters({ compressionLevel: 1, checksumFlag: true });
    const frame = c.compress(Buffer.alloc(MAX_FRAME_BYTES));
    const frames = Array.from({ length: 9 }, () => frame);
    const table = encodeSeekTable(frames.map((z) => ({ compressedSize: z.length, decompressedSize: MAX_FRAME_BYTES, checksum: z.readUInt32LE(z.length - 4) })));
    const path = join(t.dir, 'junk.tar.zst');
    writeFileSync(path, Buffer.concat([...frames, table]));
    const reader = new ArchiveReader(new LocalFileRangeReader(path));

    // Act
    const err = await withAllocationLimit(() => caught(reader.readIndex()));

    // Assess: refused after at most 256 MiB of frames, never concatenated
    expect(err).toBeInstanceOf(ArchiveCorruptError);
    expect(err).toMatchObject({ check: 'manifest', member: 'manifest.json' });
    expect(reader.stats.reads).toBeLessThanOrEqual(1 + 8);
  });
});
