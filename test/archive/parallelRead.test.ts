import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchiveCorruptError,
  ArchiveReader,
  extractArchive,
  ExtractOutput,
  FrameDecoderPool,
  LocalFileRangeReader,
  readArchive,
  readArchiveStream,
  type Manifest,
  type SeekTable,
} from '../../shared/archive';
import { collect, craftArchive, editSeekTable, tempDir, writeArchive } from './helpers';

/** Pseudo-random, poorly compressible bytes so a flipped byte lands in real data. */
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

async function rejection(p: Promise<unknown>): Promise<ArchiveCorruptError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveCorruptError);
  return err as ArchiveCorruptError;
}

// Small members one per frame, one member spanning several frames, an empty one.
const MEMBERS = [
  { key: 'a.bin', data: noise(5000, 1) },
  { key: 'dir/b.bin', data: noise(3000, 2) },
  { key: 'big.bin', data: noise(300_000, 3) },
  { key: 'empty.txt', data: Buffer.alloc(0) },
  { key: 'dir/sub/c.txt', data: Buffer.from('text '.repeat(2000)) },
];

describe('Function: readArchive / readArchiveStream with the seek table (frames decoded on workers)', () => {
  let t: ReturnType<typeof tempDir>;
  let path: string;
  let manifest: Manifest;
  let seekTable: SeekTable;
  let pool: FrameDecoderPool;
  beforeAll(async () => {
    t = tempDir();
    path = join(t.dir, 'good.tar.zst');
    ({ manifest } = await writeArchive(path, MEMBERS, { frameTargetBytes: 1024 }));
    ({ seekTable } = await new ArchiveReader(new LocalFileRangeReader(path)).readIndex());
    pool = new FrameDecoderPool(2);
  });
  afterAll(async () => {
    await pool.close();
    t.cleanup();
  });

  const write = (name: string, bytes: Buffer): string => {
    const p = join(t.dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  const readAll = async (entries: AsyncIterable<{ relativeKey: string; body: NodeJS.ReadableStream }>): Promise<Map<string, Buffer>> => {
    const got = new Map<string, Buffer>();
    for await (const e of entries) got.set(e.relativeKey, await collect(e.body));
    return got;
  };

  it('yields every member with its bytes, in order, from a RangeReader and from a stream', async () => {
    // Prepare
    expect(seekTable.frames.length).toBeGreaterThan(MEMBERS.length);

    // Act
    const ranged = await readAll(readArchive(new LocalFileRangeReader(path), { manifest, seekTable, decoders: pool }));
    const streamed = await readAll(readArchiveStream(createReadStream(path, { highWaterMark: 777 }), { manifest, seekTable, decoders: pool }));

    // Assess
    for (const got of [ranged, streamed]) {
      expect([...got.keys()]).toEqual(MEMBERS.map((m) => m.key));
      for (const m of MEMBERS) expect(got.get(m.key)!.equals(m.data)).toBe(true);
    }
  });

  it('a flipped byte in a member frame names the member (zstd check)', async () => {
    // Prepare
    const bytes = readFileSync(path);
    const m = manifest.objects.find((o) => o.relative_key === 'dir/b.bin')!;
    const f = seekTable.frames.find((fr) => fr.decompressedOffset <= m.offset && m.offset < fr.decompressedOffset + fr.decompressedSize)!;
    bytes[f.compressedOffset + Math.floor(f.compressedSize / 2)]! ^= 0x55;
    const flipped = write('flip.tar.zst', bytes);

    // Act
    const err = await rejection(readAll(readArchive(new LocalFileRangeReader(flipped), { manifest, seekTable, archiveName: 'flip.tar.zst', decoders: pool })));

    // Assess
    expect(err.member).toBe('objects/dir/b.bin');
    expect(err.check).toBe('zstd');
    expect(err.message).toMatch(/^flip\.tar\.zst: member objects\/dir\/b\.bin: zstd/);
  });

  it('an altered seek-table checksum fails the seek-table check naming the member', async () => {
    // Prepare
    const m = manifest.objects.find((o) => o.relative_key === 'a.bin')!;
    const k = seekTable.frames.findIndex((fr) => fr.decompressedOffset <= m.offset && m.offset < fr.decompressedOffset + fr.decompressedSize);
    const altered = write('sum.tar.zst', editSeekTable(readFileSync(path), (e) => void (e[k]!.checksum ^= 1)));
    const { seekTable: table } = await new ArchiveReader(new LocalFileRangeReader(altered)).readIndex();

    // Act
    const err = await rejection(readAll(readArchive(new LocalFileRangeReader(altered), { manifest, seekTable: table, decoders: pool })));

    // Assess
    expect(err.check).toBe('seek-table');
    expect(err.member).toBe('objects/a.bin');
  });

  it('a stream that is truncated, continues past its seek table or carries another table is refused', async () => {
    // Prepare
    const bytes = readFileSync(path);
    const truncated = write('cut.tar.zst', bytes.subarray(0, bytes.length - 5));
    const longer = write('long.tar.zst', Buffer.concat([bytes, Buffer.from('xx')]));
    // The first entry's checksum in the table at the end (8-byte frame header, 12-byte entries, 9-byte footer).
    const otherBytes = Buffer.from(bytes);
    otherBytes[bytes.length - (8 + 12 * seekTable.frames.length + 9) + 16]! ^= 1;
    const other = write('other.tar.zst', otherBytes);
    const read = (p: string) => readAll(readArchiveStream(createReadStream(p), { manifest, seekTable, decoders: pool }));

    // Act
    const [e1, e2, e3] = [await rejection(read(truncated)), await rejection(read(longer)), await rejection(read(other))];

    // Assess
    expect(e1.check).toBe('truncated');
    expect(e2.check).toBe('seek-table');
    expect(e3.check).toBe('seek-table');
  });

  it('a member that disagrees with the manifest errors before the iterator moves past it; the worker digest is not trusted for other bytes', async () => {
    // Prepare: the manifest claims other content for dir/b.bin
    const wrong: Manifest = { ...manifest, objects: manifest.objects.map((o) => (o.relative_key === 'dir/b.bin' ? { ...o, sha256: 'f'.repeat(64) } : o)) };

    // Act
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const e of readArchive(new LocalFileRangeReader(path), { manifest: wrong, seekTable, decoders: pool })) {
          seen.push(e.relativeKey);
          if (e.borrow) e.borrow().release(); // borrowing does not skip the check
        }
      })(),
    );

    // Assess
    expect(err.check).toBe('sha256');
    expect(err.member).toBe('objects/dir/b.bin');
    expect(seen).toEqual(['a.bin', 'dir/b.bin']);
  });
});

