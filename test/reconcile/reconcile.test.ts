/**
 * `xregion reconcile` on the embedded default: a real pipeline run by the local appliance, then
 * one change per test (an object deleted, overwritten or added at a destination, a catalog file
 * or an archive removed, an object not yet delivered, a skipped entry, a duplicated batch).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { patternStream } from '../helpers/bytes';
import { BACKUP, NORMAL, OBJECTS, PREFIX, SOURCE, cli, keysOf, pipeline, putArchive, type Pipeline } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY = `${PREFIX}reports/q1 report.csv`;

let p: Pipeline;

const normalOf = (r: Awaited<ReturnType<Pipeline['run']>>) => r.destinations.find((d) => d.destination.bucket === NORMAL.bucket)!;
const backupOf = (r: Awaited<ReturnType<Pipeline['run']>>) => r.destinations.find((d) => d.destination.bucket === BACKUP.bucket)!;
const args = () => ['-c', p.configFile, '--data-dir', p.dataDir];
const future = () => new Date(Date.now() + 60_000).toISOString();

describe('Command: xregion reconcile (embedded default)', () => {
  beforeEach(async () => {
    p = await pipeline();
  });
  afterEach(() => p?.cleanup());

  it('a clean run: every object ok at both destinations, a table, exit 0', async () => {
    // Act
    const r = await cli(args());
    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rule\s+destination\s+mode\s+objects\s+ok\s+missing\s+different\s+extra\s+skipped\s+in_flight\s+duplicated/);
    expect(r.stdout).toMatch(new RegExp(`src-bucket/data/\\s+s3://${BACKUP.bucket} \\[${BACKUP.region}\\]\\s+backup\\s+${OBJECTS.length}\\s+${OBJECTS.length}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+0`));
    expect(r.stdout).toMatch(new RegExp(`src-bucket/data/\\s+s3://${NORMAL.bucket} \\[${NORMAL.region}\\]\\s+normal\\s+${OBJECTS.length}\\s+${OBJECTS.length}\\s+0\\s+0\\s+0\\s+0\\s+0\\s+-`));
    expect(r.stdout).toMatch(/^OK: every settled source object is at every destination/m);
  });

  it('--json prints one machine-readable document', async () => {
    const r = await cli([...args(), '--json', '--settled-before', future()]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const counts = { ok: OBJECTS.length, missing: 0, different: 0, extra: 0, skipped: 0, in_flight: 0, duplicated: 0 };
    expect(report).toMatchObject({
      format: 'xregion-reconcile/1',
      mode: 'fast',
      ok: true,
      totals: { ...counts, ok: 2 * OBJECTS.length },
      destinations: [
        {
          rule: 'src-bucket/data/',
          source: { region: SOURCE.region, bucket: SOURCE.bucket, prefix: PREFIX, suffix: '' },
          destination: { region: BACKUP.region, bucket: BACKUP.bucket, mode: 'backup' },
          sourceObjects: OBJECTS.length,
          counts,
          samples: {},
          sizeOnly: 0,
          archives: 3,
          catalogRows: OBJECTS.length,
          notes: [],
          ok: true,
        },
        { destination: { region: NORMAL.region, bucket: NORMAL.bucket, mode: 'normal' }, counts, ok: true },
      ],
    });
    expect(Date.parse(report.startedAt)).toBeLessThanOrEqual(Date.parse(report.finishedAt));
    expect(typeof report.settledBefore).toBe('string');
  });

  it('an object deleted from the normal destination: missing, exit 1 (in_flight while it is recent)', async () => {
    // Prepare
    await p.normal.delete(NORMAL.bucket, KEY);
    // Act
    const recent = await cli([...args(), '--json']);
    const settled = await cli([...args(), '--settled-before', future()]);
    // Assess: with the default grace window the fresh object is still in flight.
    expect(recent.code).toBe(0);
    expect(normalOf(JSON.parse(recent.stdout)).counts).toMatchObject({ ok: OBJECTS.length - 1, in_flight: 1, missing: 0 });
    expect(settled.code).toBe(1);
    expect(settled.stdout).toContain(`missing (1):\n    ${KEY} — not at the destination`);
    expect(settled.stdout).toMatch(/^FAILED: 1 missing, 0 different, 0 duplicated/m);
  });

  it('an object overwritten at the normal destination: different (same size: by sha256; other size: by size)', async () => {
    // Prepare
    const same = OBJECTS.find((o) => o.key === KEY)!;
    const other = OBJECTS.find((o) => o.key.endsWith('file-3.json'))!;
    await p.normal.put(NORMAL.bucket, same.key, Buffer.alloc(same.size, 7));
    await p.normal.put(NORMAL.bucket, other.key, Buffer.from('short'));
    // Act
    const r = await p.run();
    // Assess
    const n = normalOf(r);
    expect(n.counts).toMatchObject({ ok: OBJECTS.length - 2, different: 2, missing: 0 });
    expect(n.samples.different).toEqual([
      { key: other.key, detail: `${other.size} bytes at the source, 5 at the destination` },
      { key: same.key, detail: expect.stringMatching(/^sha256 [0-9a-f]{12}… at the source, [0-9a-f]{12}… at the destination$/) },
    ]);
    expect(backupOf(r).ok).toBe(true);
    expect(r.ok).toBe(false);
  });

  it('an object at the normal destination with no source object: extra, exit 0', async () => {
    await p.normal.put(NORMAL.bucket, `${PREFIX}stray/leftover.txt`, Buffer.from('left over'));
    await p.normal.put(NORMAL.bucket, 'outside-the-prefix.txt', Buffer.from('not this rule'));
    const r = await cli([...args(), '--settled-before', future()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`extra (1):\n    ${PREFIX}stray/leftover.txt — no source object`);
  });

  it('a catalog file removed at the backup destination: its archive\'s objects are missing', async () => {
    // Prepare
    const [file] = await keysOf(p.backup, p.catalogBucket, '.jsonl');
    const archive = file!.slice(file!.lastIndexOf('/') + 1, -'.jsonl'.length);
    await p.backup.delete(p.catalogBucket, file!);
    // Act
    const r = await p.run();
    // Assess
    const b = backupOf(r);
    expect(b.counts.missing).toBeGreaterThan(0);
    expect(b.counts.ok + b.counts.missing).toBe(OBJECTS.length);
    expect(b.samples.missing![0]!.detail).toBe(`in ${PREFIX}${archive}, but no catalog row names it there`);
    expect(normalOf(r).ok).toBe(true);
  });

  it('an archive removed from the backup bucket: missing, naming the archive the catalog points at', async () => {
    // Prepare
    const [archive] = await keysOf(p.backup, BACKUP.bucket, '.tar.zst');
    await p.backup.delete(BACKUP.bucket, archive!);
    // Act
    const r = await cli([...args(), '--json', '--settled-before', future()]);
    // Assess
    expect(r.code).toBe(1);
    const b = backupOf(JSON.parse(r.stdout));
    expect(b.counts.missing).toBeGreaterThan(0);
    expect(b.archives).toBe(2);
    expect(b.samples.missing![0]!.detail).toBe(`the catalog names ${archive}, which is not in s3://${BACKUP.bucket}`);
  });

  it('an object newer than --settled-before is in_flight; once settled, missing', async () => {
    // Prepare: put after the pipeline ran, never delivered.
    const before = new Date();
    await sleep(20);
    await p.source.put(SOURCE.bucket, `${PREFIX}late/new.txt`, Buffer.from('just arrived'));
    // Act
    const inFlight = await p.run({ settledBefore: before });
    const settled = await p.run();
    // Assess
    for (const d of inFlight.destinations) {
      expect(d.counts).toMatchObject({ ok: OBJECTS.length, in_flight: 1, missing: 0 });
      expect(d.samples.in_flight).toEqual([{ key: `${PREFIX}late/new.txt`, detail: expect.stringMatching(/^modified .*Z, after --settled-before$/) }]);
    }
    expect(inFlight.ok).toBe(true);
    expect(settled.destinations.map((d) => d.counts.missing)).toEqual([1, 1]);
    expect(backupOf(settled).samples.missing).toEqual([{ key: `${PREFIX}late/new.txt`, detail: `in no archive in s3://${BACKUP.bucket}` }]);
  });

  it('an object in an archive that reached staging after --settled-before is in_flight; an archive stuck there is named', async () => {
    // Prepare: archived and replicated, not routed.
    await p.source.put(SOURCE.bucket, `${PREFIX}late/staged.txt`, Buffer.from('on its way'));
    await sleep(20);
    const settledBefore = new Date();
    await sleep(20);
    for (const c of p.appliance.compressors.values()) await c.drain();
    await p.appliance.replicator.replicatePending();
    const staging = p.appliance.topology.stagingBucket(NORMAL.region);
    const [staged] = (await keysOf(p.normal, staging, '.tar.zst')).filter((k) => !k.startsWith('_xregion/'));
    expect(staged).toBeDefined();
    // Act
    const waiting = await p.run({ settledBefore });
    const stuck = await p.run();
    // Assess
    expect(normalOf(waiting).samples.in_flight).toEqual([{ key: `${PREFIX}late/staged.txt`, detail: expect.stringContaining(`in ${staged} in the inbound staging s3://${staging} since`) }]);
    expect(normalOf(waiting).samples.in_flight![0]!.detail).toMatch(/awaiting routing$/);
    expect(waiting.ok).toBe(true);
    expect(normalOf(stuck).samples.missing).toEqual([{ key: `${PREFIX}late/staged.txt`, detail: expect.stringMatching(new RegExp(`^not at the destination; in ${staged} in the inbound staging .* still awaiting routing$`)) }]);
  });

  it('an object a manifest lists as skipped is skipped, with the reason; not when the object is newer or the reason is Superseded', async () => {
    // Prepare: three source objects never delivered, and an archive (no members) whose manifest skipped them.
    const gone = `${PREFIX}skip/deleted-then-back.txt`;
    const superseded = `${PREFIX}skip/superseded.txt`;
    const newer = `${PREFIX}skip/recreated.txt`;
    for (const k of [gone, superseded]) await p.source.put(SOURCE.bucket, k, Buffer.from(k));
    await sleep(20);
    const created = new Date();
    await sleep(20);
    await p.source.put(SOURCE.bucket, newer, Buffer.from('recreated after the skip'));
    await putArchive(
      p.backup,
      BACKUP.bucket,
      `${PREFIX}backup_1_skiptest.tar.zst`,
      [],
      [
        { key: gone, reason: 'NoSuchKey' },
        { key: superseded, reason: 'Superseded: the object changed after its event (a newer event covers it)' },
        { key: newer, reason: 'NoSuchKey' },
      ],
      created,
    );
    // Act
    const r = await p.run();
    // Assess: the skip of a backup archive's manifest counts for every destination of the rule.
    for (const d of r.destinations) {
      expect(d.counts).toMatchObject({ ok: OBJECTS.length, skipped: 1, missing: 2 });
      expect(d.samples.skipped).toEqual([{ key: gone, detail: `NoSuchKey (${PREFIX}backup_1_skiptest.tar.zst)` }]);
      expect(d.samples.missing!.map((s) => s.key)).toEqual([newer, superseded]);
    }
  });

  it('a crash between an upload and its batch record, batched differently on restart: archived once, clean', async () => {
    // Prepare: archive everything in one batch, then "crash" after the upload (its intent written)
    // and before its batch record, before the messages are acknowledged.
    p.cleanup();
    p = await pipeline({ maxObjects: 1000, deliver: false });
    await p.appliance.cycle(); // the s3:TestEvent of the notification set-up
    await putTestObjects(p);
    const queue = p.appliance.topology.queue(p.appliance.topology.compressorPlans[0]!.queue, 'compressor').queue;
    queue.deleteBatch = async () => {
      throw new Error('simulated crash before acknowledgement');
    };
    const outbox = p.appliance.topology.store(p.appliance.topology.compressorPlans[0]!.region);
    const put = outbox.put.bind(outbox);
    const isRecord = (key: string) => key.startsWith('_xregion/batches/') && !key.endsWith('.intent.json');
    outbox.put = (bucket, key, ...rest) => (isRecord(key) ? Promise.reject(new Error('simulated crash before the batch record')) : put(bucket, key, ...rest));
    await p.appliance.cycle();
    outbox.put = put;
    // The uncommitted archive stays in the outbox, where the redelivery can find it.
    expect(await p.appliance.replicator.replicatePending()).toBe(0);
    // Act: the restart gets the messages back and batches them by 10.
    const restarted = await p.restart(10);
    await restarted.runUntilIdle();
    const r = await cli([...args(), '--json', '--settled-before', future()]);
    // Assess: the earlier archive was committed on the dead holder's behalf and its items acknowledged.
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const b = backupOf(report);
    expect(b.archives).toBe(1);
    expect(b.counts).toMatchObject({ ok: OBJECTS.length, duplicated: 0, missing: 0 });
    expect(normalOf(report).counts).toMatchObject({ ok: OBJECTS.length, missing: 0 });
  });

  it('objects stored in two archives of a backup destination: duplicated, named, exit 1', async () => {
    // Prepare: a second copy of one archive under another batch name.
    const [archive] = (await keysOf(p.backup, BACKUP.bucket, '.tar.zst')).sort();
    const copy = archive!.replace(/_[0-9a-f]+\.tar\.zst$/, '_0badc0de.tar.zst');
    await p.backup.copy({ bucket: BACKUP.bucket, key: archive! }, { bucket: BACKUP.bucket, key: copy });
    // Act
    const r = await cli([...args(), '--json', '--settled-before', future()]);
    // Assess
    expect(r.code).toBe(1);
    const b = backupOf(JSON.parse(r.stdout));
    expect(b.archives).toBe(4);
    expect(b.counts.duplicated).toBeGreaterThan(0);
    expect(b.samples.duplicated![0]!.detail).toMatch(/^sha256 [0-9a-f]{12}… in 2 archives: data\/backup_\S+\.tar\.zst, data\/backup_\S+\.tar\.zst$/);
  });

  it('--deep hashes every source object and agrees', async () => {
    const r = await p.run({ deep: true });
    expect(r).toMatchObject({ mode: 'deep', ok: true, totals: { ok: 2 * OBJECTS.length } });
  });

  it('--rule picks one rule (with or without the trailing slash)', async () => {
    const a = await cli([...args(), '--rule', 'src-bucket/data', '--json']);
    const b = await cli([...args(), '--rule', 's3://src-bucket/data/', '--json']);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(JSON.parse(a.stdout).destinations).toHaveLength(2);
    expect(JSON.parse(b.stdout).destinations).toHaveLength(2);
  });
});

describe('Command: xregion reconcile (usage and config errors exit 2)', () => {
  beforeAll(async () => {
    p = await pipeline({ deliver: false });
  });
  afterAll(() => p?.cleanup());

  it.each([
    [['--rule', 'nope/'], /--rule nope\/: no such rule in .* \(rules: src-bucket\/data\/\)/],
    [['--settled-before', 'yesterday'], /--settled-before "yesterday" is not an ISO-8601 time/],
    [['--aws'], /with --aws\/--endpoint, give --account/],
    [['--account', '123456789012'], /--account is for --aws/],
    [['--bogus'], /unknown option '--bogus'/],
    [['--samples', 'x'], /must be an integer/],
  ])('%j', async (extra, message) => {
    const r = await cli([...args(), ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('an invalid config file', async () => {
    const bad = join(p.dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ replication_configuration: [] }));
    const r = await cli(['-c', bad, '--data-dir', p.dataDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: 1 problem/);
  });

  it('a data dir with no embedded default', async () => {
    const none = join(p.dataDir, 'nothing-here');
    expect(existsSync(none)).toBe(false);
    const r = await cli(['-c', p.configFile, '--data-dir', none]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no embedded default under .*nothing-here/);
  });
});

/** Puts the pipeline objects (the subset of helpers.OBJECTS) into the source bucket. */
async function putTestObjects(pl: Pipeline): Promise<void> {
  for (const o of OBJECTS) await pl.source.put(SOURCE.bucket, o.key, patternStream(o.seed, o.size), { contentType: o.contentType, metadata: o.metadata, tags: o.tags, size: o.size });
}
