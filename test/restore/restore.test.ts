import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveReader, LocalFileRangeReader } from '../../shared/archive';
import { DirectoryTarget, runRestore } from '../../shared/restore';
import { patternSha256 } from '../helpers/bytes';
import { BACKUP, NORMAL, PREFIX, RUNS, buildCatalogFixture, cli, type CatalogFixture } from './catalogFixture';

let f: CatalogFixture;
beforeAll(async () => {
  f = await buildCatalogFixture();
}, 60_000);
afterAll(() => f?.cleanup());

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const version = (key: string, at: string) => RUNS.find((r) => r.at.startsWith(at))!.objects.find((o) => o.key === `${PREFIX}${key}`)!;
const out = () => mkdtempSync(join(tmpdir(), 'xregion-out-'));
const env = () => ['--config', f.configFile, '--data-dir', f.dataDir];
/** Exit code 0, or fail with what the command printed. */
function ok(r: { code: number; stderr: string }): void {
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
}
function filesUnder(dir: string, base = ''): string[] {
  return readdirSync(join(dir, base), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(dir, join(base, e.name)) : [join(base, e.name)])).sort();
}

describe('Command: xregion restore', () => {
  it('one member of an archive by ranged reads of its frames only (--stats)', async () => {
    // Prepare: the 2025-01-20 archive holds many frames (frame target 64 KiB)
    const a = f.manifests.find((m) => m.manifest.created.startsWith('2025-01-20'))!;
    const dir = out();
    // Act
    const r = await cli(['restore', '--archive', `s3://${BACKUP.bucket}/${a.key}`, '--key', 'bob@acme.com/notes.txt', '--to', dir, '--stats', ...env()]);
    // Assess
    ok(r);
    expect(sha(join(dir, 'bob@acme.com/notes.txt'))).toBe(patternSha256(13, 700));
    const [, read, total] = /read (\d+) bytes of (\d+) archive bytes/.exec(r.stderr)!.map(Number);
    // the index (64 KiB tail + manifest frame) dominates such a small archive; bench:restore measures 1 GB
    expect(read).toBeLessThan(total! / 2);
  });

  it('by object path from the catalog: the newest version, or the one --as-of a date', async () => {
    const latest = out();
    const older = out();
    const r1 = await cli(['restore', '--object-path', `${PREFIX}ana@acme.com/important-document.pdf`, '--to', latest, ...env()]);
    const r2 = await cli(['restore', '--object-path', `${PREFIX}ana@acme.com/important-document.pdf`, '--as-of', '2025-01-21', '--to', older, ...env()]);
    const v2 = version('ana@acme.com/important-document.pdf', '2025-01-23');
    const v1 = version('ana@acme.com/important-document.pdf', '2025-01-20');
    ok(r1);
    ok(r2);
    expect(sha(join(latest, 'ana@acme.com/important-document.pdf'))).toBe(patternSha256(v2.seed, v2.size));
    expect(sha(join(older, 'ana@acme.com/important-document.pdf'))).toBe(patternSha256(v1.seed, v1.size));
    const none = await cli(['restore', '--object-path', `${PREFIX}ana@acme.com/important-document.pdf`, '--as-of', '2024-01-01', '--to', out(), ...env()]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no object matching/);
  });

  it('everything of a user (and of a user on a date), grouped by archive, each file verified', async () => {
    const dir = out();
    const r = await cli(['restore', '--user', 'ana@acme.com', '--to', dir, '--json', ...env()]);
    ok(r);
    const summary = JSON.parse(r.stdout);
    expect(summary.archives).toBe(2);
    expect(filesUnder(dir)).toEqual(['ana@acme.com/Finance/invoice-001.pdf', 'ana@acme.com/Finance/invoice-002.pdf', 'ana@acme.com/important-document.pdf']);
    const dated = out();
    const r2 = await cli(['restore', '--user', 'bob@acme.com', '--date', '2025-01-27', '--to', dated, ...env()]);
    ok(r2);
    expect(filesUnder(dated)).toEqual(['bob@acme.com/late.txt']);
  });

  it('by prefix and by a catalog query, to a bucket with content type and metadata kept', async () => {
    const store = f.appliance.topology.store(BACKUP.region);
    await store.ensureBucket('restore-target');
    const r = await cli(['restore', '--prefix', `${PREFIX}bob@acme.com/logs/`, '--to', 's3://restore-target/back/', ...env(), '--region', BACKUP.region]);
    ok(r);
    const keys: string[] = [];
    for await (const o of store.list('restore-target', 'back/')) keys.push(o.key);
    expect(keys).toHaveLength(8);
    const info = await store.head('restore-target', 'back/bob@acme.com/logs/log-3.txt');
    expect(info.contentType).toBe('text/plain');
    expect(info.metadata['drive-user']).toBe(encodeURIComponent('bob@acme.com'));
    expect(info.sha256).toBe(patternSha256(33, 30_003));
    const dir = out();
    const q = await cli(['restore', '--query', "SELECT object_path, backup_file FROM catalog_table_name WHERE object_name LIKE '%invoice%'", '--to', dir, ...env()]);
    ok(q);
    expect(filesUnder(dir)).toEqual(['ana@acme.com/Finance/invoice-001.pdf', 'ana@acme.com/Finance/invoice-002.pdf']);
  });

  it('from a normal destination', async () => {
    const dir = out();
    const r = await cli(['restore', '--from', `s3://${NORMAL.bucket}/${PREFIX}`, '--prefix', 'ana@acme.com/', '--to', dir, ...env()]);
    ok(r);
    const v2 = version('ana@acme.com/important-document.pdf', '2025-01-23');
    expect(filesUnder(dir)).toEqual(['ana@acme.com/Finance/invoice-001.pdf', 'ana@acme.com/Finance/invoice-002.pdf', 'ana@acme.com/important-document.pdf']);
    expect(sha(join(dir, 'ana@acme.com/important-document.pdf'))).toBe(patternSha256(v2.seed, v2.size));
  });

  it('from a normal destination given without a trailing slash: the folder, not sibling prefixes', async () => {
    // Prepare: a sibling prefix that starts like the --from prefix
    const store = f.appliance.topology.store(NORMAL.region);
    const sibling = `${PREFIX.slice(0, -1)}-old/ana@acme.com/stale.txt`;
    await store.put(NORMAL.bucket, sibling, Buffer.from('stale'));
    try {
      const dir = out();
      // Act
      const r = await cli(['restore', '--from', `s3://${NORMAL.bucket}/${PREFIX.slice(0, -1)}`, '--prefix', 'ana@acme.com/', '--to', dir, ...env()]);
      // Assess
      ok(r);
      expect(filesUnder(dir)).toEqual(['ana@acme.com/Finance/invoice-001.pdf', 'ana@acme.com/Finance/invoice-002.pdf', 'ana@acme.com/important-document.pdf']);
    } finally {
      await store.delete(NORMAL.bucket, sibling);
    }
  });

  it('refuses options that do not apply to the mode instead of ignoring them', async () => {
    // Act
    const asOfArchive = await cli(['restore', '--archive', `s3://${BACKUP.bucket}/x.tar.zst`, '--as-of', '2025-01-21', '--to', out(), ...env()]);
    const asOfFrom = await cli(['restore', '--from', `s3://${NORMAL.bucket}/${PREFIX}`, '--as-of', '2025-01-21', '--to', out(), ...env()]);
    const keyCatalog = await cli(['restore', '--user', 'ana@acme.com', '--key', 'x.pdf', '--to', out(), ...env()]);
    // Assess
    expect([asOfArchive.code, asOfFrom.code, keyCatalog.code]).toEqual([1, 1, 1]);
    expect(asOfArchive.stderr).toMatch(/--as-of goes with catalog selections.*not with --archive/);
    expect(asOfFrom.stderr).toMatch(/--as-of goes with catalog selections.*not with --from/);
    expect(keyCatalog.stderr).toMatch(/--key goes with --archive or --from/);
  });

  it('is safe: skips identical files, refuses to overwrite different ones unless --overwrite', async () => {
    const dir = out();
    const args = ['restore', '--user', 'bob@acme.com', '--date', '2025-01-27', '--to', dir, '--json', ...env()];
    expect((await cli(args)).code).toBe(0);
    const again = JSON.parse((await cli(args)).stdout);
    expect([again.restored, again.identical]).toEqual([0, 1]);
    writeFileSync(join(dir, 'bob@acme.com/late.txt'), 'my own edits');
    const conflict = await cli(args);
    expect(conflict.code).toBe(1);
    expect(JSON.parse(conflict.stdout).conflicts).toBe(1);
    expect(readFileSync(join(dir, 'bob@acme.com/late.txt'), 'utf8')).toBe('my own edits');
    const forced = await cli([...args, '--overwrite']);
    ok(forced);
    expect(sha(join(dir, 'bob@acme.com/late.txt'))).toBe(patternSha256(41, 900));
  });
});

