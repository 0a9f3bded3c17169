import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchiveCorruptError,
  ArchiveReader,
  LocalFileRangeReader,
  NoSuchMemberError,
  readArchiveStream,
  UnsafeMemberNameError,
  type Manifest,
} from '../../shared/archive';
import { encodeMemberIndex, ENTRY_BYTES, memberHash, PAGE_ENTRIES, parseIndexTrailer, TRAILER_BYTES } from '../../shared/archive/memberIndex';
import { MemberIndexReader } from '../../shared/archive/MemberIndexReader';
import { parseSeekTable } from '../../shared/archive/seekTable';
import { collect, editSeekTable, tempDir, writeArchive } from './helpers';

/** 600 members (3 leaf pages + a root) with small frames, so a lookup's reads can be told apart. */
const MEMBERS = Array.from({ length: 600 }, (_, i) => ({ key: `dir${i % 7}/file-${i}.txt`, data: Buffer.from(`member ${i} `.repeat(40 + (i % 13))) }));

/** Where the index frame sits in an archive file. */
function indexSpan(bytes: Buffer): { start: number; end: number } {
  const table = parseSeekTable(bytes, bytes.length);
  if ('needBytes' in table) throw new Error('unreadable seek table');
  return { start: table.compressedSize, end: table.compressedSize + table.indexFrameSize };
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

describe('Member index', () => {
  let t: ReturnType<typeof tempDir>;
  let path: string;
  let manifest: Manifest;
  beforeAll(async () => {
    t = tempDir();
    path = join(t.dir, 'idx.tar.zst');
    ({ manifest } = await writeArchive(path, MEMBERS, { frameTargetBytes: 16 * 1024 }));
  });
  afterAll(() => t.cleanup());

  it('stock `zstd -d | tar -t` lists exactly the members and manifest.json (the index frame is skipped)', () => {
    // Act
    execFileSync('zstd', ['-t', '-q', path]);
    const listing = execFileSync('sh', ['-c', `zstd -dc "${path}" | tar -tf -`], { encoding: 'utf8' }).trim().split('\n');
    const manifestText = execFileSync('sh', ['-c', `zstd -dc "${path}" | tar -xOf - manifest.json`], { encoding: 'utf8', maxBuffer: 64 << 20 });

    // Assess
    expect(listing).toEqual([...MEMBERS.map((m) => `objects/${m.key}`), 'manifest.json']);
    expect((JSON.parse(manifestText) as Manifest).objects).toEqual(manifest.objects);
  });

  it('lookupMember reads the tail, one leaf page and the record\'s frame, not the manifest', async () => {
    // Prepare
    const reader = new ArchiveReader(new LocalFileRangeReader(path), 'idx.tar.zst');
    const want = manifest.objects[433]!;

    // Act
    const got = await reader.lookupMember(want.relative_key);
    const body = await collect(await reader.openMember(want.relative_key));

    // Assess
    expect(got).toEqual(want);
    expect(body.equals(MEMBERS[433]!.data)).toBe(true);
    const { seekTable } = await new ArchiveReader(new LocalFileRangeReader(path)).readIndex();
    const manifestFrames = seekTable.frames.filter((f) => f.decompressedOffset + f.decompressedSize > (manifest.objects.at(-1)!.offset ?? 0) + 1);
    const manifestBytes = manifestFrames.reduce((s, f) => s + f.compressedSize, 0);
    const largestFrame = Math.max(...seekTable.frames.map((f) => f.compressedSize));
    // tail read (64 KiB or the whole file) + one 4 KiB leaf + one manifest frame + the member's frame
    expect(reader.stats.reads).toBeLessThanOrEqual(4);
    expect(reader.stats.bytesRead).toBeLessThan(Math.min(64 * 1024, readFileSync(path).length) + PAGE_ENTRIES * ENTRY_BYTES + 3 * largestFrame);
    expect(manifestFrames.length).toBeGreaterThan(1);
    expect(reader.stats.bytesRead).toBeLessThan(64 * 1024 + manifestBytes);
  });

  it('finds every member, and refuses absent and unsafe names', async () => {
    // Prepare
    const reader = new ArchiveReader(new LocalFileRangeReader(path));

    // Act
    const found = await Promise.all(manifest.objects.map((o) => reader.lookupMember(o.relative_key)));

    // Assess
    expect(found).toEqual(manifest.objects);
    await expect(reader.lookupMember('dir1/nope.txt')).rejects.toBeInstanceOf(NoSuchMemberError);
    await expect(reader.lookupMember('../etc/passwd')).rejects.toBeInstanceOf(UnsafeMemberNameError);
    await expect(reader.lookupMember('a\0b')).rejects.toBeInstanceOf(UnsafeMemberNameError);
  });

  it('an archive without the index (written before it) is read through the manifest', async () => {
    // Prepare: the same frames and seek table, the index frame dropped
    const old = join(t.dir, 'old.tar.zst');
    writeFileSync(old, editSeekTable(readFileSync(path), () => undefined));
    const reader = new ArchiveReader(new LocalFileRangeReader(old));

    // Act
    const m = await reader.lookupMember(MEMBERS[5]!.key);
    const body = await collect(await reader.openMember(MEMBERS[5]!.key));
    const { manifest: full, seekTable } = await new ArchiveReader(new LocalFileRangeReader(old)).readIndex();

    // Assess
    expect(seekTable.indexFrameSize).toBe(0);
    expect(seekTable.index).toBeUndefined();
    expect(m).toEqual(manifest.objects[5]);
    expect(body.equals(MEMBERS[5]!.data)).toBe(true);
    expect(full.objects).toEqual(manifest.objects);
  });

  it('the sequential reader accepts the index frame before the seek table', async () => {
    // Act
    const names: string[] = [];
    for await (const e of readArchiveStream(createReadStream(path), { archiveName: 'idx.tar.zst' })) {
      names.push(e.relativeKey);
      await collect(e.body);
    }

    // Assess
    expect(names).toEqual(MEMBERS.map((m) => m.key));
  });

  it('a flipped byte in a leaf page fails the index check in lookups and in readIndex', async () => {
    // Prepare
    const bytes = readFileSync(path);
    const { start } = indexSpan(bytes);
    bytes[start + 8 + 100]! ^= 0x01; // inside the first leaf page
    const bad = join(t.dir, 'flip.tar.zst');
    writeFileSync(bad, bytes);

    // Act
    const all = await Promise.all(manifest.objects.map((o) => outcome(new ArchiveReader(new LocalFileRangeReader(bad)).lookupMember(o.relative_key))));
    const full = await outcome(new ArchiveReader(new LocalFileRangeReader(bad)).readIndex());

    // Assess: members whose path runs through the damaged page fail; none returns another's record
    const failed = all.filter((r) => r instanceof ArchiveCorruptError);
    expect(failed.length).toBeGreaterThan(0);
    for (const r of failed) expect((r as ArchiveCorruptError).check).toBe('index');
    all.forEach((r, i) => {
      if (!(r instanceof Error)) expect(r).toEqual(manifest.objects[i]);
    });
    expect(full).toBeInstanceOf(ArchiveCorruptError);
    expect((full as ArchiveCorruptError).check).toBe('index');
    expect((full as Error).message).toMatch(/checksum mismatch/);
  });

  it('fuzzed index bytes never yield wrong bytes: each read is correct or a typed error', async () => {
    // Prepare
    const clean = readFileSync(path);
    const { start, end } = indexSpan(clean);
    let x = 12345;
    const rnd = (n: number): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    let corrupt = 0;
    for (let round = 0; round < 40; round++) {
      const bytes = Buffer.from(clean);
      for (let k = 0; k <= rnd(3); k++) bytes[start + rnd(end - start)]! ^= 1 + rnd(255);
      const file = join(t.dir, `fuzz-${round}.tar.zst`);
      writeFileSync(file, bytes);
      const i = rnd(MEMBERS.length);
      const reader = new ArchiveReader(new LocalFileRangeReader(file));

      // Act
      const got = await outcome(reader.openMember(MEMBERS[i]!.key).then(collect));

      // Assess
      if (got instanceof Error) {
        expect(got).toBeInstanceOf(ArchiveCorruptError);
        corrupt++;
      } else {
        expect((got as Buffer).equals(MEMBERS[i]!.data)).toBe(true);
      }
      const full = await outcome(new ArchiveReader(new LocalFileRangeReader(file)).readIndex());
      expect(full).toBeInstanceOf(ArchiveCorruptError);
    }
    expect(corrupt).toBeGreaterThan(0);
  });

  it('an index consistent with itself but not with the manifest fails readIndex, and lookups return no wrong member', async () => {
    // Prepare: swap the records two entries point at and re-encode with valid checksums
    const bytes = readFileSync(path);
    const { start, end } = indexSpan(bytes);
    const trailer = parseIndexTrailer(bytes.subarray(end - TRAILER_BYTES, end), end - start - 8, undefined);
    const leaves = bytes.subarray(start + 8, start + 8 + trailer.count * ENTRY_BYTES);
    const entries = Buffer.from(leaves);
    const a = 10 * ENTRY_BYTES;
    const b = 20 * ENTRY_BYTES;
    const tmp = Buffer.from(entries.subarray(a + 8, a + 16));
    entries.copy(entries, a + 8, b + 8, b + 16);
    tmp.copy(entries, b + 8);
    const forged = encodeMemberIndex(entries, trailer.count, trailer);
    const file = join(t.dir, 'forged.tar.zst');
    writeFileSync(file, Buffer.concat([bytes.subarray(0, start), forged, bytes.subarray(end)]));
    const victim = manifest.objects.find((o) => memberHash(o.relative_key).equals(entries.subarray(a, a + 8)))!;

    // Act
    const full = await outcome(new ArchiveReader(new LocalFileRangeReader(file)).readIndex());
    const one = await outcome(new ArchiveReader(new LocalFileRangeReader(file)).openMember(victim.relative_key).then(collect));

    // Assess
    expect(full).toBeInstanceOf(ArchiveCorruptError);
    expect((full as ArchiveCorruptError).check).toBe('index');
    expect(one).toBeInstanceOf(ArchiveCorruptError);
    expect((one as ArchiveCorruptError).check).toBe('index');
  });

  it('equal hashes across a page boundary are all found (64-bit collisions)', async () => {
    // Prepare: 700 synthetic entries, 300 of them with one hash, spanning leaves 0..2
    const n = 700;
    const entries = Buffer.alloc(n * ENTRY_BYTES);
    const same = Buffer.from('00112233445566ff', 'hex');
    for (let i = 0; i < n; i++) {
      const h = i >= 200 && i < 500 ? same : memberHash(`k${i}`);
      h.copy(entries, i * ENTRY_BYTES);
      entries.writeUInt32LE(i * 10, i * ENTRY_BYTES + 8);
      entries.writeUInt32LE(5, i * ENTRY_BYTES + 12);
    }
    const frame = encodeMemberIndex(entries, n, { headerOffset: 0, dataOffset: 512, size: 7000 });
    const content = frame.subarray(8);
    const trailer = parseIndexTrailer(content.subarray(content.length - TRAILER_BYTES), content.length, 'syn');
    const reader = new MemberIndexReader(async (o, l) => content.subarray(o, o + l), trailer, 'syn');

    // Act
    const found = await reader.find(same);
    const one = await reader.find(memberHash('k650'));
    const none = await reader.find(memberHash('absent'));

    // Assess
    expect(found.map((e) => e.recordOffset).sort((p, q) => p - q)).toEqual(Array.from({ length: 300 }, (_, i) => (200 + i) * 10));
    expect(one.map((e) => e.recordOffset)).toEqual([6500]);
    expect(none).toEqual([]);
    expect((await reader.all()).length).toBe(n);
  });
});
