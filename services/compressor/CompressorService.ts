/**
 * The compressor (source region): turns S3 ObjectCreated events into batched, seekable
 * archives in the outbox. A message is held (heartbeated by the QueueConsumer) until every batch
 * holding one of its records has been uploaded, then deleted; a failure leaves its messages for
 * redelivery and, after maxReceiveCount, the dead-letter queue. A batch one of whose messages was
 * lost to another worker (stale receipt) is abandoned: its messages redeliver.
 */
import { keyMatchesRule, type ReplicationRule } from '../../shared/config';
import { batchSavings } from '../../shared/cost/batchSavings';
import type { ServiceLogger, ServiceMetrics } from '../../shared/observability';
import type { Queue } from '../../shared/queue/port';
import { QueueConsumer, type HeldMessage, type Settlement } from '../../shared/queue/QueueConsumer';
import { parseS3Event, type S3EventRecord } from '../../shared/storage/s3Event';
import type { ObjectStore } from '../../shared/storage/port';
import { stagingPrefix } from '../../shared/topology';
import { BatchAccumulator, itemIdentity, type Batch } from './BatchAccumulator';
import { BatchRecords } from './BatchRecords';
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
  private readonly consumer: QueueConsumer<S3EventRecord[] | 'test-event'>;
  /** receipt handle → its message's abort signal (aborted when the receipt went stale) */
  private readonly signals = new Map<string, AbortSignal>();
  private readonly now: () => number;
  private readonly batchRecords: BatchRecords;
  readonly archived: ArchivedBatch[] = [];
  failures = 0;

  constructor(private readonly opts: CompressorServiceOptions) {
    this.accumulator = new BatchAccumulator(opts.rules);
    this.consumer = new QueueConsumer({
      queue: opts.queue,
      parse: parseS3Event,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 300,
      logger: opts.logger,
      metrics: opts.metrics,
    });
    this.now = opts.now ?? Date.now;
    this.batchRecords = new BatchRecords(opts.staging, opts.stagingBucket);
  }

  /** Runs until the signal aborts (ECS SIGTERM). Open batches are abandoned: their messages redeliver. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) await this.step(this.opts.waitSeconds ?? 20);
    } finally {
      this.consumer.close();
    }
  }

  /** Processes until the queue is empty and no batch is open; returns the batches archived. */
  async drain(): Promise<ArchivedBatch[]> {
    const start = this.archived.length;
    for (;;) {
      const received = await this.step(this.opts.waitSeconds ?? 1);
      if (received === 0 && this.accumulator.size === 0) break;
    }
    return this.archived.slice(start);
  }

  /** Messages whose receipt went stale while this compressor held them. */
  get staleReceipts(): number {
    return this.consumer.staleReceipts;
  }

  /** Malformed messages received (never acknowledged: they end in the dead-letter queue). */
  get malformedMessages(): number {
    return this.consumer.malformed;
  }

  /** One receive + whatever batches became due; returns the number of messages received. */
  private async step(maxWait: number): Promise<number> {
    const untilDeadline = this.accumulator.msUntilNextDeadline(this.now());
    const wait = untilDeadline === undefined ? maxWait : Math.min(maxWait, Math.ceil(untilDeadline / 1000));
    const received = await this.consumer.poll(wait, (m) => this.accept(m));

    const due = this.accumulator.takeDue(this.now());
    if (received === 0 && this.opts.flushWhenIdle) due.push(...this.accumulator.takeAll());
    for (const batch of due) await this.process(batch);
    return received;
  }

  /** Files a message's records into batches: 'ack' when nothing of it is left to archive, else 'hold' until its batches are uploaded. */
  private async accept(message: HeldMessage<S3EventRecord[] | 'test-event'>): Promise<Settlement> {
    const records = message.record;
    if (records === 'test-event') return 'ack';
    const receipt = message.message.receiptHandle;
    // A redelivery: an earlier holder may have archived these items and died before acknowledging.
    const archived = message.message.receiveCount > 1 ? await this.archivedBefore(records) : new Set<string>();
    const held = new Set<Batch>();
    for (const record of records) {
      if (this.recent.has(itemIdentity(record)) || archived.has(itemIdentity(record))) continue;
      const { outcome, batch } = this.accumulator.add(record, receipt, this.now());
      if (batch) held.add(batch);
      else if (outcome === 'outside-rule') this.opts.logger.debug('event outside every rule', { bucket: record.bucket, key: record.key });
    }
    if (held.size === 0) return 'ack';
    const set = this.holders.get(receipt) ?? new Set<Batch>();
    for (const b of held) set.add(b);
    this.holders.set(receipt, set);
    this.signals.set(receipt, message.signal);
    return 'hold';
  }

  private async process(batch: Batch): Promise<void> {
    const started = this.now();
    const { metrics, logger } = this.opts;
    // A message of this batch went to another worker: it will archive the batch's objects again, so this copy is abandoned.
    const signals = [...batch.receipts].map((r) => this.signals.get(r)).filter((x): x is AbortSignal => x !== undefined);
    const lost = signals.some((x) => x.aborted) || [...batch.receipts].some((r) => !this.consumer.holds(r));
    if (lost) {
      logger.warn('batch abandoned: one of its messages was lost to another worker', { rule: batch.rule.source.bucket, objects: batch.items.length });
      await this.release(batch, false);
      return;
    }
    try {
      const result = await writeBatchArchive(batch, {
        signal: AbortSignal.any(signals),
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
      // The batch's cost line (shared/cost): inter-region transfer saved in every target region vs the task time spent.
      const saved = batchSavings(batch.rule, result.bytesIn, result.bytesOut, durationMs);
      metrics.add('TransferBytesSaved', 'Bytes', saved.transferBytesSaved);
      metrics.add('TransferDollarsSaved', 'None', saved.transferDollarsSaved);
      metrics.add('TaskSeconds', 'None', saved.taskSeconds);
      metrics.add('TaskDollars', 'None', saved.taskDollars);
      metrics.flush();
      if (result.alreadyUploaded) logger.info('batch was uploaded before (batch record): acknowledging its messages', { archive: result.stagingKey });
      else logger.info('batch archived', { archive: result.stagingKey, objects, skipped: result.skipped.length, bytesIn: result.bytesIn, bytesOut: result.bytesOut, durationMs });
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

  /** Drops the batch from its messages; acknowledges the ones no batch holds any more, or (on failure) lets them redeliver. */
  private async release(batch: Batch, succeeded: boolean): Promise<void> {
    const done: string[] = [];
    for (const receipt of batch.receipts) {
      const set = this.holders.get(receipt);
      if (!set) continue;
      if (!succeeded) {
        this.forget(receipt);
        this.consumer.release(receipt); // stop extending: let it become visible again for a retry
        continue;
      }
      set.delete(batch);
      if (set.size === 0) {
        this.forget(receipt);
        done.push(receipt);
      }
    }
    await this.consumer.ack(done);
  }

  /** Identities of these event items that a batch record shows archived already. */
  private async archivedBefore(records: S3EventRecord[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const rule of this.opts.rules) {
      const mine = records.filter((r) => r.bucket === rule.source.bucket && keyMatchesRule(rule, r.key));
      if (mine.length === 0) continue;
      const since = Math.min(...mine.map((r) => Date.parse(r.eventTime)).map((t) => (Number.isFinite(t) ? t : 0)));
      for (const id of await this.batchRecords.archivedItems(stagingPrefix(rule), since)) out.add(id);
    }
    if (out.size) this.opts.logger.info('redelivered events already archived by an earlier delivery: acknowledged without archiving again', { items: out.size });
    return out;
  }

  private forget(receipt: string): void {
    this.holders.delete(receipt);
    this.signals.delete(receipt);
  }

  private remember(id: string): void {
    if (this.recent.size >= RECENT_LIMIT) this.recent.delete(this.recent.values().next().value as string);
    this.recent.add(id);
  }
}
