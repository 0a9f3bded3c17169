/**
 * `xregion … | head`: a reader that stops early closes the pipe, and the CLI's next write fails
 * with EPIPE. The CLI must then stop quietly (no stack trace, exit 0) instead of crashing on an
 * unhandled 'error' event, whichever way the command writes: line by line (`archive list`), as a
 * stream (`archive cat`) or as one large result at the end (`catalog query`).
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir, writeArchive } from '../archive/helpers';
import { runIntoClosedPipe } from './spawnCli';

describe('CLI: output into a pipe that closes early', () => {
  let t: ReturnType<typeof tempDir>;
  let archive: string;
  const big = randomBytes(6 * 1024 * 1024);

  beforeAll(async () => {
    // Prepare: ~500 KB of `list` output (far above a pipe's 64 KiB buffer) and a 6 MiB member.
    t = tempDir();
    archive = join(t.dir, 'many.tar.zst');
    const members = Array.from({ length: 3000 }, (_, i) => ({ key: `user${i % 50}@acme.com/a-folder-with-a-long-name-${i % 100}/document-${i}-with-a-long-name.txt`, data: Buffer.from(`${i}`) }));
    await writeArchive(archive, [...members, { key: 'big.bin', data: big }], { threads: 0 });
  });
  afterAll(() => t.cleanup());

  test('`archive list … | head -1` exits 0 with nothing on stderr', async () => {
    // Act
    const r = await runIntoClosedPipe(['archive', 'list', archive]);
    // Assess
    expect(r.firstChunk).toMatch(/^user0@acme\.com\//);
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  }, 60_000);

  test('`archive cat <6 MiB member> | head -c 1` exits 0 with nothing on stderr', async () => {
    const r = await runIntoClosedPipe(['archive', 'cat', archive, 'big.bin']);
    expect(r.firstChunk.length).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  }, 60_000);

  test('`catalog query --json <200,000 rows> | head -1` exits 0 with nothing on stderr', async () => {
    // An empty data dir is enough: the query reads no catalog table.
    const r = await runIntoClosedPipe(['catalog', 'query', 'SELECT range AS n FROM range(200000)', '--json', '--data-dir', join(t.dir, 'empty')]);
    expect(r.firstChunk.length).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  }, 60_000);
});
