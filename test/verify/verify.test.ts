import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveReader, ArchiveWriter, LocalFileRangeReader } from '../../shared/archive';
import { verifyBackup } from '../../shared/verify';
import { Readable, Writable } from 'node:stream';
import { readAll } from '../helpers/bytes';
import { BACKUP, SOURCE, buildCatalogFixture, cli, type CatalogFixture } from '../restore/catalogFixture';

let f: CatalogFixture;
beforeAll(async () => {
  f = await buildCatalogFixture();
}, 60_000);
afterAll(() => f?.cleanup());

const archiveFile = (key: string) => join(f.dataDir, 'regions', BACKUP.region, BACKUP.bucket, key);

describe('Command: xregion verify', () => {
  it('a clean backup: every member checked, catalog consistent, exit 0 and a JSON report', async () => {
    const report = join(mkdtempSync(join(tmpdir(), 'xregion-verify-')), 'report.json');
    const r = await cli(['verify', `s3://${BACKUP.bucket}`, '--report', report, '--config', f.configFile, '--data-dir', f.dataDir]);
    expect(r.stderr).toMatch(/OK: no findings/);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    const members = f.manifests.reduce((n, a) => n + a.manifest.objects.length, 0);
    expect(json).toMatchObject({ ok: true, archives: f.manifests.length, membersChecked: members, catalogChecked: true, catalogRows: members, findings: [] });
  });
});

