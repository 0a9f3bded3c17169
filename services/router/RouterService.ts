/**
 * The router (each target region): for every archive that lands in this region's staging
 * bucket, delivers it to every destination of its rule here, writes a delivery record per
 * destination, and only then deletes the staging copy and acknowledges. A corrupt or unsafe
 * archive is moved to `quarantine/` (the quarantine copy is its evidence) and acknowledged. An
 * archive missing from staging is acknowledged only when the records prove it was delivered;
 * otherwise it is an error (`ArchivesMissing`), never a success. Any other failure leaves the
 * message for retry and, eventually, the dead-letter queue.
 */
import type { Config, Destination, ReplicationRule } from '../../shared/config';
import type { ServiceLogger, ServiceMetrics } from '../../shared/observability';
import type { Queue } from '../../shared/queue/port';
import { classifyFailure } from '../../shared/queue/failures';
import { QueueConsumer, type HeldMessage, type Settlement } from '../../shared/queue/QueueConsumer';
import { headIfExists } from '../../shared/storage/jsonObject';
import type { ObjectStore } from '../../shared/storage/port';
import { parseS3Event, type S3EventRecord } from '../../shared/storage/s3Event';
import { QUARANTINE_PREFIX, ruleForArchive } from '../../shared/topology';
import { DeliveryRecords } from './DeliveryRecords';
import { routeArchive, type RouteResult } from './routeArchive';

export interface RouterServiceOptions {
  queue: Queue;
  staging: ObjectStore;
  stagingBucket: string;
  destinations: ObjectStore;
  catalog?: { store: ObjectStore; bucket: string };
  /** The config (or the slice of it) naming the rules with destinations in this region. */
  config: Config;
  region: string;
  metrics: ServiceMetrics;
  logger: ServiceLogger;
  visibilityTimeoutSeconds?: number;
  waitSeconds?: number;
  /** Where verified members wait until their archive's pass ends (routeArchive's spoolDir), and how many bytes may wait in files. */
  spoolDir?: string;
  spoolLimitBytes?: number;
}

export interface QuarantinedArchive {
  archiveKey: string;
  quarantineKey: string;
  reason: string;
}

/** Why an archive event could not be settled; counted and logged, the message left for retry. */
class ArchiveMissingError extends Error {
  constructor(readonly key: string, missing: string[]) {
    super(`archive s3 staging key ${key} is gone from staging, but no delivery record proves ${missing.join(', ')} received it`);
    this.name = 'ArchiveMissingError';
  }
}

export class RouterService {
  readonly routed: RouteResult[] = [];
  readonly quarantined: QuarantinedArchive[] = [];
  failures = 0;
  /** Archives found gone from staging without evidence of delivery (each counted once per delivery attempt). */
  missing = 0;
  private readonly consumer: QueueConsumer<S3EventRecord[] | 'test-event'>;
  private readonly records: DeliveryRecords;
  private readonly rules: ReplicationRule[];

