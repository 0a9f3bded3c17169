/**
 * Batch records: the compressor's note, in its outbox under `_xregion/batches/`, that the archive
 * of one batch was uploaded. A batch's archive name is derived from its events
 * (batchArchiveName), so a compressor that crashed after its upload and before acknowledging
 * finds the record when the same events come back, acknowledges them and uploads nothing: the
 * backup destination never stores those objects twice. Records outlive the outbox archive (which
 * replication removes locally and a lifecycle rule expires on AWS) and expire after SQS's longest
 * retention. A batch whose events come back grouped differently gets another name: that duplicate
 * cannot be avoided here, and `xregion reconcile` reports it.
 */
import { createHash } from 'node:crypto';
import { archiveName, ruleId } from '../../shared/config';
import { NoSuchObjectError } from '../../shared/storage/errors';
import type { ObjectStore } from '../../shared/storage/port';
import { BATCH_RECORDS_PREFIX } from '../../shared/topology';
import { itemIdentity, type Batch } from './BatchAccumulator';

export const BATCH_RECORD_FORMAT = 'xregion-batch/1';

export interface BatchRecord {
  format: typeof BATCH_RECORD_FORMAT;
  archive: string;
  objects: number;
  etag: string;
  uploadedAt: string;
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

  /** The record of an uploaded archive, or undefined. */
  async read(stagingKey: string): Promise<BatchRecord | undefined> {
    try {
      const r = JSON.parse((await this.store.getRange(this.bucket, BatchRecords.key(stagingKey), 0, 64 * 1024)).toString('utf8')) as BatchRecord;
      return r.format === BATCH_RECORD_FORMAT ? r : undefined;
    } catch (err) {
      if (err instanceof NoSuchObjectError || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /** Records an uploaded archive. */
  async write(stagingKey: string, objects: number, etag: string): Promise<void> {
    const record: BatchRecord = { format: BATCH_RECORD_FORMAT, archive: stagingKey, objects, etag, uploadedAt: new Date().toISOString() };
    const body = Buffer.from(JSON.stringify(record));
    await this.store.put(this.bucket, BatchRecords.key(stagingKey), body, { contentType: 'application/json', size: body.length });
  }
}
