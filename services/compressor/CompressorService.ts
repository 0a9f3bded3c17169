/**
 * The compressor (source region): turns S3 ObjectCreated events into batched, seekable
 * archives in the staging bucket. A message is deleted only after every batch holding one of
 * its records has been uploaded; a failure leaves its messages for redelivery and, after
 * maxReceiveCount, the dead-letter queue.
 */
import type { ReplicationRule } from '../../shared/config';
import type { ServiceLogger, ServiceMetrics } from '../../shared/observability';
import type { Queue, QueueMessage } from '../../shared/queue/port';
import { startVisibilityHeartbeat } from '../../shared/queue/visibilityHeartbeat';
import { parseS3Event } from '../../shared/storage/s3Event';
import type { ObjectStore } from '../../shared/storage/port';
import { BatchAccumulator, itemIdentity, type Batch } from './BatchAccumulator';
import { writeBatchArchive, type BatchArchiveResult } from './writeBatchArchive';

export interface CompressorServiceOptions {
  queue: Queue;
  source: ObjectStore;
  staging: ObjectStore;
  stagingBucket: string;
  /** Rules whose source is in this region. */
  rules: readonly ReplicationRule[];
  region: string;
  metrics: ServiceMetrics;
  logger: ServiceLogger;
  /** Visibility kept on held messages, extended every third of it (default 300 s). */
  visibilityTimeoutSeconds?: number;
  /** Long-poll wait (default 20 s). */
  waitSeconds?: number;
  /** Close open batches as soon as the queue is empty (the local appliance's drain mode). */
  flushWhenIdle?: boolean;
  now?: () => number;
}

export interface ArchivedBatch extends BatchArchiveResult {
  ruleSource: string;
  objects: number;
  durationMs: number;
}

/** How many recently archived object versions to remember for de-duplication. */
const RECENT_LIMIT = 50_000;

export class CompressorService {
  private readonly accumulator: BatchAccumulator;
  /** receipt handle → batches still holding one of its records */
  private readonly holders = new Map<string, Set<Batch>>();
  private readonly recent = new Set<string>();
  private readonly visibility: number;
  private readonly now: () => number;
  readonly archived: ArchivedBatch[] = [];
  failures = 0;

  constructor(private readonly opts: CompressorServiceOptions) {
    this.accumulator = new BatchAccumulator(opts.rules);
    this.visibility = opts.visibilityTimeoutSeconds ?? 300;
    this.now = opts.now ?? Date.now;
  }

  /** Runs until the signal aborts (ECS SIGTERM). Open batches are abandoned: their messages redeliver. */
  async run(signal: AbortSignal): Promise<void> {
    const stopHeartbeat = this.startHeartbeat();
    try {
      while (!signal.aborted) await this.step(this.opts.waitSeconds ?? 20);
    } finally {
      stopHeartbeat();
    }
  }

  /** Processes until the queue is empty and no batch is open; returns the batches archived. */
  async drain(): Promise<ArchivedBatch[]> {
    const stopHeartbeat = this.startHeartbeat();
    const start = this.archived.length;
    try {
      for (;;) {
        const received = await this.step(this.opts.waitSeconds ?? 1);
        if (received === 0 && this.accumulator.size === 0) break;
      }
    } finally {
      stopHeartbeat();
    }
    return this.archived.slice(start);
  }

  /** One receive + whatever batches became due; returns the number of messages received. */
  private async step(maxWait: number): Promise<number> {
    const untilDeadline = this.accumulator.msUntilNextDeadline(this.now());
    const wait = untilDeadline === undefined ? maxWait : Math.min(maxWait, Math.ceil(untilDeadline / 1000));
    const messages = await this.opts.queue.receive({ maxMessages: 10, waitSeconds: wait, visibilityTimeoutSeconds: this.visibility });
    const ack: string[] = [];
    for (const m of messages) if (this.accept(m)) ack.push(m.receiptHandle);
    if (ack.length) await this.opts.queue.deleteBatch(ack);

    const due = this.accumulator.takeDue(this.now());
    if (messages.length === 0 && this.opts.flushWhenIdle) due.push(...this.accumulator.takeAll());
    for (const batch of due) await this.process(batch);
    return messages.length;
  }

