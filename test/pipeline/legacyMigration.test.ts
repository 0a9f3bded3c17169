/**
 * A data dir written before the topology model: archives an earlier version left in a source-only
 * region's staging bucket (its compressor had acknowledged their events) are moved to the outbox
 * at init and delivered — not left there, where no replication or redelivery would ever find them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { createLogger } from '../../shared/observability';
import { BATCH_RECORDS_PREFIX, stagingBucketName } from '../../shared/topology';
import { BACKUP, NORMAL, SOURCE, assertDelivered, putTestObjects, testConfig } from './fixtures';

const silent = createLogger('test', 'SILENT');

describe('Class: LocalAppliance (a data dir of the earlier layout)', () => {
  it('delivers the archives an earlier version left in the source region\'s staging bucket', async () => {
    // Prepare: archive the objects, then lay them out as the earlier version did (the archive in the
    // region's staging bucket, no batch records, its events acknowledged).
    const dataDir = mkdtempSync(join(tmpdir(), 'xregion-legacy-'));
    try {
      const first = new LocalAppliance({ config: testConfig(), dataDir, logger: silent, fsync: false });
      await first.init();
      const store = first.topology.store(SOURCE.region);
      await putTestObjects(store, SOURCE.bucket);
      for (const c of first.compressors.values()) await c.drain();
      const outbox = first.topology.outboxBucket(SOURCE.region);
      const legacy = stagingBucketName(first.topology.model.stackName, first.topology.model.account, SOURCE.region);
      await store.ensureBucket(legacy);
      for await (const o of store.list(outbox)) {
        if (!o.key.startsWith(BATCH_RECORDS_PREFIX)) await store.copy({ bucket: outbox, key: o.key }, { bucket: legacy, key: o.key });
        await store.delete(outbox, o.key);
      }
      // Act: the new version starts on that data dir.
      const upgraded = new LocalAppliance({ config: testConfig(), dataDir, logger: silent, fsync: false });
      await upgraded.init();
      const run = await upgraded.runUntilIdle();
      // Assess
      expect(run.routed.length).toBeGreaterThan(0);
      const t = upgraded.topology;
      await assertDelivered({
        normal: { store: t.store(NORMAL.region), bucket: NORMAL.bucket },
        backup: { store: t.store(BACKUP.region), bucket: BACKUP.bucket },
        catalog: { store: t.store(BACKUP.region), bucket: t.catalogBucket(BACKUP.region) },
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
