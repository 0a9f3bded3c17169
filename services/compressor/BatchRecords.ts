/**
 * Batch records: the compressor's notes, in its outbox under `_xregion/batches/`, of what each
 * archive holds. Before an upload starts it writes the batch's *intent* (the event items the
 * archive will settle); once the archive is uploaded and read back it writes the *record* (the
 * commit). A batch's archive name is derived from its events (batchArchiveName), so a compressor
 * that crashed after its upload and before acknowledging finds the record when the same events
 * come back, acknowledges them and uploads nothing: the backup destination never stores those
 * objects twice. A redelivered message whose items an earlier (dead) holder archived in a batch
 * grouped otherwise is acknowledged without archiving them again (archivedItems) — and an intent
 * without its record (the process died between upload and commit) counts once the archive is
 * found in the outbox and reads back: the commit is then written on the dead holder's behalf.
 * That relies on the archive still being in the outbox: on AWS its lifecycle keeps it 14 days;
 * locally the replicator moves committed archives only. Records outlive the outbox archive and
 * expire after SQS's longest retention.
 */
import { createHash } from 'node:crypto';
import { ArchiveReader } from '../../shared/archive';
import { archiveName, ruleId } from '../../shared/config';
import { headIfExists, readJsonObject, writeJsonObject } from '../../shared/storage/jsonObject';
import type { ObjectStore } from '../../shared/storage/port';
import { S3RangeReader } from '../../shared/storage/s3/S3RangeReader';
import { BATCH_RECORDS_PREFIX, batchIntentKey, batchRecordKey } from '../../shared/topology';
import { itemIdentity, type Batch } from './BatchAccumulator';

export const BATCH_RECORD_FORMAT = 'xregion-batch/1';
export const BATCH_INTENT_FORMAT = 'xregion-batch-intent/1';
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

export interface BatchIntent {
  format: typeof BATCH_INTENT_FORMAT;
  archive: string;
  startedAt: string;
  /** itemIdentity of every event item of the batch. */
  items: string[];
}

/** An outbox key under the batch prefix: the archive's staging key and which note it is, or undefined. */
function parseNoteKey(key: string): { stagingKey: string; kind: 'record' | 'intent'; epochMs: number } | undefined {
  const m = /^(.*backup_(\d+)_[0-9a-f]+\.tar\.zst)(\.intent)?\.json$/.exec(key.slice(BATCH_RECORDS_PREFIX.length));
  return m ? { stagingKey: m[1]!, kind: m[3] ? 'intent' : 'record', epochMs: Number(m[2]) } : undefined;
}

/** The archive name of a batch: its newest event's time and a hash of its rule and item versions (the same events give the same name). */
export function batchArchiveName(batch: Batch, fallbackMs: number): string {
  const ids = batch.items.map(itemIdentity).sort();
  const batchId = createHash('sha256').update(ruleId(batch.rule)).update('\u0000').update(ids.join('\n')).digest('hex').slice(0, 8);
  const times = batch.items.map((i) => (i.eventTime ? Date.parse(i.eventTime) : NaN)).filter((t) => Number.isFinite(t));
  return archiveName(times.length ? Math.max(...times) : fallbackMs, batchId);
}

export class BatchRecords {
  private readonly cache = new Map<string, BatchRecord>();

  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
  ) {}

  /** The record (commit) of the archive at `stagingKey`, or undefined. */
  async read(stagingKey: string): Promise<BatchRecord | undefined> {
    const key = batchRecordKey(stagingKey);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const r = await this.readNote<BatchRecord>(key, BATCH_RECORD_FORMAT);
    if (r) {
      // Records never change once written (a name is a set of events): safe to keep, bounded by the caller's window.
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(key, r);
    }
    return r;
  }

  private async readNote<T extends { format: string }>(key: string, format: T['format']): Promise<T | undefined> {
    try {
      const r = (await readJsonObject(this.store, this.bucket, key))?.value as T | undefined;
      return r?.format === format ? r : undefined;
    } catch (err) {
      if (err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  /**
   * The record of the archive at `stagingKey`, committing it first when the archive is in the
   * outbox and reads back but its record was never written (a crash between the two); `items`
   * are the intent's when there is none. Undefined when the archive was not uploaded.
   */
  async committed(stagingKey: string, items?: string[]): Promise<BatchRecord | undefined> {
    const record = await this.read(stagingKey);
    if (record) return record;
    const settled = items ?? (await this.readNote<BatchIntent>(batchIntentKey(stagingKey), BATCH_INTENT_FORMAT))?.items;
    if (!settled) return undefined;
    const info = await headIfExists(this.store, this.bucket, stagingKey);
    if (!info) return undefined;
    try {
      await new ArchiveReader(new S3RangeReader(this.store, this.bucket, stagingKey, { versionId: info.versionId, size: info.size })).readIndex();
    } catch {
      return undefined; // torn or damaged: archived again (and the router quarantines this one if it was replicated)
    }
    return this.write(stagingKey, Number(info.metadata['xregion-object-count'] ?? 0), info.etag, settled);
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
    const intents: string[] = [];
    const recorded = new Set<string>();
    for await (const o of this.store.list(this.bucket, `${BATCH_RECORDS_PREFIX}${stagingPrefix}`)) {
      const note = parseNoteKey(o.key);
      if (!note || !(note.epochMs >= sinceMs)) continue;
      if (note.kind === 'intent') {
        intents.push(note.stagingKey);
        continue;
      }
      recorded.add(note.stagingKey);
      for (const id of (await this.read(note.stagingKey))?.items ?? []) out.add(id);
    }
    for (const stagingKey of intents) {
      if (recorded.has(stagingKey)) continue;
      for (const id of (await this.committed(stagingKey))?.items ?? []) out.add(id);
    }
    return out;
  }

  /** Notes the items a batch's archive will settle, before its upload starts. */
  async writeIntent(stagingKey: string, items: string[]): Promise<void> {
    const intent: BatchIntent = { format: BATCH_INTENT_FORMAT, archive: stagingKey, startedAt: new Date().toISOString(), items };
    await writeJsonObject(this.store, this.bucket, batchIntentKey(stagingKey), intent, {});
  }

  /** Records (commits) an uploaded archive and the event items it settled. */
  async write(stagingKey: string, objects: number, etag: string, items: string[]): Promise<BatchRecord> {
    const record: BatchRecord = { format: BATCH_RECORD_FORMAT, archive: stagingKey, objects, etag, uploadedAt: new Date().toISOString(), items };
    await writeJsonObject(this.store, this.bucket, batchRecordKey(stagingKey), record, {});
    return record;
  }
}
