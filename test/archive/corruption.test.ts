import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  ArchiveCorruptError,
  ArchiveReader,
  LocalFileRangeReader,
  readArchiveStream,
  UnsafeMemberNameError,
  type Manifest,
} from '../../shared/archive';
import { collect, craftArchive, tempDir, writeArchive } from './helpers';

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

async function drain(stream: AsyncIterable<{ body: Readable }>): Promise<void> {
  for await (const e of stream) await collect(e.body);
}

async function caught(p: Promise<unknown>): Promise<ArchiveCorruptError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveCorruptError);
  return err as ArchiveCorruptError;
}

const MEMBERS = ['a.bin', 'b.bin', 'c.bin', 'd.bin'].map((key, i) => ({ key, data: noise(5000, i + 1) }));

describe('Corruption', () => {
  let t: ReturnType<typeof tempDir>;
  let good: string;
  let manifest: Manifest;
  beforeAll(async () => {
    t = tempDir();
    good = join(t.dir, 'good.tar.zst');
    // One member per frame (target 1 KiB), so a flipped byte hits exactly one member.
    ({ manifest } = await writeArchive(good, MEMBERS, { frameTargetBytes: 1024 }));
  });
  afterAll(() => t.cleanup());

  async function flipInMember(key: string, name: string): Promise<string> {
    const reader = new ArchiveReader(new LocalFileRangeReader(good));
    const { seekTable } = await reader.readIndex();
    const m = manifest.objects.find((o) => o.relative_key === key)!;
    const f = seekTable.frames.find((fr) => fr.decompressedOffset <= m.offset && m.offset < fr.decompressedOffset + fr.decompressedSize)!;
    const bytes = readFileSync(good);
    bytes[f.compressedOffset + Math.floor(f.compressedSize / 2)]! ^= 0x55;
    const path = join(t.dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  it('a flipped byte in a member frame: openMember names the member (zstd or sha256 check)', async () => {
    // Prepare
    const path = await flipInMember('c.bin', 'flip1.tar.zst');
    const reader = new ArchiveReader(new LocalFileRangeReader(path), 'flip1.tar.zst');

    // Act
    const err = await caught(reader.openMember('c.bin').then(collect));

    // Assess
    expect(err.member).toBe('objects/c.bin');
    expect(['zstd', 'sha256']).toContain(err.check);
    expect(err.message).toMatch(/^flip1\.tar\.zst: member objects\/c\.bin: /);
    // Other members are untouched and still readable.
    expect((await collect(await reader.openMember('a.bin'))).equals(MEMBERS[0]!.data)).toBe(true);
  });

  it('a flipped byte in a member frame: the sequential reader names the member', async () => {
    // Prepare
    const path = await flipInMember('b.bin', 'flip2.tar.zst');

    // Act
    const err = await caught(drain(readArchiveStream(createReadStream(path), { archiveName: 'flip2.tar.zst' })));

    // Assess
    expect(err.member).toBe('objects/b.bin');
    expect(['zstd', 'sha256']).toContain(err.check);
  });

  it('a truncated archive: readIndex fails the seek-table check, the sequential reader reports truncation', async () => {
    // Prepare
    const bytes = readFileSync(good);
    const path = join(t.dir, 'trunc.tar.zst');
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * 0.6)));

    // Act
    const e1 = await caught(new ArchiveReader(new LocalFileRangeReader(path)).readIndex());
    const e2 = await caught(drain(readArchiveStream(createReadStream(path))));

    // Assess
    expect(e1.check).toBe('seek-table');
    expect(e2.check).toBe('truncated');
    expect(e2.member).toMatch(/^objects\//);
  });

  it('a bad seek table (frame sizes altered, reserved bits set) fails the seek-table check', async () => {
    // Prepare
    const bytes = readFileSync(good);
    const sizes = Buffer.from(bytes);
    const nFrames = sizes.readUInt32LE(sizes.length - 9);
    const firstEntry = sizes.length - 9 - nFrames * 12;
    sizes.writeUInt32LE(sizes.readUInt32LE(firstEntry) + 1, firstEntry);
    const reserved = Buffer.from(bytes);
    reserved[reserved.length - 5] = 0x84;
    writeFileSync(join(t.dir, 'st1.tar.zst'), sizes);
    writeFileSync(join(t.dir, 'st2.tar.zst'), reserved);

    // Act
    const e1 = await caught(new ArchiveReader(new LocalFileRangeReader(join(t.dir, 'st1.tar.zst'))).readIndex());
    const e2 = await caught(new ArchiveReader(new LocalFileRangeReader(join(t.dir, 'st2.tar.zst'))).readIndex());

    // Assess
    expect(e1.check).toBe('seek-table');
    expect(e2.check).toBe('seek-table');
    expect(e2.message).toMatch(/reserved/);
  });

  describe('a manifest that disagrees with the members', () => {
    const data = [Buffer.from('alpha'), Buffer.from('beta')];
    const wrong = (): Manifest => {
      const m: Manifest = JSON.parse(JSON.stringify(manifest));
      m.objects = m.objects.slice(0, 2).map((o, i) => ({ ...o, size: data[i]!.length }));
      m.objects[0]!.relative_key = 'a.bin';
      m.objects[1]!.relative_key = 'b.bin';
      m.objects[0]!.sha256 = require('node:crypto').createHash('sha256').update(data[0]!).digest('hex');
      m.objects[1]!.sha256 = '0'.repeat(64); // wrong
      m.objects[0]!.header_offset = 0;
      m.objects[0]!.offset = 512;
      m.objects[1]!.header_offset = 1024;
      m.objects[1]!.offset = 1536;
      return m;
    };

    it('sequential reader: the embedded manifest check names the member', async () => {
      // Prepare
      const path = join(t.dir, 'mm.tar.zst');
      writeFileSync(path, craftArchive([{ name: 'objects/a.bin', data: data[0]! }, { name: 'objects/b.bin', data: data[1]! }], wrong()));

      // Act
      const err = await caught(drain(readArchiveStream(createReadStream(path))));

      // Assess
      expect(err.member).toBe('objects/b.bin');
      expect(err.check).toBe('sha256');
      expect(err.message).toMatch(/sha256 mismatch \(manifest\.json 0{64}, computed [0-9a-f]{64}\)/);
    });

    it('sequential reader with a manifest given up front: the body errors before the consumer commits', async () => {
      // Prepare
      const path = join(t.dir, 'mm2.tar.zst');
      writeFileSync(path, craftArchive([{ name: 'objects/a.bin', data: data[0]! }, { name: 'objects/b.bin', data: data[1]! }], wrong()));
      const committed: string[] = [];

      // Act
      const err = await caught(
        (async () => {
          for await (const e of readArchiveStream(createReadStream(path), { manifest: wrong() })) {
            await collect(e.body);
            committed.push(e.relativeKey);
          }
        })(),
      );

      // Assess
      expect(committed).toEqual(['a.bin']);
      expect(err.member).toBe('objects/b.bin');
    });

    it('openMember: sha256 check names the member', async () => {
      // Prepare
      const path = join(t.dir, 'mm3.tar.zst');
      writeFileSync(path, craftArchive([{ name: 'objects/a.bin', data: data[0]! }, { name: 'objects/b.bin', data: data[1]! }], wrong()));
      const reader = new ArchiveReader(new LocalFileRangeReader(path));

      // Act
      const ok = await collect(await reader.openMember('a.bin'));
      const err = await caught(reader.openMember('b.bin').then(collect));

      // Assess
      expect(ok.toString()).toBe('alpha');
      expect(err).toMatchObject({ member: 'objects/b.bin', check: 'sha256' });
    });

    it('members missing from the archive are reported', async () => {
      // Prepare
      const path = join(t.dir, 'mm4.tar.zst');
      const m = wrong();
      m.objects[1]!.sha256 = require('node:crypto').createHash('sha256').update(data[1]!).digest('hex');
      writeFileSync(path, craftArchive([{ name: 'objects/a.bin', data: data[0]! }], m));

      // Act
      const err = await caught(drain(readArchiveStream(createReadStream(path))));

      // Assess
      expect(err).toMatchObject({ member: 'objects/b.bin', check: 'manifest' });
      expect(err.message).toMatch(/missing from the archive/);
    });
  });

  describe('unsafe member names on read', () => {
    it.each([['objects/../../x'], ['../x'], ['/etc/cron.d/x']])('refuses %j in the sequential reader', async (name) => {
      // Prepare
      const path = join(t.dir, `unsafe-${Buffer.from(name).toString('hex')}.tar.zst`);
      writeFileSync(path, craftArchive([{ name, data: Buffer.from('pwned') }]));
      const seen: string[] = [];

      // Act
      const err = await (async () => {
        for await (const e of readArchiveStream(createReadStream(path))) seen.push(e.name);
      })().catch((e: unknown) => e);

      // Assess
      expect(err).toBeInstanceOf(UnsafeMemberNameError);
      expect(seen).toEqual([]);
    });

    it('refuses an unsafe relative_key in the manifest (openMember)', async () => {
      // Prepare
      const m: Manifest = JSON.parse(JSON.stringify(manifest));
      m.objects = [{ ...m.objects[0]!, relative_key: '../x', header_offset: 0, offset: 512, size: 5 }];
      const path = join(t.dir, 'unsafe-manifest.tar.zst');
      writeFileSync(path, craftArchive([{ name: 'objects/../x', data: Buffer.from('pwned') }], m));

      // Act / Assess
      await expect(new ArchiveReader(new LocalFileRangeReader(path)).openMember('../x')).rejects.toBeInstanceOf(UnsafeMemberNameError);
    });
  });
});
