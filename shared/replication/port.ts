/**
 * The Replicator port: moves each archive a region's compressors put in its outbox to the inbound
 * staging bucket of every region the outbox's replication rules name (ReplicationPlan), and only
 * there. On AWS this is S3 Cross-Region Replication, configured by the source stack from the same
 * plans, and no code of ours runs; the embedded default uses LocalReplicator.
 *
 * Contract (test/contract/replicator.contract.ts):
 * - an archive under a plan's prefix reaches every target of the matching plans, with its bytes,
 *   ETag and metadata, and no other bucket;
 * - an archive that arrived in a region's inbound staging bucket is never replicated again (only
 *   outboxes are sources), so a region that is both a source and a target loses nothing;
 * - xregion's own records (`_xregion/`) and keys outside every plan stay where they are;
 * - replication is at-least-once: a pass interrupted part-way repeats copies, never skips one;
 * - a replicated archive's outbox copy outlives its compressor's batch record, so a redelivered
 *   event finds an archive whose record a crash prevented (S3: the outbox keeps archives 14 days;
 *   LocalReplicator moves an archive only once its record exists).
 */
export interface Replicator {
  /** Replicates what is pending now; resolves with the number of archives replicated. */
  replicatePending(): Promise<number>;
}
