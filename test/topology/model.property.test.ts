/**
 * Properties of the topology model over random valid configs (test/topology/arbitraries.ts):
 * every (rule, destination) pair has exactly one delivery path, and no router receives an archive
 * of a rule it does not own. The CDK rendering of the same configs: test/stacks/rendering.property.test.ts.
 */
import fc from 'fast-check';
import { archiveName, archiveStagingKey, bucketNameProblem, filtersOverlap, type Config, type ReplicationRule } from '../../shared/config';
import {
  BATCH_RECORDS_PREFIX,
  buildTopology,
  DELIVERY_RECORDS_PREFIX,
  QUARANTINE_PREFIX,
  replicationsForArchive,
  ruleForArchive,
  stagingPrefix,
  type NotificationPlan,
  type RegionPlan,
  type Topology,
} from '../../shared/topology';
import { configArbitrary } from './arbitraries';

const ACCOUNT = '123456789012';
const RUNS = { numRuns: 100 };
/** Archive names as the compressor makes them. */
const ARCHIVES = [archiveName(1753329108085, '3f9a'), archiveName(1, 'a-b_c')];

const modelOf = (config: Config): Topology => buildTopology(config, ACCOUNT);
const keysOf = (rule: ReplicationRule): string[] => ARCHIVES.map((a) => archiveStagingKey(rule, a));
const matches = (n: NotificationPlan, bucket: string, key: string): boolean => n.bucket === bucket && key.startsWith(n.prefix) && key.endsWith(n.suffix);
const regionOf = (t: Topology, region: string): RegionPlan | undefined => t.regions.find((r) => r.region === region);
/** Every (rule, destination) pair of a config. */
const pairsOf = (config: Config) => config.replication_configuration.flatMap((rule) => rule.destinations.map((destination) => ({ rule, destination })));

/** Every bucket and queue name of the model, with the region holding it. */
function namesOf(t: Topology): { buckets: [string, string][]; queues: [string, string][] } {
  const buckets: [string, string][] = [];
  const queues: [string, string][] = [];
  for (const r of t.regions) {
    if (r.outbox) buckets.push([r.region, r.outbox]);
    if (r.router) buckets.push([r.region, r.router.staging]);
    if (r.router?.catalog) buckets.push([r.region, r.router.catalog]);
    for (const q of [...r.compressors.map((c) => c.queue), ...(r.router ? [r.router.queue] : [])]) queues.push([r.region, q.name], [r.region, q.deadLetter]);
  }
  return { buckets, queues };
}

