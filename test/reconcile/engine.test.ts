/**
 * The reconcile engine's parts (key order, listing cursor, samples, skip rules, the printed
 * report) and the cases a pipeline run alone does not produce: a source object deleted after
 * delivery, an unreadable archive, a copied archive, buckets that do not exist.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../shared/config';
import { compareKeys, formatReport, keySkipReason, reconcile, ReconcileError, type ReconcileReport } from '../../shared/reconcile';
import { ListingCursor } from '../../shared/reconcile/ListingCursor';
import { Tally } from '../../shared/reconcile/Tally';
import type { ObjectSummary } from '../../shared/storage';
import { buildTopology } from '../../shared/topology';
import { BACKUP, NORMAL, OBJECTS, PREFIX, SOURCE, keysOf, pipeline, type Pipeline } from './helpers';

const summary = (key: string): ObjectSummary => ({ key, size: 1, etag: 'e', lastModified: new Date(0) });
async function* listing(keys: string[]): AsyncGenerator<ObjectSummary> {
  for (const k of keys) yield summary(k);
}

describe('Function: compareKeys', () => {
  it('orders by UTF-8 bytes, as S3 lists (not by UTF-16 code units)', () => {
    // U+E000 is EE 80 80 in UTF-8, U+1F600 is F0 9F 98 80; in UTF-16 the emoji's surrogate D83D sorts first.
    expect(compareKeys('\uE000', '😀')).toBeLessThan(0);
    expect('\uE000' < '😀').toBe(false);
    expect(compareKeys('a-c', 'a/b')).toBeLessThan(0);
    expect(compareKeys('a', 'a')).toBe(0);
  });
});

describe('Class: ListingCursor', () => {
  it('advanceTo: hands over the keys it steps over, then the one at the key', async () => {
    const c = new ListingCursor(listing(['a', 'b', 'd']), 'test');
    const passed: string[] = [];
    expect((await c.advanceTo('b', (o) => passed.push(o.key)))?.key).toBe('b');
    expect(await c.advanceTo('c', (o) => passed.push(o.key))).toBeUndefined();
    expect((await c.take())?.key).toBe('d');
    expect(await c.take()).toBeUndefined();
    expect(passed).toEqual(['a']);
  });

  it('refuses a listing out of key order (a merge-join would report nonsense)', async () => {
    const c = new ListingCursor(listing(['b', 'a']), 's3://x/');
    await c.take();
    await expect(c.take()).rejects.toThrow('s3://x/: the listing is not in key order ("a" after "b")');
  });
});

describe('Class: Tally', () => {
  it('keeps the first N keys of each class in key order, whatever order they arrive in', () => {
    const t = new Tally(2);
    for (const k of ['k9', 'k3', 'k7', 'k1', 'k5', 'k8', 'k2', 'k0', 'k4', 'k6']) t.add('missing', k, 'x');
    t.add('ok', 'k0');
    expect(t.counts).toMatchObject({ missing: 10, ok: 1 });
    expect(t.result()).toEqual({ missing: [{ key: 'k0', detail: 'x' }, { key: 'k1', detail: 'x' }] });
  });
});

describe('Function: keySkipReason', () => {
  const rule = parseConfig({ replication_configuration: [{ source: { region: 'us-west-2', bucket: 'src-b', prefix_filter: 'p/' }, destinations: [{ region: 'eu-west-1', bucket: 'dst-d' }] }] }).config.replication_configuration[0]!;
  it('names the keys the compressor never archives, in its words', () => {
    expect(keySkipReason(rule, 'p/folder/')).toMatch(/^DirectoryMarker: /);
    expect(keySkipReason(rule, 'p/')).toMatch(/^DirectoryMarker: /);
    expect(keySkipReason(rule, 'p/a/../b')).toMatch(/^UnsafeKey: /);
    expect(keySkipReason(rule, 'p/a/b.txt')).toBeUndefined();
  });
});

describe('Function: formatReport', () => {
  it('notes size-only comparisons and other limits under the destination', () => {
    const counts = { ok: 3, missing: 0, different: 0, extra: 0, skipped: 0, in_flight: 0, duplicated: 0 };
    const report: ReconcileReport = {
      format: 'xregion-reconcile/1',
      startedAt: '2025-01-01T00:00:00.000Z',
      finishedAt: '2025-01-01T00:00:01.000Z',
      settledBefore: '2024-12-31T23:55:00.000Z',
      mode: 'fast',
      totals: counts,
      ok: true,
      destinations: [
        {
          rule: 'b/p/',
          source: { region: 'us-west-2', bucket: 'b', prefix: 'p/', suffix: '' },
          destination: { region: 'eu-west-1', bucket: 'd', mode: 'normal' },
          sourceObjects: 3,
          counts,
          samples: {},
          sizeOnly: 2,
          notes: ['staging bucket s3://s does not exist: archives awaiting routing are unknown'],
          ok: true,
        },
      ],
    };
    const text = formatReport(report);
    expect(text).toContain('note: 2 ok object(s) compared by size only');
    expect(text).toContain('note: staging bucket s3://s does not exist');
    expect(text).toMatch(/^OK: every settled source object is at every destination \(3 ok, 0 extra, 0 skipped, 0 in flight\)$/m);
  });
});

describe('Function: reconcile (cases beyond a plain pipeline run)', () => {
  let p: Pipeline;
  beforeEach(async () => {
    p = await pipeline();
  });
  afterEach(() => p.cleanup());
  const of = (r: ReconcileReport, bucket: string) => r.destinations.find((d) => d.destination.bucket === bucket)!;

  it('a source object deleted after delivery: extra at both destinations (the backup keeps it), still ok', async () => {
    const key = `${PREFIX}empty.txt`;
    await p.source.delete(SOURCE.bucket, key);
    const r = await p.run();
    expect(r.ok).toBe(true);
    expect(of(r, NORMAL.bucket).samples.extra).toEqual([{ key, detail: 'no source object' }]);
    expect(of(r, BACKUP.bucket).samples.extra).toEqual([{ key, detail: expect.stringMatching(/^in data\/backup_\S+\.tar\.zst; no source object \(backups of deleted objects are kept\)$/) }]);
    expect(of(r, BACKUP.bucket).counts).toMatchObject({ ok: OBJECTS.length - 1, extra: 1 });
  });

  it('an unreadable archive: a note, and its objects missing with the reason', async () => {
    const [archive] = await keysOf(p.backup, BACKUP.bucket, '.tar.zst');
    await p.backup.put(BACKUP.bucket, archive!, Buffer.from('not an archive at all'));
    const r = await p.run();
    const b = of(r, BACKUP.bucket);
    expect(b.notes).toEqual([expect.stringMatching(new RegExp(`^archive s3://${BACKUP.bucket}/${archive} is unreadable`))]);
    expect(b.counts.missing).toBeGreaterThan(0);
    expect(b.samples.missing![0]!.detail).toMatch(new RegExp(`^the catalog names ${archive}, which is unreadable: `));
    expect(r.ok).toBe(false);
  });

  it('an archive copied under another name: every object in it duplicated', async () => {
    const [archive] = await keysOf(p.backup, BACKUP.bucket, '.tar.zst');
    const copy = `${PREFIX}backup_9999999999999_copy.tar.zst`;
    await p.backup.copy({ bucket: BACKUP.bucket, key: archive! }, { bucket: BACKUP.bucket, key: copy });
    const r = await p.run({ samples: 1 });
    const b = of(r, BACKUP.bucket);
    expect(b.counts.duplicated).toBeGreaterThan(0);
    expect(b.counts.ok).toBe(OBJECTS.length);
    expect(b.samples.duplicated).toEqual([{ key: expect.any(String), detail: expect.stringMatching(new RegExp(`in 2 archives: ${[archive, copy].sort().join(', ')}$`)) }]);
    expect(r.ok).toBe(false);
  });

  it('a destination bucket that does not exist: a note and every object missing', async () => {
    rmSync(join(p.dataDir, 'regions', NORMAL.region, NORMAL.bucket), { recursive: true, force: true });
    const r = await p.run();
    const n = of(r, NORMAL.bucket);
    expect(n.notes).toEqual([`destination bucket s3://${NORMAL.bucket} does not exist`]);
    expect(n.counts).toMatchObject({ ok: 0, missing: OBJECTS.length });
  });

  it('a source bucket that does not exist: ReconcileError (nothing can be said)', async () => {
    rmSync(join(p.dataDir, 'regions', SOURCE.region, SOURCE.bucket), { recursive: true, force: true });
    await expect(p.run()).rejects.toThrow(ReconcileError);
    await expect(p.run()).rejects.toThrow(`source bucket s3://${SOURCE.bucket} [${SOURCE.region}] does not exist`);
  });

  it('keys under _xregion/ at the source are never counted', async () => {
    // A rule with an empty prefix sees the whole bucket; drive-ingest's state lives under _xregion/.
    const config = parseConfig({
      stack_name: 'xrtest',
      replication_configuration: [{ source: { ...SOURCE, bucket: 'whole-bucket', prefix_filter: '' }, destinations: [{ ...NORMAL, bucket: 'whole-normal' }] }],
    }).config;
    await p.source.ensureBucket('whole-bucket');
    await p.normal.ensureBucket('whole-normal');
    await p.source.put('whole-bucket', '_xregion/state/drive/x/state.json', Buffer.from('{}'));
    await p.source.put('whole-bucket', 'a.txt', Buffer.from('a'));
    await p.normal.put('whole-normal', 'a.txt', Buffer.from('a'));
    await p.normal.put('whole-normal', '_xregion/whatever.json', Buffer.from('{}'));
    const r = await reconcile({ topology: buildTopology(config, 'local'), store: (region) => (region === SOURCE.region ? p.source : p.normal), settledBefore: new Date(Date.now() + 1000) });
    expect(r.destinations[0]).toMatchObject({ sourceObjects: 1, counts: { ok: 1, missing: 0, extra: 0 } });
  });
});
