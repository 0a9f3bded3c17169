/**
 * The embedded default's Replicator: for each region's outbox, copies every committed archive
 * (one whose batch record the compressor wrote) to the inbound staging bucket of each region its
 * replication plans name, then removes it from the outbox (on AWS the outbox's lifecycle rule
 * expires it, 14 days on). The copy to every target completes before the outbox copy is deleted,
 * so a crash part-way repeats copies and never loses one. An uncommitted archive stays: a
 * compressor that died between its upload and its record left its events to be redelivered, and
 * the next holder must find the archive in the outbox to commit it instead of archiving the same
 * objects again (on AWS it is replicated at once and stays in the outbox for that lookup).
 */
import type { LocalObjectStore } from '../storage/local/LocalObjectStore';
import { headIfExists } from '../storage/jsonObject';
import { batchRecordKey, replicationsForArchive, RECORDS_PREFIX, type Topology } from '../topology';
import type { Replicator } from './port';

export class LocalReplicator implements Replicator {
  /** Archives replicated by this instance so far. */
  replicated = 0;
  /** Outbox archives passed over so far because their batch record is not written yet. */
  uncommitted = 0;

  constructor(
    private readonly topology: Topology,
    private readonly store: (region: string) => LocalObjectStore,
  ) {}

  async replicatePending(): Promise<number> {
    let copied = 0;
    for (const region of this.topology.regions) {
      if (!region.outbox) continue;
      const from = this.store(region.region);
      for await (const obj of from.list(region.outbox)) {
        if (obj.key.startsWith(RECORDS_PREFIX)) continue;
        const plans = replicationsForArchive(region, obj.key);
        if (plans.length === 0) continue; // not an archive of any rule: S3 replication would leave it too
        if (!(await headIfExists(from, region.outbox, batchRecordKey(obj.key)))) {
          this.uncommitted++;
          continue;
        }
        // Pinned to one version: a newer one uploaded meanwhile is neither copied half nor deleted unreplicated.
        const { versionId } = await from.head(region.outbox, obj.key);
        for (const plan of plans) await this.store(plan.toRegion).replicateFrom(from, { bucket: plan.fromBucket, key: obj.key, versionId }, { bucket: plan.toBucket, key: obj.key });
        await from.delete(region.outbox, obj.key, { versionId });
        copied++;
      }
    }
    this.replicated += copied;
    return copied;
  }
}
