/**
 * The router (each target region): for every archive that lands in this region's staging
 * bucket, delivers it to every destination of its rule here, then deletes the staging copy and
 * acknowledges. A corrupt or unsafe archive is moved to `quarantine/` and acknowledged; any
 * other failure leaves the message for retry and, eventually, the dead-letter queue.
 */
import { ArchiveCorruptError, UnsafeMemberNameError } from '../../shared/archive';
import { ruleForStagingKey, type Config, type ReplicationRule } from '../../shared/config';
import type { ServiceLogger, ServiceMetrics } from '../../shared/observability';
import type { Queue, QueueMessage } from '../../shared/queue/port';
import { startVisibilityHeartbeat } from '../../shared/queue/visibilityHeartbeat';
import { NoSuchObjectError } from '../../shared/storage/errors';
import type { ObjectStore } from '../../shared/storage/port';
import { parseS3Event, type S3EventRecord } from '../../shared/storage/s3Event';
import { routeArchive, type RouteResult } from './routeArchive';

export const QUARANTINE_PREFIX = 'quarantine/';

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
}

export interface QuarantinedArchive {
  archiveKey: string;
  quarantineKey: string;
  reason: string;
}

export class RouterService {
  readonly routed: RouteResult[] = [];
  readonly quarantined: QuarantinedArchive[] = [];
  failures = 0;
  private readonly visibility: number;
  private readonly inflight = new Set<string>();

  constructor(private readonly opts: RouterServiceOptions) {
    this.visibility = opts.visibilityTimeoutSeconds ?? 600;
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const stopHeartbeat = this.startHeartbeat();
    try {
      while (!signal.aborted) await this.step(this.opts.waitSeconds ?? 20);
    } finally {
      stopHeartbeat();
    }
  }

  /** Processes until the queue has nothing visible; returns the archives routed in this call. */
  async drain(): Promise<RouteResult[]> {
    const start = this.routed.length;
    const stopHeartbeat = this.startHeartbeat();
    try {
      while ((await this.step(this.opts.waitSeconds ?? 1)) > 0);
    } finally {
      stopHeartbeat();
    }
    return this.routed.slice(start);
  }

  private async step(wait: number): Promise<number> {
    const messages = await this.opts.queue.receive({ maxMessages: 10, waitSeconds: wait, visibilityTimeoutSeconds: this.visibility });
    for (const m of messages) {
      this.inflight.add(m.receiptHandle);
      try {
        if (await this.handle(m)) await this.opts.queue.deleteBatch([m.receiptHandle]);
      } finally {
        this.inflight.delete(m.receiptHandle);
      }
    }
    return messages.length;
  }

  /** True when the message is fully handled and can be acknowledged. */
  private async handle(message: QueueMessage): Promise<boolean> {
    let records: S3EventRecord[] | 'test-event';
    try {
      records = parseS3Event(message.body);
    } catch (err) {
      this.opts.logger.error('malformed queue message', { messageId: message.id, receiveCount: message.receiveCount, error: (err as Error).message });
      this.opts.metrics.add('Failures', 'Count', 1, { reason: 'MalformedMessage' });
      return false;
    }
    if (records === 'test-event') return true;
    let ok = true;
    for (const r of records) {
      if (!r.eventName.startsWith('ObjectCreated:') || !r.key.endsWith('.tar.zst') || r.key.startsWith(QUARANTINE_PREFIX)) continue;
      ok = (await this.routeOne(r)) && ok;
    }
    return ok;
  }

  private async routeOne(record: S3EventRecord): Promise<boolean> {
    const { logger, metrics } = this.opts;
    const rule = ruleForStagingKey(this.opts.config, record.key);
    const here = rule && this.destinationsHere(rule);
    if (!rule || !here) {
      logger.error('archive matches no rule with a destination in this region', { key: record.key, region: this.opts.region });
      metrics.add('Failures', 'Count', 1, { reason: 'NoRule' });
      return false;
    }
    try {
      const result = await routeArchive(here, record.key, record.versionId, {
        staging: this.opts.staging,
        stagingBucket: this.opts.stagingBucket,
        destinations: this.opts.destinations,
        catalog: this.opts.catalog,
        region: this.opts.region,
        allTargetBuckets: rule.destinations.map((d) => d.bucket),
      });
      await this.opts.staging.delete(this.opts.stagingBucket, record.key, { versionId: record.versionId });
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
      return true;
    } catch (err) {
      if (err instanceof NoSuchObjectError && err.key === record.key) {
        // Already routed and deleted by an earlier delivery of this message.
        logger.info('archive already gone from staging; acknowledging', { key: record.key });
        return true;
      }
      if (err instanceof ArchiveCorruptError || err instanceof UnsafeMemberNameError) {
        await this.quarantine(record, err);
        return true;
      }
      this.failures++;
      metrics.add('Failures', 'Count', 1, { reason: (err as Error).name || 'Error' });
      metrics.flush();
      logger.error('routing failed; the message will be redelivered', { key: record.key, error: (err as Error).message });
      return false;
    }
  }

  /** The rule with only the destinations in this region, or undefined when none are here. */
  private destinationsHere(rule: ReplicationRule): ReplicationRule | undefined {
    const destinations = rule.destinations.filter((d) => d.region === this.opts.region);
    return destinations.length ? { ...rule, destinations } : undefined;
  }

  private async quarantine(record: S3EventRecord, err: Error): Promise<void> {
    const quarantineKey = QUARANTINE_PREFIX + record.key;
    const { staging, stagingBucket, logger, metrics } = this.opts;
    await staging.copy({ bucket: stagingBucket, key: record.key, versionId: record.versionId }, { bucket: stagingBucket, key: quarantineKey }, {
      metadata: { 'xregion-quarantine-reason': encodeURIComponent(err.message.slice(0, 1024)) },
      replaceMetadata: true,
    });
    await staging.delete(stagingBucket, record.key, { versionId: record.versionId });
    this.quarantined.push({ archiveKey: record.key, quarantineKey, reason: err.message });
    metrics.add('ArchivesQuarantined', 'Count', 1);
    metrics.flush();
    logger.error('archive quarantined', { key: record.key, quarantineKey, reason: err.message });
  }

  private startHeartbeat(): () => void {
    return startVisibilityHeartbeat(this.opts.queue, () => this.inflight, this.visibility, (err) =>
      this.opts.logger.warn('could not extend message visibility', { error: err.message }),
    );
  }
}