describe('Command: xregion verify (nothing to audit, no catalog named)', () => {
  it('an empty or mistyped prefix is a finding, exit 1', async () => {
    const r = await cli(['verify', `s3://${BACKUP.bucket}/no-such-prefix/`, '--config', f.configFile, '--data-dir', f.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no-archives: s3://${BACKUP.bucket}/no-such-prefix/`);
    expect(r.stderr).not.toMatch(/OK: no findings/);
  });

  it('with --endpoint, refuses to run without --catalog or --no-catalog', async () => {
    const r = await cli(['verify', `s3://${BACKUP.bucket}`, '--endpoint', 'http://127.0.0.1:9', '--config', f.configFile, '--data-dir', f.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/give --catalog s3:\/\/catalog-bucket.*or --no-catalog/);
  });
});

describe('Function: verifyBackup', () => {
  const catalog = () => ({ store: f.backupStore, bucket: f.catalogBucket });

  it('--sample checks N random members per archive through ranged reads', async () => {
    const r = await verifyBackup({ store: f.backupStore, bucket: BACKUP.bucket, sample: 1, random: () => 0 });
    expect(r).toMatchObject({ ok: true, mode: 'sample', membersChecked: f.manifests.length });
  });

  it('names the corrupted member and the failed check; the CLI exits 1', async () => {
    // Prepare: flip one byte in the frame holding notes.txt (in place; restored afterwards)
    const a = f.manifests.find((m) => m.manifest.objects.some((o) => o.key.endsWith('notes.txt')))!;
    const file = archiveFile(a.key);
    const original = readFileSync(file);
    const rr = new LocalFileRangeReader(file);
    const { seekTable, manifest } = await new ArchiveReader(rr).readIndex();
    await rr.close();
    const notes = manifest.objects.find((o) => o.key.endsWith('notes.txt'))!;
    const frame = seekTable.frames.find((fr) => fr.decompressedOffset <= notes.offset && notes.offset < fr.decompressedOffset + fr.decompressedSize)!;
    const damaged = Buffer.from(original);
    damaged[frame.compressedOffset + Math.floor(frame.compressedSize / 2)] ^= 0x5a;
    writeFileSync(file, damaged);
    try {
      // Act
      const r = await verifyBackup({ store: f.backupStore, bucket: BACKUP.bucket, catalog: catalog() });
      const cliRun = await cli(['verify', `s3://${BACKUP.bucket}`, '--config', f.configFile, '--data-dir', f.dataDir]);
      // Assess
      expect(r.ok).toBe(false);
      const hit = manifest.objects.filter((o) => o.header_offset < frame.decompressedOffset + frame.decompressedSize && o.offset + o.size > frame.decompressedOffset);
      expect(r.findings.map((x) => [x.kind, x.archive, x.member])).toEqual(hit.map((o) => ['member-corrupt', a.key, `objects/${o.relative_key}`]).sort((x, y) => x[2]!.localeCompare(y[2]!)));
      for (const x of r.findings) expect(['zstd', 'sha256']).toContain(x.check);
      expect(cliRun.code).toBe(1);
      expect(cliRun.stderr).toContain('member-corrupt');
      expect(cliRun.stderr).toContain('notes.txt');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('finds missing, extra and different catalog rows, and rows of archives that are gone', async () => {
    // Prepare: edit one catalog file, add a row for a deleted archive
    let catalogFile = '';
    for await (const o of f.backupStore.list(f.catalogBucket)) if (o.key.includes('day=23')) catalogFile = o.key;
    const path = join(f.dataDir, 'regions', BACKUP.region, f.catalogBucket, catalogFile);
    const original = readFileSync(path, 'utf8');
    const rows = original.trim().split('\n').map((l) => JSON.parse(l));
    const [dropped, changed] = rows;
    const extra = { ...rows[0], object_path: 'data/ghost.txt', object_name: 'ghost.txt' };
    const gone = { ...rows[0], archive_key: 'data/backup_1_gone.tar.zst', backup_file: 'backup_1_gone.tar.zst' };
    const edited = [{ ...changed, sha256: '0'.repeat(64), object_size: 1 }, ...rows.slice(2), extra, gone];
    writeFileSync(path, edited.map((r) => JSON.stringify(r)).join('\n') + '\n');
    try {
      // Act
      const r = await verifyBackup({ store: f.backupStore, bucket: BACKUP.bucket, catalog: catalog() });
      // Assess
      const summary = r.findings.map((x) => [x.kind, x.archive, x.member ?? '', x.check ?? '']);
      expect(summary).toEqual(
        expect.arrayContaining([
          ['catalog-row-missing', dropped.archive_key, dropped.object_path, ''],
          ['catalog-row-differs', changed.archive_key, changed.object_path, 'object_size,sha256'],
          ['catalog-row-extra', extra.archive_key, 'data/ghost.txt', ''],
          ['catalog-archive-missing', 'data/backup_1_gone.tar.zst', '', ''],
        ]),
      );
      expect(r.findings).toHaveLength(4);
    } finally {
      writeFileSync(path, original);
    }
  });

  it('decodes catalog files across chunk boundaries and reports lines that do not parse', async () => {
    // Prepare: an extra catalog file with a row (non-ASCII archive key) for a gone archive and a
    // broken line, read through a store that hands out one byte per chunk
    const extraKey = `${SOURCE.bucket}/zz-extra.jsonl`;
    const first = JSON.parse(readFileSync(join(f.dataDir, 'regions', BACKUP.region, f.catalogBucket, await firstCatalogKey()), 'utf8').split('\n')[0]!);
    const gone = { ...first, archive_key: 'data/backup_größe_gone.tar.zst' };
    await f.backupStore.put(f.catalogBucket, extraKey, Buffer.from(`${JSON.stringify(gone)}\n{"broken\n`));
    const store = f.backupStore;
    const oneByteChunks = Object.create(store) as typeof store;
    oneByteChunks.get = async (bucket, key, o) => {
      const r = await store.get(bucket, key, o);
      const bytes = await readAll(r.body);
      return { info: r.info, body: Readable.from((function* () { for (const b of bytes) yield Buffer.from([b]); })()) };
    };
    try {
      // Act
      const r = await verifyBackup({ store: f.backupStore, bucket: BACKUP.bucket, catalog: { store: oneByteChunks, bucket: f.catalogBucket } });
      // Assess
      expect(r.findings.map((x) => [x.kind, x.archive, x.member ?? ''])).toEqual([
        ['catalog-archive-missing', 'data/backup_größe_gone.tar.zst', ''],
        ['catalog-row-unreadable', `s3://${f.catalogBucket}/${extraKey}`, 'line 2'],
      ]);
    } finally {
      await f.backupStore.delete(f.catalogBucket, extraKey);
    }
  });

  it('full mode compares each member position with the manifest offset/header_offset', async () => {
    // Prepare: an archive whose manifest records a wrong offset for its second member
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
    const w = new ArchiveWriter(sink, { archiveName: 'backup_1_offsets.tar.zst', source: { ...SOURCE, prefix: 'offsets/' } });
    await w.addMember({ key: 'offsets/a.txt', relativeKey: 'a.txt', size: 5 }, Buffer.from('hello'));
    const b = await w.addMember({ key: 'offsets/b.txt', relativeKey: 'b.txt', size: 5 }, Buffer.from('world'));
    const [real, realHeader] = [b.offset, b.header_offset];
    b.offset += 512;
    b.header_offset += 512;
    await w.finish();
    const key = 'offsets/backup_1_offsets.tar.zst';
    await f.backupStore.put(BACKUP.bucket, key, Buffer.concat(chunks));
    try {
      // Act
      const r = await verifyBackup({ store: f.backupStore, bucket: BACKUP.bucket, prefix: 'offsets/' });
      // Assess
      expect(r.findings.map((x) => [x.kind, x.archive, x.member, x.check])).toEqual([['member-corrupt', key, 'objects/b.txt', 'offset']]);
      expect(r.findings[0]!.detail).toContain(`the member is at header_offset ${realHeader}, offset ${real}`);
    } finally {
      await f.backupStore.delete(BACKUP.bucket, key);
    }
  });
});

async function firstCatalogKey(): Promise<string> {
  for await (const o of f.backupStore.list(f.catalogBucket)) if (o.key.endsWith('.jsonl')) return o.key;
  throw new Error('no catalog file');
}
