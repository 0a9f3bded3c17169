import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  ArchiveReader,
  ArchiveWriter,
  ArchiveWriterStateError,
  DuplicateMemberError,
  LocalFileRangeReader,
  MemberSizeMismatchError,
  readArchiveStream,
  readSeekTable,
  UnsafeMemberNameError,
} from '../../shared/archive';
import { collect, tempDir, writeArchive } from './helpers';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const source = { region: 'us-east-1', bucket: 'src', prefix: 'p/' };

describe('Class: ArchiveWriter', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  describe('Method: addMember', () => {
    it('records sha256, offsets and metadata in the manifest', async () => {
      // Prepare
      const path = join(t.dir, 'a.tar.zst');
      const a = Buffer.from('hello world');
      const b = Buffer.alloc(3000, 7);

      // Act
      const { manifest } = await writeArchive(path, [
        { key: 'a.txt', data: a },
        { key: 'dir/b.bin', data: b },
      ]);

      // Assess
      expect(manifest.format).toBe('xregion-archive/1');
      expect(manifest.archive).toBe('test.tar.zst');
      expect(manifest.compression).toEqual({ codec: 'zstd', level: 3, frame_target_bytes: 4 * 1024 * 1024 });
      expect(manifest.objects.map((o) => [o.key, o.relative_key, o.size, o.sha256])).toEqual([
        ['p/a.txt', 'a.txt', a.length, sha(a)],
        ['p/dir/b.bin', 'dir/b.bin', b.length, sha(b)],
      ]);
      expect(manifest.objects[0]).toMatchObject({ header_offset: 0, offset: 512, metadata: { k: 'v' }, tags: {} });
      expect(manifest.objects[1]).toMatchObject({ header_offset: 1024, offset: 1536 });
    });

    it('closes frames at member boundaries past the target and cuts large members', async () => {
      // Prepare
      const path = join(t.dir, 'f.tar.zst');
      const members = [
        { key: 'small1', data: Buffer.alloc(100, 1) },
        { key: 'small2', data: Buffer.alloc(1500, 2) },
        { key: 'big', data: Buffer.alloc(10_000, 3) },
      ];

      // Act
      await writeArchive(path, members, { frameTargetBytes: 2048, maxFrameBytes: 4096 });
      const rr = new LocalFileRangeReader(path);
      const table = await readSeekTable(rr);
      await rr.close();

      // Assess: frame 1 = small1 + small2 (closes at >= 2048), big is cut at 4096, manifest in its own frame(s)
      const sizes = table.frames.map((f) => f.decompressedSize);
      expect(sizes[0]).toBe(512 + 512 + 512 + 1536);
      expect(sizes.slice(1, 4)).toEqual([4096, 4096, 512 + 10_240 - 2 * 4096]);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
      expect(table.frames.every((f) => f.checksum !== undefined)).toBe(true);
      expect(table.compressedSize + table.tableSize).toBe(statSync(path).size);
    });

    it.each([[0], [1], [2]])('hashes members wholly inside a frame (on the workers) and members across frames alike, %i thread(s)', async (threads) => {
      // Prepare: sizes around the 4096-byte frame: two per frame, exactly fills it (512 header + 3584), spans, empty
      const data = [100, 200, 3584, 3584, 9000, 0, 10, 20, 4095, 1].map((n, i) => Buffer.from(Array.from({ length: n }, (_, j) => (i * 31 + j * 7) & 0xff)));
      const members = data.map((d, i) => ({ key: `m${i}.bin`, data: d }));

      // Act: two archives in a row share one pooled compressor; a third runs at the same time as the second
      const first = await writeArchive(join(t.dir, 'a.tar.zst'), members, { threads, frameTargetBytes: 2048, maxFrameBytes: 4096 });
      const [second, third] = await Promise.all([
        writeArchive(join(t.dir, 'b.tar.zst'), members, { threads, frameTargetBytes: 2048, maxFrameBytes: 4096 }),
        writeArchive(join(t.dir, 'c.tar.zst'), [...members].reverse(), { threads, frameTargetBytes: 2048, maxFrameBytes: 4096 }),
      ]);

      // Assess: every digest matches the bytes, and the bytes read back are the originals
      for (const { manifest } of [first, second, third]) {
        expect(manifest.objects.map((o) => [o.relative_key, o.sha256])).toEqual(
          manifest.objects.map((o) => [o.relative_key, sha(data[Number(o.relative_key.slice(1, -4))]!)]),
        );
      }
      const reader = new ArchiveReader(new LocalFileRangeReader(join(t.dir, 'c.tar.zst')));
      for (const [i, d] of data.entries()) expect((await collect(await reader.openMember(`m${i}.bin`))).equals(d)).toBe(true);
    });

    it('rejects a body longer or shorter than the declared size with a typed error', async () => {
      // Prepare
      const mk = (): ArchiveWriter => new ArchiveWriter(new Writable({ write: (_c, _e, cb) => cb() }), { archiveName: 'x', source, threads: 0 });
      const w1 = mk();
      const w2 = mk();

      // Act / Assess
      await expect(w1.addMember({ key: 'k', relativeKey: 'k', size: 3 }, Readable.from([Buffer.from('four')]))).rejects.toBeInstanceOf(MemberSizeMismatchError);
      await expect(w2.addMember({ key: 'k', relativeKey: 'k', size: 5 }, Readable.from([Buffer.from('four')]))).rejects.toThrow(/declared size 5/);
      await expect(w2.finish()).rejects.toBeInstanceOf(ArchiveWriterStateError);
    });

    it('refuses a second member with the same key or relative key (every reader would refuse the manifest)', async () => {
      // Prepare
      const mk = (): ArchiveWriter => new ArchiveWriter(new Writable({ write: (_c, _e, cb) => cb() }), { archiveName: 'x', source, threads: 0 });
      const w1 = mk();
      const w2 = mk();
      await w1.addMember({ key: 'p/a', relativeKey: 'a', size: 1 }, Buffer.from('1'));
      await w2.addMember({ key: 'p/a', relativeKey: 'a', size: 1 }, Buffer.from('1'));

      // Act / Assess
      await expect(w1.addMember({ key: 'p/other', relativeKey: 'a', size: 1 }, Buffer.from('2'))).rejects.toThrow(
        new DuplicateMemberError('x', 'relative_key', 'a'),
      );
      await expect(w2.addMember({ key: 'p/a', relativeKey: 'b', size: 1 }, Buffer.from('2'))).rejects.toBeInstanceOf(DuplicateMemberError);
      await expect(w1.finish()).rejects.toBeInstanceOf(ArchiveWriterStateError);
    });

    it('reads a { file } body straight into frames and detects a file that grew', async () => {
      // Prepare
      const file = join(t.dir, 'f.bin');
      const data = Buffer.alloc(10_000, 5);
      writeFileSync(file, data);
      const path = join(t.dir, 'file.tar.zst');
      const w = new ArchiveWriter(createWriteStream(path), { archiveName: 'x', source, threads: 1, frameTargetBytes: 1024, maxFrameBytes: 4096 });
      const w2 = new ArchiveWriter(new Writable({ write: (_c, _e, cb) => cb() }), { archiveName: 'x', source, threads: 0 });

      // Act
      const entry = await w.addMember({ key: 'k', relativeKey: 'f.bin', size: data.length }, { file });
      await w.finish();
      const back = await collect(await new ArchiveReader(new LocalFileRangeReader(path)).openMember('f.bin'));

      // Assess
      expect(entry.sha256).toBe(sha(data));
      expect(back.equals(data)).toBe(true);
      await expect(w2.addMember({ key: 'k', relativeKey: 'f.bin', size: data.length - 1 }, { file })).rejects.toBeInstanceOf(MemberSizeMismatchError);
    });

    it.each([['../etc/passwd'], ['/abs'], ['a/../../b'], ['nul\0byte'], ['']])('refuses the unsafe name %j', async (name) => {
      // Prepare
      const w = new ArchiveWriter(new Writable({ write: (_c, _e, cb) => cb() }), { archiveName: 'x', source, threads: 0 });

      // Act / Assess
      await expect(w.addMember({ key: name, relativeKey: name, size: 0 }, Buffer.alloc(0))).rejects.toBeInstanceOf(UnsafeMemberNameError);
    });

    it('respects back-pressure and keeps memory bounded on a slow output', async () => {
      // Prepare: a sink that accepts one chunk at a time slowly
      let written = 0;
      let maxPending = 0;
      const sink = new Writable({
        highWaterMark: 1,
        write: (c: Buffer, _e, cb) => {
          written += c.length;
          setTimeout(cb, 2);
        },
      });
      const w = new ArchiveWriter(sink, { archiveName: 'x', source, threads: 2, frameTargetBytes: 64 * 1024 });
      const chunk = Buffer.alloc(64 * 1024, 9);
      let i = 0;
      const body = new Readable({
        read() {
          maxPending = Math.max(maxPending, sink.writableLength);
          this.push(i++ < 64 ? chunk : null);
        },
      });

      // Act
      await w.addMember({ key: 'k', relativeKey: 'k', size: 64 * chunk.length }, body);
      await w.finish();

      // Assess
      expect(written).toBe(w.stats.bytesOut);
      expect(w.stats.frames).toBeGreaterThanOrEqual(32);
      expect(maxPending).toBeLessThanOrEqual(256 * 1024);
    });
  });
});

