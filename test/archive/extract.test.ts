import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Manifest } from '../../shared/archive';
import { craftArchive, tempDir, writeArchive } from './helpers';

const ROOT = resolve(__dirname, '../..');
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Runs `xregion archive extract ...` through tsx. */
function extract(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('npx', ['tsx', 'services/cli/main.ts', 'archive', 'extract', ...args], { cwd: ROOT, timeout: 30_000 });
  return { status: r.status, stderr: r.stderr.toString().replace(/^npm warn.*\n/gm, '') };
}

/** Every path under `dir` (files and folders), relative; [] if `dir` does not exist. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

const A = Buffer.from('alpha '.repeat(100));
const B = Buffer.from('beta '.repeat(100));
const B_ON_DISK = Buffer.from('evil '.repeat(100));

/** The manifest our writer would write for a.txt and sub/b.txt laid out one member per frame (as craftArchive does). */
function manifestFor(bSha: string): Manifest {
  return {
    format: 'xregion-archive/1',
    archive: 'x.tar.zst',
    created: new Date(0).toISOString(),
    source: { region: 'us-east-1', bucket: 'b', prefix: '' },
    compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
    objects: [
      { key: 'a.txt', relative_key: 'a.txt', size: A.length, sha256: sha(A), metadata: {}, tags: {}, header_offset: 0, offset: 512 },
      { key: 'sub/b.txt', relative_key: 'sub/b.txt', size: B_ON_DISK.length, sha256: bSha, metadata: {}, tags: {}, header_offset: 1536, offset: 2048 },
    ],
    skipped: [],
  };
}

/** Our archive whose sub/b.txt bytes disagree with its manifest.json (a member damaged past zstd's checks). */
function tamperedArchive(): Buffer {
  return craftArchive(
    [
      { name: 'objects/a.txt', data: A },
      { name: 'objects/sub/b.txt', data: B_ON_DISK },
    ],
    manifestFor(sha(B)),
  );
}

/** `archive` with its seek table unusable (footer magic broken), as 121 fuzzed archives had it. */
function breakSeekTable(archive: Buffer): Buffer {
  const b = Buffer.from(archive);
  b[b.length - 1]! ^= 0xff;
  return b;
}

describe('CLI: xregion archive extract never renames an unverified byte into place', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  const file = (name: string, bytes: Buffer): string => {
    const p = join(t.dir, name);
    writeFileSync(p, bytes);
    return p;
  };

  it('damaged seek table (sequential fallback) and a member that disagrees with manifest.json: exit 1, nothing left under -C (not even the folders it made)', () => {
    // Prepare
    const archive = file('fallback-bad-member.tar.zst', breakSeekTable(tamperedArchive()));
    const dest = join(t.dir, 'out1');

    // Act
    const r = extract([archive, '-C', join(dest, 'deep')]);

    // Assess
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^xregion: fallback-bad-member\.tar\.zst: member objects\/sub\/b\.txt: sha256 mismatch \(manifest\.json /);
    expect(tree(dest)).toEqual([]);
    expect(existsSync(dest)).toBe(false);
  });

  it('damaged seek table on an otherwise intact archive of ours: refused with the seek-table error, nothing written', async () => {
    // Prepare
    const good = join(t.dir, 'good.tar.zst');
    await writeArchive(good, [
      { key: 'a.txt', data: A },
      { key: 'sub/b.txt', data: B },
    ]);
    const archive = file('fallback-intact.tar.zst', breakSeekTable(readFileSync(good)));
    const dest = join(t.dir, 'out2');
    mkdirSync(dest);

    // Act
    const r = extract([archive, '-C', dest]);

    // Assess
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^xregion: fallback-intact\.tar\.zst: .*seek table/);
    expect(tree(dest)).toEqual([]);
  });

  it('seek table intact, second member disagrees with the manifest: the verified first file stays, no temporary file or folder made for the second', () => {
    // Prepare
    const archive = file('seekable-bad-member.tar.zst', tamperedArchive());
    const dest = join(t.dir, 'out3');
    mkdirSync(dest);

    // Act
    const r = extract([archive, '-C', dest]);

    // Assess
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/member objects\/sub\/b\.txt: sha256 mismatch/);
    expect(tree(dest)).toEqual(['a.txt']);
    expect(readFileSync(join(dest, 'a.txt')).equals(A)).toBe(true);
  });

  it('a stock `tar | zstd` archive extracts in full; truncated, it leaves nothing behind', () => {
    // Prepare
    const src = join(t.dir, 'stock-src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    // a.txt spans several zstd blocks, so it decodes completely before the cut at the end is found.
    const big = randomBytes(400_000);
    writeFileSync(join(src, 'a.txt'), big);
    writeFileSync(join(src, 'sub', 'b.txt'), B);
    const stock = join(t.dir, 'stock.tar.zst');
    execFileSync('sh', ['-c', `tar -cf - -C "${src}" . | zstd -q -3 -o "${stock}"`]);
    const truncated = file('stock-truncated.tar.zst', readFileSync(stock).subarray(0, readFileSync(stock).length - 20));
    const [ok, cut] = [join(t.dir, 'out4'), join(t.dir, 'out5')];
    mkdirSync(ok);
    mkdirSync(cut);

    // Act
    const r1 = extract([stock, '-C', ok]);
    const r2 = extract([truncated, '-C', cut]);

    // Assess
    expect(r1.status).toBe(0);
    expect(readFileSync(join(ok, 'a.txt')).equals(big)).toBe(true);
    expect(readFileSync(join(ok, 'sub', 'b.txt')).equals(B)).toBe(true);
    expect(r2.status).toBe(1);
    expect(tree(cut)).toEqual([]);
  });
});