  constructor(private readonly opts: RouterServiceOptions) {
    this.consumer = new QueueConsumer({
      queue: opts.queue,
      parse: parseS3Event,
      visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 600,
      logger: opts.logger,
      metrics: opts.metrics,
    });
    this.records = new DeliveryRecords(opts.staging, opts.stagingBucket);
    this.rules = opts.config.replication_configuration.filter((r) => r.destinations.some((d) => d.region === opts.region));
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) await this.step(this.opts.waitSeconds ?? 20);
    } finally {
      this.consumer.close();
    }
  }

  /** Processes until the queue has nothing visible; returns the archives routed in this call. */
  async drain(): Promise<RouteResult[]> {
    const start = this.routed.length;
    while ((await this.step(this.opts.waitSeconds ?? 1)) > 0);
    return this.routed.slice(start);
  }

  /** Messages whose receipt went stale while this router held them. */
  get staleReceipts(): number {
    return this.consumer.staleReceipts;
  }

  /** Malformed messages received (never acknowledged: they end in the dead-letter queue). */
  get malformedMessages(): number {
    return this.consumer.malformed;
  }

  private step(wait: number): Promise<number> {
    return this.consumer.poll(wait, (m) => this.handle(m));
  }

  /** Settles one message: 'ack' only when every archive in it is delivered (or quarantined) with evidence. */
  private async handle(m: HeldMessage<S3EventRecord[] | 'test-event'>): Promise<Settlement> {
    if (m.record === 'test-event') return 'ack';
    let ok = true;
    for (const r of m.record) {
      if (!r.eventName.startsWith('ObjectCreated:') || !r.key.endsWith('.tar.zst') || r.key.startsWith(QUARANTINE_PREFIX)) continue;
      if (m.signal.aborted) return 'retry';
      ok = (await this.routeOne(r, m.signal)) && ok;
    }
    return ok ? 'ack' : 'retry';
  }

  private async routeOne(record: S3EventRecord, signal: AbortSignal): Promise<boolean> {
    const { logger, metrics } = this.opts;
    const rule = ruleForArchive({ rules: this.rules }, record.key);
    const here = rule?.destinations.filter((d) => d.region === this.opts.region) ?? [];
    if (!rule || here.length === 0) {
      this.failures++;
      logger.error('archive matches no rule with a destination in this region', { key: record.key, region: this.opts.region });
      metrics.add('Failures', 'Count', 1, { reason: 'NoRule' });
      return false;
    }
    try {
      const staged = await headIfExists(this.opts.staging, this.opts.stagingBucket, record.key, { versionId: record.versionId });
      if (!staged) return await this.settleMissing(record, here);
      const pending: Destination[] = [];
      for (const d of here) {
        const rec = await this.records.read(record.key, d.bucket);
        if (!rec || rec.archiveEtag !== staged.etag || rec.archiveSize !== staged.size) pending.push(d);
      }
      const result = pending.length
        ? await routeArchive({ ...rule, destinations: pending }, record.key, record.versionId, {
            staging: this.opts.staging,
            stagingBucket: this.opts.stagingBucket,
            destinations: this.opts.destinations,
            catalog: this.opts.catalog,
            region: this.opts.region,
            allTargetBuckets: rule.destinations.map((d) => d.bucket),
            spoolDir: this.opts.spoolDir,
            spoolLimitBytes: this.opts.spoolLimitBytes,
            onDelivered: (d) =>
              this.records.write({ archive: record.key, archiveEtag: staged.etag, archiveSize: staged.size, region: this.opts.region, destination: d.bucket, mode: d.mode, objects: d.objectsWritten + d.objectsUnchanged, backupKey: d.backupKey, catalogKey: d.catalogKey }),
          })
        : undefined;
      // Another worker holds the message now: it will finish (every step above is idempotent).
      if (signal.aborted) return false;
      await this.opts.staging.delete(this.opts.stagingBucket, record.key, { versionId: record.versionId });
      if (result) {
        this.routed.push(result);
        for (const d of result.destinations) {
          metrics.add('ObjectsWritten', 'Count', d.objectsWritten, { destination: d.bucket });
          metrics.add('ObjectsUnchanged', 'Count', d.objectsUnchanged, { destination: d.bucket });
          metrics.add('BytesWritten', 'Bytes', d.bytesWritten, { destination: d.bucket });
        }
        metrics.add('ArchivesRouted', 'Count', 1);
        metrics.add('CatalogRows', 'Count', result.catalogRows);
        metrics.flush();
        logger.info('archive routed', { archive: record.key, objects: result.manifest.objects.length, destinations: result.destinations });
      } else logger.info('archive already delivered to every destination (delivery records); staging copy removed', { archive: record.key });
      return true;
    } catch (err) {
      if (classifyFailure(err) === 'permanent') return this.quarantine(record, err as Error);
      this.failures++;
      if (err instanceof ArchiveMissingError) {
        this.missing++;
        metrics.add('ArchivesMissing', 'Count', 1);
      } else metrics.add('Failures', 'Count', 1, { reason: (err as Error).name || 'Error' });
      metrics.flush();
      logger.error('routing failed; the message will be redelivered', { key: record.key, error: (err as Error).message });
      return false;
    }
  }

  /** An archive gone from staging is settled only by evidence: its quarantine copy, or a delivery record for every destination here. */
  private async settleMissing(record: S3EventRecord, here: readonly Destination[]): Promise<boolean> {
    if (await headIfExists(this.opts.staging, this.opts.stagingBucket, QUARANTINE_PREFIX + record.key)) {
      this.opts.logger.info('archive was quarantined by an earlier delivery; acknowledging', { key: record.key });
      return true;
    }
    const missing: string[] = [];
    for (const d of here) {
      const rec = await this.records.read(record.key, d.bucket);
      // Evidence for this very archive: a record of another upload at the same key proves nothing about it.
      if (!rec || (record.etag !== undefined && rec.archiveEtag !== record.etag)) missing.push(d.bucket);
    }
    if (missing.length) throw new ArchiveMissingError(record.key, missing);
    this.opts.logger.info('archive already delivered (delivery records) and removed from staging; acknowledging', { key: record.key });
    return true;
  }

  /** Moves a refused archive to quarantine/; false (retry) when even that fails. */
  private async quarantine(record: S3EventRecord, err: Error): Promise<boolean> {
    const quarantineKey = QUARANTINE_PREFIX + record.key;
    const { staging, stagingBucket, logger, metrics } = this.opts;
    try {
      await staging.copy({ bucket: stagingBucket, key: record.key, versionId: record.versionId }, { bucket: stagingBucket, key: quarantineKey }, {
        metadata: { 'xregion-quarantine-reason': encodeURIComponent(err.message.slice(0, 1024)) },
        replaceMetadata: true,
      });
      await staging.delete(stagingBucket, record.key, { versionId: record.versionId });
    } catch (qerr) {
      this.failures++;
      metrics.add('Failures', 'Count', 1, { reason: 'QuarantineFailed' });
      metrics.flush();
      logger.error('could not quarantine a refused archive; the message will be redelivered', { key: record.key, reason: err.message, error: (qerr as Error).message });
      return false;
    }
    this.quarantined.push({ archiveKey: record.key, quarantineKey, reason: err.message });
    metrics.add('ArchivesQuarantined', 'Count', 1);
    metrics.flush();
    logger.error('archive quarantined', { key: record.key, quarantineKey, reason: err.message });
    return true;
  }
}
