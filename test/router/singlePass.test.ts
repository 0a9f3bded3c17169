/**
 * routeArchive reads each archive once (one download, one decompression) and still writes no
 * object of an archive that fails verification; members too large for the spool take a second
 * pass after the whole archive verified.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { routeArchive, type RouteDeps } from '../../services/router/routeArchive';
import { ArchiveCorruptError, readSeekTable, ArchiveReader } from '../../shared/archive';
import { createLogger } from '../../shared/observability';
import { S3RangeReader, type ObjectStore } from '../../shared/storage';
import { NORMAL, SOURCE, TEST_OBJECTS, putTestObjects, testConfig } from '../pipeline/fixtures';

const silent = createLogger('test', 'SILENT');

/** One archive of TEST_OBJECTS staged in the normal destination's region; a staging store that counts whole-object GETs. */
async function stagedArchive() {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-single-pass-'));
  const appliance = new LocalAppliance({ config: testConfig(), dataDir, logger: silent, fsync: false });
  await appliance.init();
  await putTestObjects(appliance.topology.store(SOURCE.region), SOURCE.bucket);
  let archiveKey = '';
  for (const c of appliance.compressors.values()) for (const b of await c.drain()) archiveKey = b.stagingKey!;
  await appliance.replicator.replicatePending();
  const plan = appliance.topology.routerPlans.find((r) => r.region === NORMAL.region)!;
  const store = appliance.topology.store(NORMAL.region);
  const fullGets: string[] = [];
  const staging: ObjectStore = Object.create(store, {
    get: {
      value: (bucket: string, key: string, opts?: Parameters<ObjectStore['get']>[2]) => {
        fullGets.push(key); // ranged reads (seek table, manifest) go through getRange
        return store.get(bucket, key, opts);
      },
    },
  });
  const spoolDir = join(dataDir, 'spool');
  const deps: RouteDeps = { staging, stagingBucket: plan.staging, destinations: store, region: NORMAL.region, allTargetBuckets: [NORMAL.bucket], spoolDir };
  const rule = { ...plan.rules[0]!, destinations: plan.rules[0]!.destinations.filter((d) => d.region === NORMAL.region) };
  const delivered = async () => {
    const keys: string[] = [];
    for await (const o of store.list(NORMAL.bucket)) keys.push(o.key);
    return keys.sort();
  };
  return { appliance, store, plan, deps, rule, archiveKey, fullGets, spoolDir, delivered, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

describe('Function: routeArchive (one pass)', () => {
  it('downloads and decompresses the archive once for a normal destination, and leaves no spool files', async () => {
    const env = await stagedArchive();
    try {
      // Act
      const result = await routeArchive(env.rule, env.archiveKey, undefined, env.deps);
      // Assess
      expect(env.fullGets).toEqual([env.archiveKey]);
      expect(await env.delivered()).toEqual(TEST_OBJECTS.map((o) => o.key).sort());
      expect(result.destinations[0]).toMatchObject({ objectsWritten: TEST_OBJECTS.length, objectsUnchanged: 0 });
      expect(readdirSync(env.spoolDir)).toEqual([]); // the 6 MiB member waited in a file, removed after the commit
    } finally {
      env.cleanup();
    }
  });

  it('writes no object of an archive whose last frame is corrupt, though every earlier member verified', async () => {
    // Prepare: flip a byte inside the frame holding the last member's data.
    const env = await stagedArchive();
    try {
      const reader = new S3RangeReader(env.store, env.plan.staging, env.archiveKey);
      const { manifest } = await new ArchiveReader(reader).readIndex();
      const table = await readSeekTable(reader);
      const last = manifest.objects.reduce((a, b) => (b.offset > a.offset ? b : a));
      const frame = table.frames.find((f) => f.decompressedOffset <= last.offset && last.offset < f.decompressedOffset + f.decompressedSize)!;
      expect(table.frames.indexOf(frame)).toBeGreaterThan(1); // earlier members sit in earlier, intact frames
      const { body } = await env.store.get(env.plan.staging, env.archiveKey);
      const bytes = Buffer.concat(await body.toArray());
      bytes[frame.compressedOffset + Math.floor(frame.compressedSize / 2)] ^= 0xff;
      await env.store.put(env.plan.staging, env.archiveKey, bytes);
      // Act
      const routed = routeArchive(env.rule, env.archiveKey, undefined, env.deps);
      // Assess
      await expect(routed).rejects.toBeInstanceOf(ArchiveCorruptError);
      expect(await env.delivered()).toEqual([]);
      expect(readdirSync(env.spoolDir)).toEqual([]);
    } finally {
      env.cleanup();
    }
  });

  it('streams a member too large for the spool by a second pass, after the whole archive verified', async () => {
    const env = await stagedArchive();
    try {
      // Act: no byte may wait in a spool file, so the 6 MiB member is deferred.
      await routeArchive(env.rule, env.archiveKey, undefined, { ...env.deps, spoolLimitBytes: 1 });
      // Assess
      expect(env.fullGets).toEqual([env.archiveKey, env.archiveKey]);
      expect(await env.delivered()).toEqual(TEST_OBJECTS.map((o) => o.key).sort());
      const big = TEST_OBJECTS.find((o) => o.size > 1024 * 1024)!;
      expect((await env.store.head(NORMAL.bucket, big.key)).size).toBe(big.size);
    } finally {
      env.cleanup();
    }
  });
});
