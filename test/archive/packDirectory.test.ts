import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ArchiveReader, listFiles, LocalFileRangeReader, packFiles } from '../../shared/archive';
import { collect, tempDir } from './helpers';

const source = { region: 'local', bucket: 'local', prefix: '' };

describe('packDirectory: listFiles and packFiles', () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  const write = (rel: string, body: string | Buffer): void => {
    mkdirSync(dirname(join(t.dir, 'src', rel)), { recursive: true });
    writeFileSync(join(t.dir, 'src', rel), body);
  };

  it('lists regular files in the order of a sort of their whole relative keys', async () => {
    // Names around '/' in code-unit order: ' ' '+' '-' '.' < '/' < '0' 'A' '_' 'a' and non-ASCII.
    const keys = ['a.txt', 'a/x', 'a-b/c', 'a b', 'a+/y', 'a0', 'A/z', 'a_/q', 'ä/ü.txt', 'a/b/c/d.txt', 'a/b.txt', 'z'];
    for (const k of keys) write(k, k);
    symlinkSync(join(t.dir, 'src', 'z'), join(t.dir, 'src', 'link-to-z'));
    const files = await listFiles(join(t.dir, 'src'));
    expect(files.map((f) => f.relativeKey)).toEqual([...keys].sort());
    expect(files.every((f) => f.path === join(t.dir, 'src', f.relativeKey))).toBe(true);
  });

  it('packs each file with the size, time and bytes of the file it read', async () => {
    write('d/one.txt', 'one');
    write('d/empty', '');
    write('big.bin', Buffer.alloc(300_000, 9)); // above the async-read threshold
    const when = new Date('2024-05-06T07:08:09.000Z');
    utimesSync(join(t.dir, 'src', 'd/one.txt'), when, when);
    const out = join(t.dir, 'a.tar.zst');
    const { manifest } = await packFiles(await listFiles(join(t.dir, 'src')), createWriteStream(out), { archiveName: 'a.tar.zst', source, threads: 2 });
    const byKey = new Map(manifest.objects.map((o) => [o.relative_key, o]));
    expect([...byKey.keys()]).toEqual(['big.bin', 'd/empty', 'd/one.txt']);
    expect(byKey.get('d/one.txt')).toMatchObject({ size: 3, last_modified: when.toISOString(), sha256: createHash('sha256').update('one').digest('hex') });
    const reader = new ArchiveReader(new LocalFileRangeReader(out));
    expect(await collect(await reader.openMember('big.bin'))).toEqual(readFileSync(join(t.dir, 'src', 'big.bin')));
  });

  it('records files that vanished, became symlinks or FIFOs after the walk as skipped, and packs the rest', async () => {
    // Prepare
    for (const k of ['a.txt', 'b.txt', 'c.txt', 'd.txt']) write(k, k);
    write('secret-elsewhere', 'do not follow');
    const files = (await listFiles(join(t.dir, 'src'))).filter((f) => f.relativeKey !== 'secret-elsewhere');
    const at = (k: string): string => join(t.dir, 'src', k);
    rmSync(at('a.txt'));
    symlinkSync(at('secret-elsewhere'), at('a.txt'));
    rmSync(at('b.txt'));
    rmSync(at('c.txt'));
    execFileSync('mkfifo', [at('c.txt')]); // opening it must not hang
    const out = join(t.dir, 'b.tar.zst');
    // Act
    const { manifest } = await packFiles(files, createWriteStream(out), { archiveName: 'b.tar.zst', source, threads: 0 });
    // Assess
    expect(manifest.objects.map((o) => o.relative_key)).toEqual(['d.txt']);
    expect(manifest.skipped).toEqual([
      { key: 'a.txt', reason: 'replaced by a symlink after the directory walk (not followed)' },
      { key: 'b.txt', reason: 'removed after the directory walk' },
      { key: 'c.txt', reason: 'no longer a regular file after the directory walk' },
    ]);
    const reader = new ArchiveReader(new LocalFileRangeReader(out));
    expect((await collect(await reader.openMember('d.txt'))).toString()).toBe('d.txt');
  });
});
