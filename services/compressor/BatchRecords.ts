/**
 * Batch records: the compressor's note, in its outbox under `_xregion/batches/`, that the archive
 * of one batch was uploaded. A batch's archive name is derived from its events
 * (batchArchiveName), so a compressor that crashed after its upload and before acknowledging
 * finds the record when the same events come back, acknowledges them and uploads nothing: the
 * backup destination never stores those objects twice. Records outlive the outbox archive (which
 * replication removes locally and a lifecycle rule expires on AWS) and expire after SQS's longest
 * retention. A record lists the event items its archive settled, so a redelivered message whose
 * items an earlier (dead) holder already archived in a batch grouped otherwise is acknowledged
 * without archiving them again (archivedItems). Where even that cannot tell — the record of an
 * upload never written because the process died in between — `xregion reconcile` reports the
 * duplicate.
 */
import { createHash } from 'node:crypto';
import { archiveName, ruleId } from '../../shared/config';
import { readJsonObject, writeJsonObject } from '../../shared/storage/jsonObject';
import type { ObjectStore } from '../../shared/storage/port';
import { BATCH_RECORDS_PREFIX } from '../../shared/topology';
import { itemIdentity, type Batch } from './BatchAccumulator';

export const BATCH_RECORD_FORMAT = 'xregion-batch/1';
/** Batch records kept in memory (each lists up to max_objects identities). */
const CACHE_LIMIT = 2_000;

export interface BatchRecord {
  format: typeof BATCH_RECORD_FORMAT;
  archive: string;
  objects: number;
  etag: string;
  uploadedAt: string;
  /** itemIdentity of every event item the archive settled (archived or listed as skipped). */
  items: string[];
}

/** The epoch_ms in an archive key's name (`…backup_{epoch_ms}_{batch_id}.tar.zst`), or NaN. */
function archiveEpoch(key: string): number {
  const m = /backup_(\d+)_[0-9a-f]+\.tar\.zst\.json$/.exec(key);
  return m ? Number(m[1]) : NaN;
}

/** The archive name of a batch: its newest event's time and a hash of its rule and item versions (the same events give the same name). */
export function batchArchiveName(batch: Batch, fallbackMs: number): string {
  const ids = batch.items.map(itemIdentity).sort();
  const batchId = createHash('sha256').update(ruleId(batch.rule)).update('\u0000').update(ids.join('\n')).digest('hex').slice(0, 8);
  const times = batch.items.map((i) => (i.eventTime ? Date.parse(i.eventTime) : NaN)).filter((t) => Number.isFinite(t));
  return archiveName(times.length ? Math.max(...times) : fallbackMs, batchId);
}

export class BatchRecords {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** Key of the record of the archive at `stagingKey`. */
  static key(stagingKey: string): string {
    return `${BATCH_RECORDS_PREFIX}${stagingKey}.json`;
  }

  private readonly cache = new Map<string, BatchRecord>();

  /** The record of an uploaded archive, or undefined. */
  async read(stagingKey: string): Promise<BatchRecord | undefined> {
    return this.readKey(BatchRecords.key(stagingKey));
  }

  private async readKey(recordKey: string): Promise<BatchRecord | undefined> {
    const cached = this.cache.get(recordKey);
    if (cached) return cached;
    try {
      const r = (await readJsonObject(this.store, this.bucket, recordKey))?.value as BatchRecord | undefined;
      if (r?.format !== BATCH_RECORD_FORMAT) return undefined;
      // Records never change once written (a name is a set of events): safe to keep, bounded by the caller's window.
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(recordKey, r);
      return r;
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /**
   * Identities of the items that archives of this rule (staging prefix) already settled, among the
   * archives named `sinceMs` or later: a batch's name carries its newest event's time, so an
   * archive holding an event of time T is named T or later. For redelivered messages only (one
   * LIST, and a GET per record not seen before): their earlier holder may have uploaded them and
   * died before acknowledging, with the events since grouped into other batches.
   */
  async archivedItems(stagingPrefix: string, sinceMs: number): Promise<Set<string>> {
    const out = new Set<string>();
    for await (const o of this.store.list(this.bucket, `${BATCH_RECORDS_PREFIX}${stagingPrefix}`)) {
      if (!(archiveEpoch(o.key) >= sinceMs)) continue;
      const r = await this.readKey(o.key);
      for (const id of r?.items ?? []) out.add(id);
    }
    return out;
  }

  /** Records an uploaded archive and the event items it settled. */
  async write(stagingKey: string, objects: number, etag: string, items: string[]): Promise<void> {
    const record: BatchRecord = { format: BATCH_RECORD_FORMAT, archive: stagingKey, objects, etag, uploadedAt: new Date().toISOString(), items };
    await writeJsonObject(this.store, this.bucket, BatchRecords.key(stagingKey), record, {});
  }
}
