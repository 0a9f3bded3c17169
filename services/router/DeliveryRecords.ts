/**
 * Delivery records: the router's positive evidence that one destination holds one archive.
 * Written after the destination commit (and, for a backup destination, after its catalog rows)
 * and before the staging copy is deleted; the router acknowledges an archive only with a record
 * for every destination it owns. They live in the inbound staging bucket under
 * `_xregion/deliveries/` (never routed, never replicated; a lifecycle rule expires them after
 * SQS's longest retention), one small JSON object per (archive, destination).
 */
import { DELIVERY_RECORDS_PREFIX } from '../../shared/topology';
import { readJsonObject, writeJsonObject } from '../../shared/storage/jsonObject';
import type { ObjectStore } from '../../shared/storage/port';

export const DELIVERY_RECORD_FORMAT = 'xregion-delivery/1';

export interface DeliveryRecord {
  format: typeof DELIVERY_RECORD_FORMAT;
  /** Staging key of the archive. */
  archive: string;
  /** ETag and size of the staged archive this record is about (a later archive at the same key is another delivery). */
  archiveEtag: string;
  archiveSize: number;
  region: string;
  destination: string;
  mode: 'backup' | 'normal';
  objects: number;
  /** Backup destinations: where the archive is and the catalog file that lists it. */
  backupKey?: string;
  catalogKey?: string;
  deliveredAt: string;
}

export class DeliveryRecords {
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** Key of the record of one archive at one destination. */
  static key(archiveKey: string, destinationBucket: string): string {
    return `${DELIVERY_RECORDS_PREFIX}${archiveKey}/${destinationBucket}.json`;
  }

  /** The record, or undefined when there is none (an unreadable one counts as none: the destination is checked again). */
  async read(archiveKey: string, destinationBucket: string): Promise<DeliveryRecord | undefined> {
    try {
      const r = (await readJsonObject(this.store, this.bucket, DeliveryRecords.key(archiveKey, destinationBucket)))?.value as DeliveryRecord | undefined;
      return r?.format === DELIVERY_RECORD_FORMAT ? r : undefined;
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /** Writes (or overwrites) a record. */
  async write(record: Omit<DeliveryRecord, 'format' | 'deliveredAt'>): Promise<void> {
    const full: DeliveryRecord = { format: DELIVERY_RECORD_FORMAT, ...record, deliveredAt: new Date().toISOString() };
    await writeJsonObject(this.store, this.bucket, DeliveryRecords.key(record.archive, record.destination), full, {});
  }
}