describe('Function: extractArchive', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('extracts every member (small ones through writer threads, spanning ones through their body) and leaves no temporary', async () => {
    // Prepare
    const path = join(t.dir, 'x.tar.zst');
    const { manifest } = await writeArchive(path, MEMBERS, { frameTargetBytes: 1024 });
    const dest = join(t.dir, 'out');
    const out = await ExtractOutput.open(dest);

    // Act
    let files = 0;
    await extractArchive(out, new LocalFileRangeReader(path), { manifest, onFile: () => files++ });

    // Assess
    expect(files).toBe(MEMBERS.length);
    for (const m of MEMBERS) expect(readFileSync(join(dest, m.key)).equals(m.data)).toBe(true);
    const all = readdirSync(dest, { recursive: true, encoding: 'utf8' });
    expect(all.filter((p) => p.endsWith('.partial'))).toEqual([]);
  });

  it('a member that disagrees with the manifest is never written; the members verified before it are, and discard() removes the folders made for it', async () => {
    // Prepare: one member per frame, the second's bytes differ from its manifest entry
    const A = Buffer.from('alpha '.repeat(100));
    const B = Buffer.from('beta '.repeat(100));
    const sha = (b: Buffer) => require('node:crypto').createHash('sha256').update(b).digest('hex') as string;
    const manifest: Manifest = {
      format: 'xregion-archive/1',
      archive: 'x.tar.zst',
      created: new Date(0).toISOString(),
      source: { region: 'us-east-1', bucket: 'b', prefix: '' },
      compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
      objects: [
        { key: 'a.txt', relative_key: 'a.txt', size: A.length, sha256: sha(A), metadata: {}, tags: {}, header_offset: 0, offset: 512 },
        { key: 'sub/b.txt', relative_key: 'sub/b.txt', size: B.length, sha256: sha(Buffer.from('other '.repeat(83))), metadata: {}, tags: {}, header_offset: 1536, offset: 2048 },
      ],
      skipped: [],
    };
    const path = join(t.dir, 'bad.tar.zst');
    writeFileSync(path, craftArchive([{ name: 'objects/a.txt', data: A }, { name: 'objects/sub/b.txt', data: B }], manifest));
    const dest = join(t.dir, 'bad-out');
    mkdirSync(dest);
    const out = await ExtractOutput.open(dest);

    // Act
    const err = await rejection(extractArchive(out, new LocalFileRangeReader(path), { manifest, archiveName: 'bad.tar.zst' }).catch(async (e: unknown) => {
      await out.discard();
      throw e;
    }));

    // Assess
    expect(err.member).toBe('objects/sub/b.txt');
    expect(err.check).toBe('sha256');
    expect(readdirSync(dest, { recursive: true, encoding: 'utf8' }).sort()).toEqual(['a.txt']);
    expect(existsSync(join(dest, 'sub'))).toBe(false);
  });
});
