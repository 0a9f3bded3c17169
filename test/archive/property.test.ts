import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ArchiveReader, LocalFileRangeReader, readArchiveStream } from '../../shared/archive';
import { collect, tempDir, writeArchive } from './helpers';

const FRAME = 1024;
const segment = fc
  .string({ unit: fc.constantFrom('a', 'b', 'Z', '0', ' ', '+', '%', '-', '_', '.', 'é', '日', '🙂'), minLength: 1, maxLength: 12 })
  .filter((s) => s !== '.' && s !== '..');
const name = fc.array(segment, { minLength: 1, maxLength: 4 }).map((p) => p.join('/'));
// 0 bytes, 1 byte, exactly one frame with its header, a frame boundary, and many frames.
const size = fc.oneof(fc.constantFrom(0, 1, FRAME - 512, FRAME, 2 * FRAME), fc.integer({ min: 0, max: 6 * FRAME }));
const tree = fc.uniqueArray(fc.record({ key: name, size, seed: fc.integer({ min: 0, max: 255 }) }), {
  minLength: 1,
  maxLength: 12,
  selector: (m) => m.key,
});

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 13 + (i >> 7)) & 0xff;
  return b;
}

describe('Property: write → read round-trips byte for byte', () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir();
  });
  afterAll(() => t.cleanup());

  it('through readIndex + openMember and through readArchiveStream', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(tree, fc.constantFrom(0, 1, 2), async (members, threads) => {
        // Prepare
        const path = join(t.dir, `p${run++}.tar.zst`);
        const data = members.map((m) => ({ key: m.key, data: bytes(m.size, m.seed) }));
        await writeArchive(path, data, { frameTargetBytes: FRAME, maxFrameBytes: 2 * FRAME, threads });

        // Act
        const reader = new ArchiveReader(new LocalFileRangeReader(path));
        const { manifest } = await reader.readIndex();
        const random = await Promise.all(data.map(async (m) => collect(await reader.openMember(m.key))));
        const seq = new Map<string, Buffer>();
        const stream = readArchiveStream(createReadStream(path), { manifest });
        for await (const e of stream) seq.set(e.relativeKey, await collect(e.body));

        // Assess
        expect(manifest.objects.map((o) => o.relative_key)).toEqual(data.map((m) => m.key));
        data.forEach((m, i) => {
          expect(random[i]!.equals(m.data)).toBe(true);
          expect(seq.get(m.key)?.equals(m.data)).toBe(true);
        });
        expect(stream.manifest).toEqual(manifest);
      }),
      { numRuns: 30 },
    );
  });
});
