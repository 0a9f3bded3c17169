/**
 * The embedded default's stand-in for S3 Cross-Region Replication: copies each archive in a
 * source region's staging bucket to the staging bucket of every region its rule targets, then
 * removes the source copy (on AWS a lifecycle rule expires it). Copying is idempotent: a crash
 * part-way repeats copies, and the router skips what its destinations already hold.
 */
import { ruleForStagingKey, sourceRegions } from '../../../shared/config';
import type { LocalTopology } from './LocalTopology';

export class LocalReplicator {
  replicated = 0;

  constructor(private readonly topology: LocalTopology) {}

  /** Replicates every pending archive; returns how many archives were copied. */
  async replicate(): Promise<number> {
    const { config } = this.topology;
    let copied = 0;
    for (const region of sourceRegions(config)) {
      const store = this.topology.store(region);
      const staging = this.topology.stagingBucket(region);
      for await (const obj of store.list(staging)) {
        if (!obj.key.endsWith('.tar.zst')) continue;
        const rule = ruleForStagingKey(config, obj.key);
        if (!rule) continue;
        const regions = [...new Set(rule.destinations.map((d) => d.region))];
        for (const target of regions) {
          await this.topology.store(target).replicateFrom(store, { bucket: staging, key: obj.key }, { bucket: this.topology.stagingBucket(target), key: obj.key });
        }
        await store.delete(staging, obj.key);
        copied++;
      }
    }
    this.replicated += copied;
    return copied;
  }
}
