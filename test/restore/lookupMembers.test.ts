import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArchiveReader, LocalFileRangeReader, NoSuchMemberError } from '../../shared/archive';
import { lookupMembers } from '../../shared/restore';
import { editSeekTable, tempDir, writeArchive } from '../archive/helpers';

describe('Function: lookupMembers', () => {
  let t: ReturnType<typeof tempDir>;
  let path: string;
  beforeAll(async () => {
    t = tempDir();
    path = join(t.dir, 'a.tar.zst');
    // writeArchive names members p/<key> with relative key <key>
    await writeArchive(path, Array.from({ length: 300 }, (_, i) => ({ key: `u/f${i}.txt`, data: Buffer.from(`file ${i}`) })), { frameTargetBytes: 8 * 1024 });
  });
  afterAll(() => t.cleanup());

  it('finds members by relative key and by object key through the index, without the whole manifest', async () => {
    // Prepare
    const reader = new ArchiveReader(new LocalFileRangeReader(path));

    // Act
    const got = await lookupMembers(reader, [{ relativeKey: 'u/f7.txt', path: 'x' }, { objectPath: 'p/u/f250.txt', path: 'y' }, { relativeKey: 'nope', path: 'z' }], 'p/');

    // Assess
    expect(got).toBeDefined();
    expect((got![0] as { key: string }).key).toBe('p/u/f7.txt');
    expect((got![1] as { relative_key: string }).relative_key).toBe('u/f250.txt');
    expect(got![2]).toBeInstanceOf(NoSuchMemberError);
    const manifestOnly = new ArchiveReader(new LocalFileRangeReader(path));
    await manifestOnly.readIndex();
    expect(reader.stats.bytesRead).toBeLessThan(manifestOnly.stats.bytesRead);
  });

  it('leaves it to the manifest when the index cannot settle it', async () => {
    // Prepare
    const old = join(t.dir, 'old.tar.zst');
    writeFileSync(old, editSeekTable(readFileSync(path), () => undefined));

    // Act
    const noIndex = await lookupMembers(new ArchiveReader(new LocalFileRangeReader(old)), [{ relativeKey: 'u/f7.txt', path: 'x' }]);
    const otherPrefix = await lookupMembers(new ArchiveReader(new LocalFileRangeReader(path)), [{ objectPath: 'q/u/f7.txt', path: 'x' }], 'p/');
    const noPrefix = await lookupMembers(new ArchiveReader(new LocalFileRangeReader(path)), [{ objectPath: 'p/u/f7.txt', path: 'x' }]);

    // Assess
    expect(noIndex).toBeUndefined();
    expect(otherPrefix).toBeUndefined();
    expect(noPrefix).toBeUndefined();
  });
});
