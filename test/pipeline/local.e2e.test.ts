import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { createLogger } from '../../shared/observability';
import { craftArchive } from '../archive/helpers';
import { sha256Hex } from '../helpers/bytes';
import { BACKUP, NORMAL, PREFIX, SOURCE, TEST_OBJECTS, assertDelivered, catalogRowsIn, putTestObjects, testConfig } from './fixtures';

function newAppliance(maxObjects?: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-e2e-'));
  const appliance = new LocalAppliance({ config: testConfig({ maxObjects }), dataDir, logger: createLogger('test', 'SILENT') });
  return { appliance, dataDir, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

function where(appliance: LocalAppliance) {
  const t = appliance.topology;
  return {
    normal: { store: t.store(NORMAL.region), bucket: NORMAL.bucket },
    backup: { store: t.store(BACKUP.region), bucket: BACKUP.bucket },
    catalog: { store: t.store(BACKUP.region), bucket: t.catalogBucket(BACKUP.region) },
  };
}

async function listKeys(appliance: LocalAppliance, region: string, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of appliance.topology.store(region).list(bucket)) keys.push(o.key);
  return keys;
}

describe('Class: LocalAppliance (embedded default, end to end)', () => {
  it('delivers every object to both destinations, with archives and catalog rows that match', async () => {
    // Prepare
    const { appliance, cleanup } = newAppliance(10);
    try {
      await appliance.init();
      await putTestObjects(appliance.topology.store(SOURCE.region), SOURCE.bucket);
      // Act
      const run = await appliance.runUntilIdle();
      // Assess
      expect(run.archived.length).toBe(3); // 25 objects in batches of at most 10
      expect(run.quarantined).toEqual([]);
      expect(appliance.failures).toBe(0);
      await assertDelivered(where(appliance));
      // No archive is left in the outbox or in staging; what stays is the evidence: a batch intent and record per archive and a delivery record per destination.
      const outbox = await listKeys(appliance, SOURCE.region, appliance.topology.outboxBucket(SOURCE.region));
      const staging = await listKeys(appliance, BACKUP.region, appliance.topology.stagingBucket(BACKUP.region));
      expect(outbox.filter((k) => !k.startsWith('_xregion/batches/'))).toEqual([]);
      expect(staging.filter((k) => !k.startsWith('_xregion/deliveries/'))).toEqual([]);
      expect(outbox.length).toBe(2 * run.archived.length);
      expect(staging.length).toBe(run.archived.length); // one destination in this region
    } finally {
      cleanup();
    }
  });

  it('resumes after a crash between upload and acknowledgement without duplicating anything', async () => {
    // Prepare: archive once, then "crash" before the messages are deleted.
    const { appliance, dataDir, cleanup } = newAppliance();
    try {
      await appliance.init();
      await appliance.cycle(); // consumes the s3:TestEvent sent when the notification was configured
      await putTestObjects(appliance.topology.store(SOURCE.region), SOURCE.bucket);
      const queue = appliance.topology.queue(appliance.topology.compressorPlans[0]!.queue, 'compressor').queue;
      const realDelete = queue.deleteBatch.bind(queue);
      queue.deleteBatch = async () => {
        throw new Error('simulated crash before acknowledgement');
      };
      await appliance.cycle();
      queue.deleteBatch = realDelete;
      // Act: a new appliance on the same data dir, as after a restart (in-flight messages come back).
      const restarted = new LocalAppliance({ config: testConfig(), dataDir, logger: createLogger('test', 'SILENT') });
      await restarted.init();
      const run = await restarted.runUntilIdle();
      // Assess: the redelivered events are recognised from the batch records: nothing archived again
      expect(run.archived.length).toBe(0);
      expect(restarted.topology.queue(restarted.topology.compressorPlans[0]!.queue, 'compressor').queue.size()).toBe(0);
      await assertDelivered(where(restarted));
      const rows = await catalogRowsIn(where(restarted).catalog);
      const pairs = rows.map((r) => `${r.backup_file} ${r.object_path}`);
      expect(new Set(pairs).size).toBe(pairs.length);
      const normalKeys = await listKeys(restarted, NORMAL.region, NORMAL.bucket);
      expect(normalKeys.sort()).toEqual(TEST_OBJECTS.map((o) => o.key).sort());
      const totals = run.routed.flatMap((r) => r.destinations.filter((d) => d.mode === 'normal'));
      expect(totals.reduce((n, d) => n + d.objectsWritten, 0)).toBe(0); // the restart found every object already delivered
    } finally {
      cleanup();
    }
  });

  it('after a crash between upload and acknowledgement, archives nothing twice even when the events come back batched differently', async () => {
    // Prepare: batches of 10 uploaded, then a "crash" before the messages are deleted
    const { appliance, dataDir, cleanup } = newAppliance(10);
    try {
      await appliance.init();
      await appliance.cycle();
      await putTestObjects(appliance.topology.store(SOURCE.region), SOURCE.bucket);
      const queue = appliance.topology.queue(appliance.topology.compressorPlans[0]!.queue, 'compressor').queue;
      queue.deleteBatch = async () => {
        throw new Error('simulated crash before acknowledgement');
      };
      const first = await appliance.cycle();
      // Act: restarted with another batch size, so no batch of the redelivered events has a name seen before
      const restarted = new LocalAppliance({ config: testConfig({ maxObjects: 7 }), dataDir, logger: createLogger('test', 'SILENT') });
      await restarted.init();
      const run = await restarted.runUntilIdle();
      // Assess: every object in exactly one backup archive, delivered once, no catalog row twice
      expect(first.archived.reduce((n, b) => n + b.objects, 0)).toBe(TEST_OBJECTS.length);
      expect(run.archived.reduce((n, b) => n + b.objects, 0)).toBe(0);
      await assertDelivered(where(restarted));
      const backups = await listKeys(restarted, BACKUP.region, BACKUP.bucket);
      expect(backups.sort()).toEqual(first.archived.map((b) => `${PREFIX}${b.manifest!.archive}`).sort());
      const rows = await catalogRowsIn(where(restarted).catalog);
      expect(rows).toHaveLength(TEST_OBJECTS.length);
    } finally {
      cleanup();
    }
  });

  it('quarantines a corrupt archive and writes nothing anywhere', async () => {
    // Prepare: a valid archive from the compressor, then one flipped byte in its first frame.
    const { appliance, cleanup } = newAppliance();
    try {
      await appliance.init();
      const t = appliance.topology;
      await putTestObjects(t.store(SOURCE.region), SOURCE.bucket, TEST_OBJECTS.slice(0, 3));
      const [batch] = await [...appliance.compressors.values()][0]!.drain();
      const src = t.store(SOURCE.region);
      const { body } = await src.get(t.outboxBucket(SOURCE.region), batch.stagingKey!);
      const bytes = Buffer.concat(await body.toArray());
      bytes[200] ^= 0xff;
      await src.delete(t.outboxBucket(SOURCE.region), batch.stagingKey!);
      for (const region of [BACKUP.region, NORMAL.region]) await t.store(region).put(t.stagingBucket(region), batch.stagingKey!, bytes);
      // Act
      const run = await appliance.runUntilIdle();
      // Assess
      expect(run.quarantined.map((q) => q.archiveKey)).toEqual([batch.stagingKey, batch.stagingKey]);
      expect(run.quarantined[0].reason).toMatch(/member objects\/reports\/q1 report\.csv|zstd|sha256/);
      expect(await listKeys(appliance, NORMAL.region, NORMAL.bucket)).toEqual([]);
      expect(await listKeys(appliance, BACKUP.region, BACKUP.bucket)).toEqual([]);
      expect(await listKeys(appliance, BACKUP.region, t.catalogBucket(BACKUP.region))).toEqual([]);
      expect(await listKeys(appliance, NORMAL.region, t.stagingBucket(NORMAL.region))).toEqual([`quarantine/${batch.stagingKey}`]);
      expect(appliance.metrics.total('ArchivesQuarantined')).toBe(2);
    } finally {
      cleanup();
    }
  });

  it('quarantines an archive whose member name escapes with ".." and writes nothing', async () => {
    // Prepare: a hand-made archive (the writer refuses such names) dropped into target staging.
    const { appliance, cleanup } = newAppliance();
    try {
      await appliance.init();
      const t = appliance.topology;
      const data = Buffer.from('evil');
      const manifest = {
        format: 'xregion-archive/1',
        archive: 'backup_1_evil.tar.zst',
        created: new Date().toISOString(),
        source: { region: SOURCE.region, bucket: SOURCE.bucket, prefix: PREFIX },
        compression: { codec: 'zstd', level: 3, frame_target_bytes: 4194304 },
        objects: [{ key: `${PREFIX}../evil.txt`, relative_key: '../evil.txt', size: 4, sha256: sha256Hex(data), metadata: {}, tags: {}, offset: 1536, header_offset: 0 }],
        skipped: [],
      };
      const archive = craftArchive([{ name: 'objects/../evil.txt', data }], manifest);
      const key = `${SOURCE.bucket}/${PREFIX}backup_1_evil.tar.zst`;
      await t.store(NORMAL.region).put(t.stagingBucket(NORMAL.region), key, archive);
      // Act
      const run = await appliance.runUntilIdle();
      // Assess
      expect(run.quarantined).toHaveLength(1);
      expect(run.quarantined[0].reason).toMatch(/unsafe member name/);
      expect(await listKeys(appliance, NORMAL.region, NORMAL.bucket)).toEqual([]);
      expect(await listKeys(appliance, NORMAL.region, t.stagingBucket(NORMAL.region))).toEqual([`quarantine/${key}`]);
    } finally {
      cleanup();
    }
  });
});