describe('Class: ArchiveReader', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  describe('Method: readIndex', () => {
    it('reads the seek table and manifest with two small reads', async () => {
      // Prepare
      const path = join(t.dir, 'idx.tar.zst');
      const members = Array.from({ length: 40 }, (_, i) => ({ key: `f${i}.txt`, data: Buffer.alloc(20_000, i) }));
      await writeArchive(path, members, { frameTargetBytes: 64 * 1024 });
      const reader = new ArchiveReader(new LocalFileRangeReader(path), 'idx.tar.zst');

      // Act
      const { seekTable, manifest } = await reader.readIndex();

      // Assess
      expect(manifest.objects).toHaveLength(40);
      expect(seekTable.frames.length).toBeGreaterThan(5);
      expect(reader.stats.reads).toBe(2);
    });
  });

  describe('Method: openMember', () => {
    it('fetches only the covering frames (+ at most 64 KiB) and returns the exact bytes', async () => {
      // Prepare
      const path = join(t.dir, 'one.tar.zst');
      const rnd = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + ((i * i) >> 3)) & 0xff));
      const members = Array.from({ length: 30 }, (_, i) => ({ key: `d/f${i}.bin`, data: rnd(40_000 + i, i) }));
      await writeArchive(path, members, { frameTargetBytes: 100_000 });
      const reader = new ArchiveReader(new LocalFileRangeReader(path));
      const { seekTable, manifest } = await reader.readIndex();
      const before = reader.stats.bytesRead;
      const m = manifest.objects[17]!;

      // Act
      const got = await collect(await reader.openMember('d/f17.bin'));

      // Assess
      expect(got.equals(members[17]!.data)).toBe(true);
      const covering = seekTable.frames
        .filter((f) => f.decompressedOffset < m.offset + m.size && f.decompressedOffset + f.decompressedSize > m.header_offset)
        .reduce((s, f) => s + f.compressedSize, 0);
      expect(reader.stats.bytesRead - before).toBeLessThanOrEqual(covering + 64 * 1024);
      expect(reader.stats.bytesRead - before).toBe(covering);
    });

    it('rejects a member that is not in the manifest', async () => {
      // Prepare
      const path = join(t.dir, 'nm.tar.zst');
      await writeArchive(path, [{ key: 'a', data: Buffer.from('a') }]);

      // Act / Assess
      await expect(new ArchiveReader(new LocalFileRangeReader(path)).openMember('b')).rejects.toThrow(/no member "b"/);
    });
  });
});

