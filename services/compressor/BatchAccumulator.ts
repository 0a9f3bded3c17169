/**
 * Groups S3 event records into per-rule batches and decides when a batch is due
 * (max_objects, max_bytes or max_wait_seconds). Pure bookkeeping: no I/O.
 */
import { keyMatchesRule, ruleId, type ReplicationRule } from '../../shared/config';
import type { S3EventRecord } from '../../shared/storage/s3Event';
import { RECORDS_PREFIX } from '../../shared/topology';

/** One object to archive, pinned to the version or ETag its event named. */
export interface BatchItem {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
  versionId?: string;
  /** ISO time of the event that named this version (names the batch's archive deterministically). */
  eventTime?: string;
  /** The event's sequencer: orders the versions of one key (S3 times have a one-second resolution). */
  sequencer?: string;
}

/** A batch being filled or ready to archive. */
export interface Batch {
  rule: ReplicationRule;
  items: BatchItem[];
  bytes: number;
  openedAt: number;
  /** Receipt handles of every message with a record in this batch. */
  receipts: Set<string>;
}

export type AddOutcome = 'added' | 'duplicate' | 'outside-rule' | 'not-created';

/** Keys under this prefix are xregion's own bookkeeping (drive-ingest state and run records), never archived. */
export const INTERNAL_PREFIX = RECORDS_PREFIX;

/** Identity of one object version, for de-duplicating repeated events. */
export const itemIdentity = (r: { bucket: string; key: string; etag?: string; versionId?: string }) =>
  `${r.bucket}\u0000${r.key}\u0000${r.versionId ?? ''}\u0000${r.etag ?? ''}`;

export class BatchAccumulator {
  private readonly open = new Map<string, { batch: Batch; seen: Set<string> }>();
  /** Batches that reached max_objects or max_bytes, closed at once so none overshoots. */
  private readonly full: Batch[] = [];

  constructor(private readonly rules: readonly ReplicationRule[]) {}

  /** Adds one event record; `receipt` is its message's receipt handle. */
  add(record: S3EventRecord, receipt: string, now: number): { outcome: AddOutcome; batch?: Batch } {
    if (!record.eventName.startsWith('ObjectCreated:')) return { outcome: 'not-created' };
    // drive-ingest's own state lives under _xregion/; S3 filters cannot exclude it when a rule's prefix is empty.
    if (record.key.startsWith(INTERNAL_PREFIX)) return { outcome: 'outside-rule' };
    const rule = this.rules.find((r) => r.source.bucket === record.bucket && keyMatchesRule(r, record.key));
    if (!rule) return { outcome: 'outside-rule' };
    const id = ruleId(rule);
    let slot = this.open.get(id);
    if (!slot) {
      slot = { batch: { rule, items: [], bytes: 0, openedAt: now, receipts: new Set() }, seen: new Set() };
      this.open.set(id, slot);
    }
    slot.batch.receipts.add(receipt);
    const itemId = itemIdentity(record);
    if (slot.seen.has(itemId)) return { outcome: 'duplicate', batch: slot.batch };
    slot.seen.add(itemId);
    slot.batch.items.push({ bucket: record.bucket, key: record.key, size: record.size ?? 0, etag: record.etag, versionId: record.versionId, eventTime: record.eventTime, sequencer: record.sequencer });
    slot.batch.bytes += record.size ?? 0;
    const { max_objects, max_bytes } = rule.source.batch;
    if (slot.batch.items.length >= max_objects || slot.batch.bytes >= max_bytes) {
      this.open.delete(id);
      this.full.push(slot.batch);
    }
    return { outcome: 'added', batch: slot.batch };
  }

  /** Removes and returns every batch that reached a limit at time `now`. */
  takeDue(now: number): Batch[] {
    const due: Batch[] = this.full.splice(0);
    for (const [id, { batch }] of this.open) {
      if (now - batch.openedAt >= batch.rule.source.batch.max_wait_seconds * 1000) {
        due.push(batch);
        this.open.delete(id);
      }
    }
    return due;
  }

  /** Removes and returns every open batch regardless of limits. */
  takeAll(): Batch[] {
    const all = [...this.full.splice(0), ...[...this.open.values()].map((s) => s.batch)];
    this.open.clear();
    return all;
  }

  /** Milliseconds until the oldest open batch's max_wait expires (undefined when none is open). */
  msUntilNextDeadline(now: number): number | undefined {
    if (this.full.length) return 0;
    let min: number | undefined;
    for (const { batch } of this.open.values()) {
      const left = batch.openedAt + batch.rule.source.batch.max_wait_seconds * 1000 - now;
      min = min === undefined ? left : Math.min(min, left);
    }
    return min === undefined ? undefined : Math.max(0, min);
  }

  /** Receipt handles held by open batches (their visibility must be kept extended). */
  get size(): number {
    return this.open.size + this.full.length;
  }
}