describe('Function: runRestore', () => {
  it('a catalog row lets a folder restore skip the manifest; a row that disagrees with the archive fails safely', async () => {
    // Prepare
    const a = f.manifests.find((m) => m.manifest.created.startsWith('2025-01-20'))!;
    const m = a.manifest.objects.find((o) => o.key.endsWith('notes.txt'))!;
    const known = { offset: m.offset, size: m.size, sha256: m.sha256 };
    const storeFor = () => f.backupStore;
    const viaManifest = await runRestore([{ kind: 'archive', bucket: BACKUP.bucket, key: a.key, members: [{ objectPath: m.key, path: 'notes.txt' }] }], { storeFor, target: new DirectoryTarget(out()) });
    const dir = out();
    // Act
    const viaCatalog = await runRestore([{ kind: 'archive', bucket: BACKUP.bucket, key: a.key, members: [{ objectPath: m.key, path: 'notes.txt', known }] }], { storeFor, target: new DirectoryTarget(dir) });
    const wrong = await runRestore([{ kind: 'archive', bucket: BACKUP.bucket, key: a.key, members: [{ objectPath: m.key, path: 'wrong.txt', known: { ...known, offset: known.offset + 1 } }] }], { storeFor, target: new DirectoryTarget(dir) });
    // Assess
    expect(viaCatalog.restored).toBe(1);
    expect(sha(join(dir, 'notes.txt'))).toBe(patternSha256(13, 700));
    // never more than the tail (seek table) plus the frames covering the member
    const rr = new LocalFileRangeReader(join(f.dataDir, 'regions', BACKUP.region, BACKUP.bucket, a.key));
    const { seekTable } = await new ArchiveReader(rr).readIndex();
    await rr.close();
    const covering = seekTable.frames.filter((fr) => fr.decompressedOffset < m.offset + m.size && fr.decompressedOffset + fr.decompressedSize > m.offset);
    expect(viaCatalog.bytesRead).toBeLessThanOrEqual(Math.min(65536, viaCatalog.archiveBytes) + covering.reduce((n, fr) => n + fr.compressedSize, 0));
    expect(viaCatalog.bytesRead).toBeLessThanOrEqual(viaManifest.bytesRead);
    expect(wrong.failed).toBe(1);
    expect(wrong.outcomes[0]!.error).toMatch(/sha256 mismatch/);
    expect(existsSync(join(dir, 'wrong.txt'))).toBe(false);
  });

  it('past its memory budget, an archive index is released after the scan and read again: same files, same clash checks', async () => {
    // Prepare: every archive whole. Runs back up the same keys again, so paths clash across archives.
    const requests = f.manifests.map((a) => ({ kind: 'archive' as const, bucket: BACKUP.bucket, key: a.key }));
    const storeFor = () => f.backupStore;
    const keptDir = out();
    const releasedDir = out();
    // Act
    const kept = await runRestore(requests, { storeFor, target: new DirectoryTarget(keptDir) });
    const released = await runRestore(requests, { storeFor, target: new DirectoryTarget(releasedDir), retainEntries: 0 });
    // Assess
    const view = (s: typeof kept) => s.outcomes.map((o) => `${o.status} ${o.path} ${o.source} ${o.error ?? ''}`);
    expect(view(released)).toEqual(view(kept));
    expect(kept.failed).toBeGreaterThan(0); // the clashes
    expect(kept.restored).toBeGreaterThan(0);
    expect(filesUnder(releasedDir)).toEqual(filesUnder(keptDir));
    for (const file of filesUnder(keptDir)) expect(sha(join(releasedDir, file))).toBe(sha(join(keptDir, file)));
    // Each released archive's index was read once more.
    expect(released.bytesRead).toBeGreaterThan(kept.bytesRead);
    expect(released.archiveBytes).toBe(kept.archiveBytes);
  });

  it('two selected objects mapping to one target path both fail (reported), neither is written', async () => {
    // Prepare: two different objects, one target path
    const dir = out();
    const req = (key: string) => ({ kind: 'object' as const, bucket: NORMAL.bucket, key: `${PREFIX}${key}`, path: 'report.bin' });
    // Act
    const summary = await runRestore([req('bob@acme.com/notes.txt'), req('bob@acme.com/late.txt')], { storeFor: () => f.appliance.topology.store(NORMAL.region), target: new DirectoryTarget(dir) });
    // Assess
    expect(summary).toMatchObject({ restored: 0, failed: 2 });
    for (const o of summary.outcomes) expect(o.error).toMatch(/2 selected objects map to this target path/);
    expect(existsSync(join(dir, 'report.bin'))).toBe(false);
  });

  it('refuses unsafe target names and never writes outside the target', async () => {
    const root = out();
    const dir = join(root, 'inside');
    const summary = await runRestore(
      [{ kind: 'object', bucket: NORMAL.bucket, key: `${PREFIX}bob@acme.com/notes.txt`, path: '../escaped.txt' }],
      { storeFor: () => f.appliance.topology.store(NORMAL.region), target: new DirectoryTarget(dir) },
    );
    expect(summary.failed).toBe(1);
    expect(summary.outcomes[0]!.error).toMatch(/unsafe member name/);
    expect(existsSync(join(root, 'escaped.txt'))).toBe(false);
  });

  it('a corrupted member fails alone and leaves no file; the others restore', async () => {
    // Prepare: a copy of an archive with one byte flipped inside big.bin's frames
    const a = f.manifests.find((m) => m.manifest.objects.some((o) => o.key.endsWith('big.bin')))!;
    const store = f.backupStore;
    const bytes = readFileSync(join(f.dataDir, 'regions', BACKUP.region, BACKUP.bucket, a.key));
    const file = join(out(), 'a.tar.zst');
    writeFileSync(file, bytes);
    const rr = new LocalFileRangeReader(file);
    const { seekTable, manifest } = await new ArchiveReader(rr).readIndex();
    await rr.close();
    const big = manifest.objects.find((o) => o.key.endsWith('big.bin'))!;
    const frame = seekTable.frames.find((fr) => fr.decompressedOffset <= big.offset + 1000 && big.offset + 1000 < fr.decompressedOffset + fr.decompressedSize)!;
    bytes[frame.compressedOffset + Math.floor(frame.compressedSize / 2)] ^= 0xff;
    await store.put(BACKUP.bucket, 'corrupt/a.tar.zst', bytes);
    const dir = out();
    // Act
    const summary = await runRestore([{ kind: 'archive', bucket: BACKUP.bucket, key: 'corrupt/a.tar.zst' }], { storeFor: () => store, target: new DirectoryTarget(dir) });
    // Assess: exactly the members sharing the damaged frame fail, named in their errors
    const hit = manifest.objects.filter((o) => o.header_offset < frame.decompressedOffset + frame.decompressedSize && o.offset + o.size > frame.decompressedOffset);
    expect(hit.map((o) => o.relative_key)).toContain('bob@acme.com/media/big.bin');
    const failed = summary.outcomes.filter((o) => o.status === 'failed');
    expect(failed.map((o) => o.path).sort()).toEqual(hit.map((o) => o.relative_key).sort());
    for (const o of failed) expect(o.error).toContain(o.path);
    expect(summary.restored).toBe(manifest.objects.length - hit.length);
    expect(filesUnder(dir)).not.toContain('bob@acme.com/media/big.bin');
    expect(filesUnder(dir).some((p) => p.includes('.partial'))).toBe(false);
    await store.delete(BACKUP.bucket, 'corrupt/a.tar.zst');
  });
});