  /** Files a message's records into batches; true when it can be acknowledged right away. */
  private accept(message: QueueMessage): boolean {
    let records;
    try {
      records = parseS3Event(message.body);
    } catch (err) {
      // Left unacknowledged: after maxReceiveCount it moves to the dead-letter queue, where the alarm fires.
      this.opts.logger.error('malformed queue message', { messageId: message.id, receiveCount: message.receiveCount, error: (err as Error).message });
      this.opts.metrics.add('Failures', 'Count', 1, { reason: 'MalformedMessage' });
      return false;
    }
    if (records === 'test-event') return true;
    const held = new Set<Batch>();
    for (const record of records) {
      if (this.recent.has(itemIdentity(record))) continue;
      const { outcome, batch } = this.accumulator.add(record, message.receiptHandle, this.now());
      if (batch) held.add(batch);
      else if (outcome === 'outside-rule') this.opts.logger.debug('event outside every rule', { bucket: record.bucket, key: record.key });
    }
    if (held.size === 0) return true;
    const set = this.holders.get(message.receiptHandle) ?? new Set<Batch>();
    for (const b of held) set.add(b);
    this.holders.set(message.receiptHandle, set);
    return false;
  }

  private async process(batch: Batch): Promise<void> {
    const started = this.now();
    const { metrics, logger } = this.opts;
    try {
      const result = await writeBatchArchive(batch, {
        source: this.opts.source,
        staging: this.opts.staging,
        stagingBucket: this.opts.stagingBucket,
        region: this.opts.region,
        now: () => new Date(this.now()),
      });
      const objects = result.manifest?.objects.length ?? 0;
      const durationMs = this.now() - started;
      this.archived.push({ ...result, ruleSource: `${batch.rule.source.bucket}/${batch.rule.source.prefix_filter}`, objects, durationMs });
      metrics.add('ObjectsArchived', 'Count', objects);
      metrics.add('ObjectsSkipped', 'Count', result.skipped.length);
      metrics.add('BytesIn', 'Bytes', result.bytesIn);
      metrics.add('BytesOut', 'Bytes', result.bytesOut);
      if (result.bytesOut > 0) metrics.add('CompressionRatio', 'None', result.bytesIn / result.bytesOut);
      metrics.add('BatchDuration', 'Milliseconds', durationMs);
      metrics.flush();
      logger.info('batch archived', { archive: result.stagingKey, objects, skipped: result.skipped.length, bytesIn: result.bytesIn, bytesOut: result.bytesOut, durationMs });
      for (const item of batch.items) this.remember(itemIdentity(item));
      await this.release(batch, true);
    } catch (err) {
      this.failures++;
      const reason = (err as Error).name || 'Error';
      metrics.add('Failures', 'Count', 1, { reason });
      metrics.flush();
      logger.error('batch failed; its messages will be redelivered', { rule: batch.rule.source.bucket, objects: batch.items.length, error: (err as Error).message, reason });
      await this.release(batch, false);
    }
  }

  /** Drops the batch from its messages; deletes the ones no batch holds any more. */
  private async release(batch: Batch, succeeded: boolean): Promise<void> {
    const done: string[] = [];
    for (const receipt of batch.receipts) {
      const set = this.holders.get(receipt);
      if (!set) continue;
      if (!succeeded) {
        this.holders.delete(receipt); // stop extending: let it become visible again for a retry
        continue;
      }
      set.delete(batch);
      if (set.size === 0) {
        this.holders.delete(receipt);
        done.push(receipt);
      }
    }
    if (done.length) await this.opts.queue.deleteBatch(done);
  }

  private remember(id: string): void {
    if (this.recent.size >= RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string);
    this.recent.add(id);
  }

  private startHeartbeat(): () => void {
    return startVisibilityHeartbeat(this.opts.queue, () => this.holders.keys(), this.visibility, (err) =>
      this.opts.logger.warn('could not extend message visibility', { error: err.message }),
    );
  }
}
