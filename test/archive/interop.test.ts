import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readArchiveStream } from '../../shared/archive';
import { collect, tempDir, writeArchive } from './helpers';

// Names that stress the format: unicode, spaces, '+', '%', and paths over 100 and 255 bytes.
const NAMES = [
  'a@acme.com/Reports/q1.xlsx',
  'ünïcødé/日本語のファイル.txt',
  'spaces in name/plus+and%25percent.txt',
  `${'long-directory-name-'.repeat(6)}/${'n'.repeat(120)}.csv`,
  `${'d'.repeat(100)}/${'é'.repeat(60)}/${'x'.repeat(90)}.bin`,
  'empty.txt',
];

function content(i: number): Buffer {
  return i === NAMES.length - 1 ? Buffer.alloc(0) : Buffer.from(`member ${i} `.repeat(500 * (i + 1)));
}

describe('Interop: stock zstd + GNU tar', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('our archive → `zstd -d` + `tar -x` gives identical files', async () => {
    // Prepare
    const archive = join(t.dir, 'ours.tar.zst');
    await writeArchive(archive, NAMES.map((key, i) => ({ key, data: content(i) })), { frameTargetBytes: 4096 });
    const out = join(t.dir, 'out');
    mkdirSync(out);

    // Act
    execFileSync('zstd', ['-d', '-q', archive, '-o', join(t.dir, 'ours.tar')]);
    execFileSync('tar', ['-xf', join(t.dir, 'ours.tar'), '-C', out]);
    const listing = execFileSync('tar', ['-tf', join(t.dir, 'ours.tar')], { encoding: 'utf8' }).trim().split('\n');

    // Assess
    expect(listing).toEqual([...NAMES.map((n) => `objects/${n}`), 'manifest.json']);
    NAMES.forEach((n, i) => expect(readFileSync(join(out, 'objects', n)).equals(content(i))).toBe(true));
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).objects).toHaveLength(NAMES.length);
  });

  it('extracts a single member with `tar -xf x.tar objects/path`', () => {
    // Prepare
    const out = join(t.dir, 'one');
    mkdirSync(out);

    // Act
    execFileSync('tar', ['-xf', join(t.dir, 'ours.tar'), '-C', out, `objects/${NAMES[1]}`]);

    // Assess
    expect(readFileSync(join(out, 'objects', NAMES[1]!)).equals(content(1))).toBe(true);
  });

  it.each([['gnu'], ['posix']])('a `tar --format=%s | zstd` archive → readArchiveStream', async (format) => {
    // Prepare
    const src = join(t.dir, `src-${format}`);
    NAMES.forEach((n, i) => {
      mkdirSync(dirname(join(src, n)), { recursive: true });
      writeFileSync(join(src, n), content(i));
    });
    const archive = join(t.dir, `stock-${format}.tar.zst`);
    execFileSync('sh', ['-c', `tar --format=${format} -cf - -C "${src}" . | zstd -q -3 -T2 -o "${archive}"`]);

    // Act
    const got = new Map<string, Buffer>();
    const stream = readArchiveStream(createReadStream(archive));
    for await (const e of stream) got.set(e.relativeKey, await collect(e.body));

    // Assess
    expect([...got.keys()].sort()).toEqual([...NAMES].sort());
    NAMES.forEach((n, i) => expect(got.get(n)?.equals(content(i))).toBe(true));
    expect(stream.manifest).toBeUndefined();
  });
});
