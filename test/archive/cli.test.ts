import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { craftArchive, tempDir } from './helpers';

const ROOT = resolve(__dirname, '../..');

/** A manifest for one 5-byte member "pwned", as our writer would produce it. */
function manifestFor(relativeKey: string): unknown {
  return {
    format: 'xregion-archive/1',
    archive: 'evil.tar.zst',
    created: new Date(0).toISOString(),
    source: { region: 'us-east-1', bucket: 'b', prefix: '' },
    compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
    objects: [
      {
        key: relativeKey,
        relative_key: relativeKey,
        size: 5,
        sha256: createHash('sha256').update('pwned').digest('hex'),
        metadata: {},
        tags: {},
        header_offset: 0,
        offset: 512,
      },
    ],
    skipped: [],
  };
}

/** Runs `xregion archive ...` through tsx (about a second each: used sparingly). */
function xregion(args: string[]): { status: number | null; stdout: Buffer; stderr: string } {
  // The timeout catches a process kept alive after its work (e.g. by idle compression workers).
  const r = spawnSync('npx', ['tsx', 'services/cli/main.ts', 'archive', ...args], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString().replace(/^npm warn.*\n/gm, '') };
}

describe('CLI: xregion archive', () => {
  let t: ReturnType<typeof tempDir>;
  const files: Record<string, Buffer> = {
    'a@acme.com/Reports/q1.xlsx': Buffer.alloc(200_000, 1),
    'a@acme.com/notes ünï+%.txt': Buffer.from('notes '.repeat(1000)),
    'b@acme.com/empty': Buffer.alloc(0),
  };
  beforeAll(() => {
    t = tempDir();
    for (const [k, v] of Object.entries(files)) {
      mkdirSync(join(t.dir, 'src', k, '..'), { recursive: true });
      writeFileSync(join(t.dir, 'src', k), v);
    }
  });
  afterAll(() => t.cleanup());

  it('create → list → cat --stats → extract round-trips the directory', () => {
    // Prepare
    const archive = join(t.dir, 'x.tar.zst');
    const out = join(t.dir, 'out');

    // Act
    const created = xregion(['create', join(t.dir, 'src'), '-o', archive, '--level', '3', '--threads', '1', '--frame-target', '65536']);
    const listed = xregion(['list', archive]);
    const catted = xregion(['cat', archive, 'a@acme.com/notes ünï+%.txt', '--stats']);
    const extracted = xregion(['extract', archive, '-C', out]);

    // Assess
    expect(created.status).toBe(0);
    expect(listed.stdout.toString().trim().split('\n').map((l) => l.split('\t').slice(0, 2))).toEqual(
      Object.keys(files)
        .sort()
        .map((k) => [k, String(files[k]!.length)]),
    );
    expect(catted.status).toBe(0);
    expect(catted.stdout.equals(files['a@acme.com/notes ünï+%.txt']!)).toBe(true);
    expect(catted.stderr).toMatch(new RegExp(`^read \\d+ of ${statSync(archive).size} bytes`));
    expect(extracted.status).toBe(0);
    for (const [k, v] of Object.entries(files)) expect(readFileSync(join(out, k)).equals(v)).toBe(true);
  });

  it('create with the default two threads exits as soon as the archive is written, even when a worker got no frame', () => {
    // Prepare: one tiny file makes two frames (member, manifest), so one pooled worker may stay idle
    const archive = join(t.dir, 'tiny.tar.zst');
    mkdirSync(join(t.dir, 'tiny'));
    writeFileSync(join(t.dir, 'tiny', 'a.txt'), 'a');

    // Act
    const created = xregion(['create', join(t.dir, 'tiny'), '-o', archive]);

    // Assess: status 0, not null (null = killed by the timeout)
    expect(created.status).toBe(0);
    expect(statSync(archive).size).toBeGreaterThan(0);
  });

  it('extract refuses unsafe names and symlinked directories, writing nothing outside -C', () => {
    // Prepare
    const evil = join(t.dir, 'evil.tar.zst');
    writeFileSync(evil, craftArchive([{ name: 'objects/../../escaped.txt', data: Buffer.from('pwned') }], manifestFor('../../escaped.txt')));
    const linked = join(t.dir, 'linked.tar.zst');
    writeFileSync(linked, craftArchive([{ name: 'objects/link/planted.txt', data: Buffer.from('pwned') }], manifestFor('link/planted.txt')));
    const dest = join(t.dir, 'dest');
    const outside = join(t.dir, 'outside');
    mkdirSync(dest);
    mkdirSync(outside);
    symlinkSync(outside, join(dest, 'link'));

    // Act
    const r1 = xregion(['extract', evil, '-C', dest]);
    const r2 = xregion(['extract', linked, '-C', dest]);

    // Assess
    expect(r1.status).not.toBe(0);
    expect(r1.stderr).toMatch(/^xregion: evil.tar.zst: unsafe member name "objects\/..\/..\/escaped.txt": contains a '..' segment\n$/);
    expect(existsSync(join(t.dir, 'escaped.txt'))).toBe(false);
    expect(r2.status).not.toBe(0);
    expect(r2.stderr).toMatch(/is a symlink/);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
  });

  it('list refuses a manifest naming an unsafe member: one clear line, non-zero exit, nothing listed', () => {
    // Prepare
    const evil = join(t.dir, 'evil-list.tar.zst');
    writeFileSync(evil, craftArchive([{ name: 'objects/ok.txt', data: Buffer.from('pwned') }], manifestFor('../../etc/cron.d/evil')));

    // Act
    const r = xregion(['list', evil]);

    // Assess
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toBe('');
    expect(r.stderr).toBe(`xregion: evil-list.tar.zst: unsafe member name "objects/../../etc/cron.d/evil": contains a '..' segment\n`);
  });
});