describe('Function: buildTopology (properties over random valid configs)', () => {
  it('gives every (rule, destination) pair exactly one delivery path', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        const pairs = pairsOf(config);
        expect(t.paths).toHaveLength(pairs.length);
        for (const { rule, destination } of pairs) {
          expect(t.paths.filter((p) => p.rule === rule && p.destination === destination)).toHaveLength(1);
        }
      }),
      RUNS,
    );
  });

  it("compresses each rule once in its source region and replicates each path's archives to its destination region's staging bucket", () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        for (const rule of config.replication_configuration) {
          expect(t.regions.flatMap((r) => r.compressors).filter((c) => c.rule === rule)).toHaveLength(1);
        }
        for (const p of t.paths) {
          const source = regionOf(t, p.rule.source.region)!;
          expect(source.compressors).toContain(p.compressor);
          expect(p.compressor.rule).toBe(p.rule);
          expect(p.compressor.notification).toEqual({ bucket: p.rule.source.bucket, prefix: p.rule.source.prefix_filter, suffix: p.rule.source.suffix_filter, queue: p.compressor.queue.name });
          expect(p.compressor.outbox).toBe(source.outbox);
          expect(source.replications).toContain(p.replication);
          expect(stagingPrefix(p.rule).startsWith(p.replication.prefix)).toBe(true);
          expect(p.replication).toMatchObject({ fromRegion: p.rule.source.region, fromBucket: source.outbox, toRegion: p.destination.region, toBucket: p.router.staging });
          // RTC is on for the path when its rule asks for it.
          if (p.rule.source.replication_time_control) expect(p.replication.replicationTimeControl).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it("notifies each path's router of its rule's archives, and the router takes them for that rule", () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        for (const p of t.paths) {
          expect(p.router.region).toBe(p.destination.region);
          expect(regionOf(t, p.destination.region)!.router).toBe(p.router);
          expect(p.router.rules).toContain(p.rule);
          for (const key of keysOf(p.rule)) {
            expect(p.router.notifications.some((n) => matches(n, p.router.staging, key))).toBe(true);
            expect(ruleForArchive(p.router, key)).toBe(p.rule);
          }
        }
      }),
      RUNS,
    );
  });

  it('never lets a router receive (by replication and notification) an archive of a rule it does not own, and replicates each archive to exactly its rule’s destination regions', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        for (const region of t.regions) {
          // The archives in this outbox: those of the rules compressed here, and nothing else.
          for (const rule of region.compressors.map((c) => c.rule)) {
            for (const key of keysOf(rule)) {
              const replications = replicationsForArchive(region, key);
              expect([...new Set(replications.map((r) => r.toRegion))].sort()).toEqual([...new Set(rule.destinations.map((d) => d.region))].sort());
              for (const r of replications) {
                const router = regionOf(t, r.toRegion)?.router;
                expect(router).toBeDefined();
                expect(r.toBucket).toBe(router!.staging);
                if (!router!.notifications.some((n) => matches(n, r.toBucket, key))) continue;
                const owner = ruleForArchive(router!, key);
                expect(owner).toBe(rule);
                expect(router!.rules).toContain(rule);
                expect(rule.destinations.some((d) => d.region === router!.region)).toBe(true);
              }
            }
          }
        }
      }),
      RUNS,
    );
  });

  it('gives each router exactly the rules with a destination in its region, and a catalog exactly where a backup destination lives', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        for (const region of t.regions) {
          const owned = config.replication_configuration.filter((r) => r.destinations.some((d) => d.region === region.region));
          expect(region.router?.rules ?? []).toEqual(owned);
          const backup = owned.some((r) => r.destinations.some((d) => d.region === region.region && d.backup));
          expect(Boolean(region.router?.catalog)).toBe(backup);
          expect(Boolean(region.outbox)).toBe(region.compressors.length > 0);
        }
      }),
      RUNS,
    );
  });

  it("keeps xregion's records and quarantine out of replication and routing", () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        const archiveKeys = config.replication_configuration.flatMap(keysOf);
        for (const region of t.regions) {
          expect(replicationsForArchive(region, `${BATCH_RECORDS_PREFIX}${ARCHIVES[0]}`)).toEqual([]);
          expect(region.replications.filter((r) => `${BATCH_RECORDS_PREFIX}x`.startsWith(r.prefix) || r.prefix.startsWith(BATCH_RECORDS_PREFIX))).toEqual([]);
          const router = region.router;
          if (!router) continue;
          const unrouted = [`${DELIVERY_RECORDS_PREFIX}${ARCHIVES[0]}`, ...archiveKeys.map((k) => `${DELIVERY_RECORDS_PREFIX}${k}`), ...archiveKeys.map((k) => `${QUARANTINE_PREFIX}${k}`)];
          for (const key of unrouted) {
            expect(router.notifications.filter((n) => matches(n, router.staging, key))).toEqual([]);
            expect(ruleForArchive(router, key)).toBeUndefined();
          }
        }
      }),
      RUNS,
    );
  });

  it("keeps a region's outbox, staging and catalog buckets apart, and never uses a bucket name twice or a config bucket's name", () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const { buckets } = namesOf(modelOf(config));
        const names = buckets.map(([, b]) => b);
        expect(new Set(names).size).toBe(names.length);
        for (const name of names) expect(bucketNameProblem(name)).toBeUndefined();
        const configBuckets = new Set([
          ...config.replication_configuration.flatMap((r) => [r.source.bucket, ...r.destinations.map((d) => d.bucket)]),
          ...config.drive_sources.map((d) => d.target.bucket),
        ]);
        expect(names.filter((n) => configBuckets.has(n))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('names every queue and dead-letter queue once across regions, as SQS allows, and points every notification at a queue of its region', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        const queues = namesOf(t).queues.map(([, q]) => q);
        expect(new Set(queues).size).toBe(queues.length);
        for (const q of queues) expect(q).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
        for (const region of t.regions) {
          for (const c of region.compressors) expect(c.notification.queue).toBe(c.queue.name);
          for (const n of region.router?.notifications ?? []) expect(n).toMatchObject({ bucket: region.router!.staging, queue: region.router!.queue.name });
        }
      }),
      RUNS,
    );
  });

  it('gives no bucket two overlapping notifications (S3 refuses such a configuration)', () => {
    fc.assert(
      fc.property(configArbitrary(), (config) => {
        const t = modelOf(config);
        const all = t.regions.flatMap((r) => [...r.compressors.map((c) => c.notification), ...(r.router?.notifications ?? [])]);
        all.forEach((a, i) => {
          for (const b of all.slice(i + 1)) if (a.bucket === b.bucket) expect(filtersOverlap(a, b)).toBe(false);
        });
      }),
      RUNS,
    );
  });

  // compressorQueueName cuts `{stack}-compressor-{slug}` to fit SQS: the cut must keep what tells
  // two rules on one (long-named) bucket apart.
  it('names the compressor queues of two rules on one long-named bucket apart', () => {
    fc.assert(
      fc.property(configArbitrary({ longBucketNames: true }), (config) => {
        const queues = namesOf(modelOf(config)).queues.map(([, q]) => q);
        expect(new Set(queues).size).toBe(queues.length);
      }),
      RUNS,
    );
  });
});
