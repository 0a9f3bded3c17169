import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchiveCorruptError,
  ArchiveReader,
  LocalFileRangeReader,
  parseManifest,
  readArchiveStream,
  UnsafeMemberNameError,
  validateMemberName,
  type Manifest,
  type ManifestObject,
} from '../../shared/archive';
import { collect, craftArchive, tempDir } from './helpers';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A manifest for `members` laid out as craftArchive lays them out (one frame per member). */
function manifestOf(members: { relativeKey: string; key?: string; data: Buffer }[]): Manifest {
  let pos = 0;
  const objects: ManifestObject[] = members.map((m) => {
    const o: ManifestObject = {
      key: m.key ?? `p/${m.relativeKey}`,
      relative_key: m.relativeKey,
      size: m.data.length,
      sha256: sha(m.data),
      metadata: {},
      tags: {},
      header_offset: pos,
      offset: pos + 512,
    };
    pos += 512 + Math.ceil(m.data.length / 512) * 512;
    return o;
  });
  return {
    format: 'xregion-archive/1',
    archive: 'dup.tar.zst',
    created: new Date(0).toISOString(),
    source: { region: 'us-east-1', bucket: 'src', prefix: 'p/' },
    compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
    objects,
    skipped: [],
  };
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

const A = Buffer.from('alpha');
const B = Buffer.from('beta');

describe('Manifest validation (shared by every reader)', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  describe('an object listed twice', () => {
    const cases: [string, Manifest][] = [
      ['the same relative_key (and so the same member name)', manifestOf([{ relativeKey: 'a.txt', data: A }, { relativeKey: 'a.txt', key: 'p/other', data: B }])],
      ['the same key under two relative keys', manifestOf([{ relativeKey: 'a.txt', data: A }, { relativeKey: 'b.txt', key: 'p/a.txt', data: B }])],
    ];

    it.each(cases)('parseManifest refuses %s', (_, m) => {
      // Act
      const err = thrown(() => parseManifest(JSON.stringify(m), 'dup.tar.zst'));

      // Assess
      expect(err).toBeInstanceOf(ArchiveCorruptError);
      expect(err).toMatchObject({ archive: 'dup.tar.zst', member: 'manifest.json', check: 'manifest' });
      expect((err as Error).message).toMatch(/lists (key|relative_key) "(p\/)?a\.txt" twice \(objects 0 and 1\)/);
    });

    it.each(cases)('ArchiveReader.readIndex and the sequential reader refuse %s', async (_, m) => {
      // Prepare: distinct tar members (a duplicate tar member is refused on its own), the manifest as given
      const path = join(t.dir, `dup-${m.objects[1]!.relative_key}.tar.zst`);
      writeFileSync(path, craftArchive([{ name: 'objects/a.txt', data: A }, { name: 'objects/b.txt', data: B }], m));

      // Act
      const e1 = await rejection(new ArchiveReader(new LocalFileRangeReader(path), 'dup.tar.zst').readIndex());
      const e2 = await rejection(
        (async () => {
          for await (const e of readArchiveStream(createReadStream(path), { archiveName: 'dup.tar.zst' })) await collect(e.body);
        })(),
      );

      // Assess
      for (const e of [e1, e2]) {
        expect(e).toBeInstanceOf(ArchiveCorruptError);
        expect(e).toMatchObject({ check: 'manifest', member: 'manifest.json' });
        expect((e as Error).message).toMatch(/twice/);
      }
    });
  });

  describe('unsafe member names', () => {
    const cases: [string, string, RegExp][] = [
      ['../../etc/cron.d/x', 'objects/../../etc/cron.d/x', /contains a '\.\.' segment/],
      ['a/../../x', 'objects/a/../../x', /contains a '\.\.' segment/],
      ['/etc/passwd', '/etc/passwd', /absolute path/],
      ['C:/x', 'C:/x', /absolute path/],
      ['a\u0000b', 'objects/a\u0000b', /contains NUL/],
      ['', '', /empty name/],
    ];

    it.each(cases)('parseManifest refuses relative_key %j', (relativeKey, name, reason) => {
      // Prepare
      const m = manifestOf([{ relativeKey: 'ok.txt', data: A }, { relativeKey, key: 'p/x', data: B }]);

      // Act
      const err = thrown(() => parseManifest(JSON.stringify(m), 'evil.tar.zst'));

      // Assess
      expect(err).toBeInstanceOf(UnsafeMemberNameError);
      expect(err).toMatchObject({ archive: 'evil.tar.zst', memberName: name });
      expect((err as Error).message).toMatch(reason);
    });

    it('ArchiveReader.readIndex and the sequential reader refuse a manifest naming an unsafe member even when the tar members are safe', async () => {
      // Prepare
      const m = manifestOf([{ relativeKey: 'a.txt', data: A }, { relativeKey: '../b.txt', key: 'p/b.txt', data: B }]);
      const path = join(t.dir, 'unsafe-manifest.tar.zst');
      writeFileSync(path, craftArchive([{ name: 'objects/a.txt', data: A }, { name: 'objects/b.txt', data: B }], m));

      // Act
      const e1 = await rejection(new ArchiveReader(new LocalFileRangeReader(path), 'unsafe.tar.zst').readIndex());
      const e2 = await rejection(
        (async () => {
          for await (const e of readArchiveStream(createReadStream(path), { archiveName: 'unsafe.tar.zst' })) await collect(e.body);
        })(),
      );

      // Assess
      for (const e of [e1, e2]) {
        expect(e).toBeInstanceOf(UnsafeMemberNameError);
        expect(e).toMatchObject({ archive: 'unsafe.tar.zst', memberName: 'objects/../b.txt' });
      }
    });
  });

  it('distinct keys and relative keys pass', () => {
    // Prepare
    const m = manifestOf([{ relativeKey: 'a.txt', data: A }, { relativeKey: 'A.txt', data: B }, { relativeKey: 'a//b', data: B }, { relativeKey: 'a/b', data: B }]);

    // Act
    const parsed = parseManifest(JSON.stringify(m));

    // Assess
    expect(parsed.objects.map((o) => o.relative_key)).toEqual(['a.txt', 'A.txt', 'a//b', 'a/b']);
  });

  it("validateMemberName's '..' rule is exactly 'a segment split on / or \\ equals ..'", () => {
    // Prepare: names over a small alphabet, so dots and separators meet often
    const names = fc.string({ unit: fc.constantFrom('.', '/', '\\', 'a'), maxLength: 12 });
    const reason = (n: string): string | undefined => {
      try {
        validateMemberName(n);
        return undefined;
      } catch (e) {
        return (e as UnsafeMemberNameError).reason;
      }
    };

    // Act / Assess
    fc.assert(
      fc.property(names, (n) => {
        const r = reason(n);
        if (r === 'empty name' || r === 'absolute path') return;
        expect(r === "contains a '..' segment").toBe(n.split(/[\\/]/).includes('..'));
      }),
      { numRuns: 2000 },
    );
  });
});
