/**
 * RouterService failure paths on the embedded default's stores: a delivery that fails part-way
 * leaves no put running behind it, and a quarantine that itself fails is retried instead of
 * stopping the service loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { RouterService } from '../../services/router/RouterService';
import { routeArchive } from '../../services/router/routeArchive';
import { createLogger, InMemoryMetrics } from '../../shared/observability';
import type { ObjectStore } from '../../shared/storage';
import { NORMAL, SOURCE, putTestObjects, testConfig, TEST_OBJECTS } from '../pipeline/fixtures';

const silent = createLogger('test', 'SILENT');

/** An appliance whose archives sit in the normal destination region's staging bucket, not yet routed. */
async function staged(objects = TEST_OBJECTS) {
  const dataDir = mkdtempSync(join(tmpdir(), 'xregion-router-'));
  const appliance = new LocalAppliance({ config: testConfig({ maxObjects: 100 }), dataDir, logger: silent, fsync: false });
  await appliance.init();
  await putTestObjects(appliance.topology.store(SOURCE.region), SOURCE.bucket, objects);
  for (const c of appliance.compressors.values()) await c.drain();
  await appliance.replicator.replicatePending();
  const plan = appliance.topology.routerPlans.find((r) => r.region === NORMAL.region)!;
  const store = appliance.topology.store(NORMAL.region);
  const router = (over: { staging?: ObjectStore; destinations?: ObjectStore } = {}) =>
    new RouterService({
      queue: appliance.topology.queue(plan.queue, 'router').queue,
      staging: over.staging ?? store,
      stagingBucket: plan.staging,
      destinations: over.destinations ?? store,
      config: { ...appliance.config, replication_configuration: plan.rules },
      region: NORMAL.region,
      metrics: new InMemoryMetrics(),
      logger: silent,
      waitSeconds: 0.05,
      visibilityTimeoutSeconds: 0.5,
    });
  return { appliance, store, plan, router, cleanup: () => rmSync(dataDir, { recursive: true, force: true }) };
}

describe('Function: routeArchive (order of archives)', () => {
  it('an older archive delivered after a newer one leaves the newer object at a normal destination', async () => {
    // Prepare: two archives of one key, v1 then v2, both staged in the normal destination's region
    const dataDir = mkdtempSync(join(tmpdir(), 'xregion-router-order-'));
    try {
      const appliance = new LocalAppliance({ config: testConfig(), dataDir, logger: silent, fsync: false });
      await appliance.init();
      const src = appliance.topology.store(SOURCE.region);
      const key = 'data/report.txt';
      const archives: string[] = [];
      for (const text of ['v1 old', 'v2 NEW content']) {
        await src.put(SOURCE.bucket, key, Buffer.from(text));
        for (const c of appliance.compressors.values()) archives.push(...(await c.drain()).map((b) => b.stagingKey!));
        await new Promise((r) => setTimeout(r, 20)); // distinct modification times
      }
      await appliance.replicator.replicatePending();
      const plan = appliance.topology.routerPlans.find((r) => r.region === NORMAL.region)!;
      const store = appliance.topology.store(NORMAL.region);
      const rule = { ...plan.rules[0]!, destinations: plan.rules[0]!.destinations.filter((d) => d.region === NORMAL.region) };
      const deps = { staging: store, stagingBucket: plan.staging, destinations: store, region: NORMAL.region, allTargetBuckets: [NORMAL.bucket] };
      // Act: the newer archive first (SQS keeps no order; a failed first try of the older one does the same)
      await routeArchive(rule, archives[1]!, undefined, deps);
      const late = await routeArchive(rule, archives[0]!, undefined, deps);
      // Assess
      const { body } = await store.get(NORMAL.bucket, key);
      expect(Buffer.concat(await body.toArray()).toString()).toBe('v2 NEW content');
      expect(late.destinations[0]).toMatchObject({ objectsWritten: 0, objectsUnchanged: 1 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('Class: RouterService (failure paths)', () => {
  it('lets no put of a failed delivery run on after it (background small-member writes are awaited)', async () => {
    // Prepare: the third put fails at once; every other put is slow
    const env = await staged();
    try {
      let started = 0;
      let running = 0;
      let runningAfterFailure = -1;
      const destinations: ObjectStore = Object.create(env.store, {
        put: {
          value: async (...args: Parameters<ObjectStore['put']>) => {
            if (++started === 3) throw new Error('simulated destination failure');
            running++;
            try {
              await new Promise((r) => setTimeout(r, 150));
              return await env.store.put(...args);
            } finally {
              running--;
            }
          },
        },
      });
      const router = env.router({ destinations });
      // Act
      await router.drain();
      runningAfterFailure = running;
      // Assess: the failure is counted, nothing acknowledged or deleted, and no put still runs
      expect(router.failures).toBe(1);
      expect(router.routed).toEqual([]);
      expect(runningAfterFailure).toBe(0);
      const stagedKeys: string[] = [];
      for await (const o of env.store.list(env.plan.staging, SOURCE.bucket)) stagedKeys.push(o.key);
      expect(stagedKeys).toHaveLength(1);
      // A later delivery with a working destination finishes the job.
      await new Promise((r) => setTimeout(r, 600));
      const retry = env.router();
      await retry.drain();
      expect(retry.routed).toHaveLength(1);
      const delivered: string[] = [];
      for await (const o of env.store.list(NORMAL.bucket)) delivered.push(o.key);
      expect(delivered.sort()).toEqual(TEST_OBJECTS.map((o) => o.key).sort());
    } finally {
      env.cleanup();
    }
  });

  it('retries a corrupt archive whose quarantine copy fails, instead of throwing out of the loop', async () => {
    // Prepare: an archive whose member name escapes, in staging; the staging store refuses copies
    const env = await staged(TEST_OBJECTS.slice(0, 2));
    try {
      const stagingKeys: string[] = [];
      for await (const o of env.store.list(env.plan.staging, SOURCE.bucket)) stagingKeys.push(o.key);
      const key = stagingKeys[0]!;
      const { body } = await env.store.get(env.plan.staging, key);
      const bytes = Buffer.concat(await body.toArray());
      bytes[bytes.length - 30] ^= 0xff; // the seek table's footer region: readIndex refuses the archive
      await env.store.put(env.plan.staging, key, bytes);
      const staging: ObjectStore = Object.create(env.store, { copy: { value: () => Promise.reject(new Error('simulated copy failure')) } });
      const router = env.router({ staging });
      // Act
      await expect(router.drain()).resolves.toBeDefined();
      // Assess: not quarantined, counted, the archive still in staging for the next try
      expect(router.quarantined).toEqual([]);
      expect(router.failures).toBeGreaterThanOrEqual(1);
      const after: string[] = [];
      for await (const o of env.store.list(env.plan.staging, SOURCE.bucket)) after.push(o.key);
      expect(after).toEqual([key]);
      // With a working store the next delivery quarantines it.
      await new Promise((r) => setTimeout(r, 600));
      const retry = env.router();
      await retry.drain();
      expect(retry.quarantined.map((q) => q.archiveKey)).toEqual([key]);
    } finally {
      env.cleanup();
    }
  });
});
