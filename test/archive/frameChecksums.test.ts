import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Compressor } from 'zstd-napi';
import { DCtx } from 'zstd-napi/binding';
import { ArchiveCorruptError, ArchiveReader, LocalFileRangeReader, readArchiveStream, readSeekTable, type Manifest } from '../../shared/archive';
import { collect, editSeekTable, tempDir, writeArchive } from './helpers';
import { seekChecksum, xxh64 } from './xxh64';

/** Poorly compressible bytes, so each member is a frame of its own and its bytes really differ. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const MEMBERS = ['a.bin', 'b.bin', 'c.bin'].map((key, i) => ({ key, data: noise(5000, i + 1) }));

async function rejection(p: Promise<unknown>): Promise<ArchiveCorruptError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveCorruptError);
  return err as ArchiveCorruptError;
}

/** Reads every member of the stream; returns the keys whose bodies ended cleanly. */
async function readAllMembers(path: string, manifest?: Manifest): Promise<{ read: string[]; error: unknown }> {
  const read: string[] = [];
  try {
    for await (const e of readArchiveStream(createReadStream(path), { archiveName: 'x.tar.zst', ...(manifest && { manifest }) })) {
      await collect(e.body);
      read.push(e.relativeKey);
    }
  } catch (error) {
    return { read, error };
  }
  return { read, error: undefined };
}

