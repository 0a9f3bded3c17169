/**
 * The local rendering of the topology model (LocalTopology + LocalReplicator) over random valid
 * configs: an object put under each rule's prefix reaches exactly its rule's compressor queue; its
 * archive, put in the outbox, reaches exactly the staging buckets of its destination regions; and
 * each staged archive lands in the queue of a router that owns that (rule, destination).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { LocalTopology } from '../../services/cli/appliance/LocalTopology';
import { archiveName, archiveStagingKey, ruleId } from '../../shared/config';
import { LocalReplicator } from '../../shared/replication';
import { parseS3Event } from '../../shared/storage/s3Event';
import { batchRecordKey, ruleForArchive } from '../../shared/topology';
import { configArbitrary } from './arbitraries';

async function drainBodies(q: { receive: (o: { maxMessages: number }) => Promise<{ body: string; receiptHandle: string }[]>; deleteBatch: (h: string[]) => Promise<void> }): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const got = await q.receive({ maxMessages: 10 });
    if (got.length === 0) return out;
    out.push(...got.map((m) => m.body));
    await q.deleteBatch(got.map((m) => m.receiptHandle));
  }
}

/** Keys of ObjectCreated events in message bodies (s3:TestEvent bodies skipped). */
function eventKeys(bodies: string[]): string[] {
  return bodies.flatMap((b) => {
    const r = parseS3Event(b);
    return r === 'test-event' ? [] : r.map((x) => x.key);
  });
}

describe('Topology model: local rendering', () => {
  it('gives every (rule, destination) exactly one path, and no router an archive it does not own', async () => {
    await fc.assert(
      fc.asyncProperty(configArbitrary(), async (config) => {
        const dir = mkdtempSync(join(tmpdir(), 'xregion-topo-'));
        try {
          const t = new LocalTopology(config, dir, { fsync: false });
          await t.init();
          const replicator = new LocalReplicator(t.model, (r) => t.store(r));
          for (const q of t.allQueues()) await drainBodies(q.pair.queue); // s3:TestEvents
          for (const [i, rule] of config.replication_configuration.entries()) {
            // Source → compressor queue: exactly this rule's queue gets the event.
            const key = `${rule.source.prefix_filter}probe-${i}${rule.source.suffix_filter}`;
            await t.store(rule.source.region).put(rule.source.bucket, key, Buffer.from(`rule ${i}`));
            for (const c of t.compressorPlans) {
              const got = eventKeys(await drainBodies(t.queue(c.queue, 'compressor').queue));
              const wants = c.rule.source.bucket === rule.source.bucket && key.startsWith(c.rule.source.prefix_filter) && key.endsWith(c.rule.source.suffix_filter);
              expect([ruleId(c.rule), got]).toEqual([ruleId(c.rule), wants ? [key] : []]);
            }
            // Outbox → replication → staging → router queue.
            const archiveKey = archiveStagingKey(rule, archiveName(1_700_000_000_000 + i, 'abcdef01'));
            const outbox = t.outboxBucket(rule.source.region);
            await t.store(rule.source.region).put(outbox, archiveKey, Buffer.from('archive'));
            await t.store(rule.source.region).put(outbox, batchRecordKey(archiveKey), Buffer.from('{}')); // committed
            expect(await replicator.replicatePending()).toBe(1);
            const targetRegions = new Set<string>(rule.destinations.map((d) => d.region));
            for (const router of t.routerPlans) {
              const got = eventKeys(await drainBodies(t.queue(router.queue, 'router').queue));
              expect([router.region, got]).toEqual([router.region, targetRegions.has(router.region) ? [archiveKey] : []]);
              if (!targetRegions.has(router.region)) continue;
              // The router that receives it owns the rule, with this region's destinations of it.
              const owned = ruleForArchive(router, archiveKey);
              expect(owned && ruleId(owned)).toBe(ruleId(rule));
              expect(owned!.destinations.filter((d) => d.region === router.region)).toEqual(rule.destinations.filter((d) => d.region === router.region));
              await t.store(router.region).delete(router.staging, archiveKey);
            }
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