describe('Function: readArchiveStream', () => {
  it('yields every member and the manifest, verified against the given manifest', async () => {
    // Prepare
    const t = tempDir();
    const path = join(t.dir, 's.tar.zst');
    const members = [
      { key: 'x/1', data: Buffer.from('one') },
      { key: 'x/2', data: Buffer.alloc(0) },
      { key: 'x/3', data: Buffer.alloc(70_000, 3) },
    ];
    const { manifest } = await writeArchive(path, members, { frameTargetBytes: 1024 });
    const got: [string, string][] = [];

    // Act: the second body is left unread on purpose (the reader must skip it)
    const stream = readArchiveStream(createReadStream(path), { manifest });
    for await (const e of stream) {
      if (e.relativeKey !== 'x/2') got.push([e.relativeKey, (await collect(e.body)).toString('hex').slice(0, 8)]);
      expect(e.expected?.sha256).toBe(manifest.objects.find((o) => o.relative_key === e.relativeKey)?.sha256);
    }

    // Assess
    expect(got).toEqual([
      ['x/1', Buffer.from('one').toString('hex')],
      ['x/3', '03030303'],
    ]);
    expect(stream.manifest).toEqual(manifest);
    expect(readFileSync(path).length).toBeGreaterThan(0);
    t.cleanup();
  });

  it('survives a consumer that writes each body to a slow destination', async () => {
    // Prepare
    const t = tempDir();
    const path = join(t.dir, 'slow.tar.zst');
    const members = Array.from({ length: 5 }, (_, i) => ({ key: `m${i}`, data: Buffer.alloc(300_000 + i, i) }));
    await writeArchive(path, members, { frameTargetBytes: 64 * 1024 });
    const sizes: number[] = [];

    // Act
    for await (const e of readArchiveStream(createReadStream(path))) {
      const out = createWriteStream(join(t.dir, e.relativeKey));
      await new Promise<void>((res, rej) => e.body.pipe(out).on('finish', res).on('error', rej));
      sizes.push(statSync(join(t.dir, e.relativeKey)).size);
    }

    // Assess
    expect(sizes).toEqual(members.map((m) => m.data.length));
    t.cleanup();
  });
});