describe('Seek-table checksums', () => {
  let t: ReturnType<typeof tempDir>;
  let good: Buffer;
  let manifest: Manifest;
  /** Index of the seek-table entry of the frame holding b.bin. */
  let bFrame: number;
  beforeAll(async () => {
    t = tempDir();
    const path = join(t.dir, 'good.tar.zst');
    // One member per frame (target 1 KiB), so an entry belongs to exactly one member.
    ({ manifest } = await writeArchive(path, MEMBERS, { frameTargetBytes: 1024 }));
    good = readFileSync(path);
    const table = await readSeekTable(new LocalFileRangeReader(path));
    const b = manifest.objects[1]!;
    bFrame = table.frames.findIndex((f) => f.decompressedOffset <= b.offset && b.offset < f.decompressedOffset + f.decompressedSize);
  });
  afterAll(() => t.cleanup());

  const write = (name: string, bytes: Buffer): string => {
    const path = join(t.dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('the XXH64 test oracle matches published vectors and zstd\'s own content checksums', () => {
    // Prepare
    const c = new Compressor();
    c.setParameters({ checksumFlag: true });
    const samples = [0, 1, 3, 4, 7, 8, 31, 32, 33, 100, 4096].map((n, i) => noise(n, i + 7));

    // Act / Assess
    expect(xxh64(Buffer.alloc(0))).toBe(0xef46db3751d8e999n);
    expect(xxh64(Buffer.from('abc'))).toBe(0x44bc2cf5ad770999n);
    for (const s of samples) {
      const z = c.compress(s);
      expect(seekChecksum(s)).toBe(z.readUInt32LE(z.length - 4));
    }
  });

  it.each([[0], [1], [2]])('the writer records the low 32 bits of XXH64 of each frame\'s content (threads %d)', async (threads) => {
    // Prepare
    const path = join(t.dir, `w${threads}.tar.zst`);
    await writeArchive(path, MEMBERS, { frameTargetBytes: 1024, threads });
    const bytes = readFileSync(path);

    // Act
    const table = await readSeekTable(new LocalFileRangeReader(path));

    // Assess
    expect(table.frames.length).toBeGreaterThan(MEMBERS.length);
    for (const f of table.frames) {
      const out = Buffer.alloc(f.decompressedSize);
      new DCtx().decompress(out, bytes.subarray(f.compressedOffset, f.compressedOffset + f.compressedSize));
      expect(f.checksum).toBe(seekChecksum(out));
    }
  });

  it('an altered checksum in a member\'s entry: openMember fails the seek-table check naming the member; other members still read', async () => {
    // Prepare
    const path = write('cs-member.tar.zst', editSeekTable(good, (e) => (e[bFrame]!.checksum ^= 1)));
    const reader = new ArchiveReader(new LocalFileRangeReader(path), 'cs-member.tar.zst');

    // Act
    const err = await rejection(reader.openMember('b.bin').then(collect));

    // Assess
    expect(err).toMatchObject({ archive: 'cs-member.tar.zst', member: 'objects/b.bin', check: 'seek-table' });
    expect(err.message).toMatch(/checksum/);
    expect((await collect(await reader.openMember('a.bin'))).equals(MEMBERS[0]!.data)).toBe(true);
  });

  it('an altered checksum in a member\'s entry: the sequential reader fails the seek-table check naming the member, with and without the manifest up front', async () => {
    // Prepare
    const path = write('cs-stream.tar.zst', editSeekTable(good, (e) => (e[bFrame]!.checksum ^= 0x80000000)));

    // Act
    const runs = [await readAllMembers(path), await readAllMembers(path, manifest)];

    // Assess
    for (const r of runs) {
      expect(r.error).toBeInstanceOf(ArchiveCorruptError);
      expect(r.error).toMatchObject({ archive: 'x.tar.zst', member: 'objects/b.bin', check: 'seek-table' });
    }
  });

  it('an altered checksum in the manifest frame\'s entry: readIndex fails the seek-table check', async () => {
    // Prepare
    const path = write('cs-manifest.tar.zst', editSeekTable(good, (e) => (e[e.length - 1]!.checksum = (e[e.length - 1]!.checksum + 1) >>> 0)));

    // Act
    const err = await rejection(new ArchiveReader(new LocalFileRangeReader(path)).readIndex());

    // Assess
    expect(err.check).toBe('seek-table');
  });

  it('an entry spanning two frames (sizes and sums intact, the second frame\'s checksum) is refused: the checksum would vouch for one frame only', async () => {
    // Prepare
    const path = write(
      'cs-merged.tar.zst',
      editSeekTable(good, (e) => {
        const [x, y] = [e[0]!, e[1]!];
        e.splice(0, 2, { compressedSize: x.compressedSize + y.compressedSize, decompressedSize: x.decompressedSize + y.decompressedSize, checksum: y.checksum });
      }),
    );

    // Act
    const err = await rejection(new ArchiveReader(new LocalFileRangeReader(path)).openMember('a.bin').then(collect));
    const seq = await readAllMembers(path);

    // Assess
    expect(err.check).toBe('seek-table');
    expect(seq.error).toMatchObject({ check: 'seek-table' });
  });

  it('the sequential reader refuses our archive without its seek table, or with one whose frame count or sizes disagree', async () => {
    // Prepare
    const table = await readSeekTable({ size: async () => good.length, read: async (o, l) => good.subarray(o, o + l) });
    const stripped = write('no-table.tar.zst', good.subarray(0, table.compressedSize));
    const shifted = write(
      'shifted.tar.zst',
      editSeekTable(good, (e) => {
        e[0]!.decompressedSize += 512;
        e[1]!.decompressedSize -= 512;
      }),
    );
    const extra = write('extra.tar.zst', editSeekTable(good, (e) => e.push({ compressedSize: 0, decompressedSize: 0, checksum: 0 })));

    // Act
    const runs = [await readAllMembers(stripped), await readAllMembers(shifted), await readAllMembers(extra, manifest)];

    // Assess: every member was read (and verified) before the verdict on the table
    for (const r of runs) {
      expect(r.read).toEqual(['a.bin', 'b.bin', 'c.bin']);
      expect(r.error).toBeInstanceOf(ArchiveCorruptError);
      expect(r.error).toMatchObject({ check: 'seek-table' });
    }
    expect((runs[0]!.error as Error).message).toMatch(/does not end with a seek table/);
    expect(runs[1]!.error).toMatchObject({ member: 'objects/a.bin' });
  });

  it('a stock zstd stream with no manifest is not held to a seek table', async () => {
    // Prepare: just the frames of our archive minus the manifest: a tar | zstd stream as any tool writes it
    const c = new Compressor();
    c.setParameters({ checksumFlag: true });
    const tarred = await collectTar(good);
    const path = write('stock.tar.zst', c.compress(tarred));

    // Act
    const r = await readAllMembers(path);

    // Assess
    expect(r.error).toBeUndefined();
    expect(r.read).toEqual(['a.bin', 'b.bin', 'c.bin']);
  });
});

/** The tar bytes of `archive` up to (not including) manifest.json, plus end-of-archive blocks. */
async function collectTar(archive: Buffer): Promise<Buffer> {
  const out = Buffer.alloc(64 * 1024);
  const n = new DCtx().decompress(out, archive);
  const tar = out.subarray(0, n);
  // manifest.json's header starts the last frame: cut there.
  const idx = tar.indexOf(Buffer.from('manifest.json\0'));
  return Buffer.concat([tar.subarray(0, idx), Buffer.alloc(1024)]);
}
