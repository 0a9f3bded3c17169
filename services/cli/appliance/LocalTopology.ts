/**
 * The embedded default's layout on disk: one folder per AWS region holding that region's
 * buckets (source, staging, destinations, catalog), and persisted local queues wired to the
 * same notifications the CDK stacks configure on AWS.
 *
 *   <dataDir>/regions/<region>/<bucket>/<key>     objects (LocalObjectStore)
 *   <dataDir>/queues/<role>-<region>[-dlq]/       queue messages (LocalQueue)
 */
import { join } from 'node:path';
import { sourceRegions, stagingBucketName, targetRegions, type Config } from '../../../shared/config';
import { LocalQueue } from '../../../shared/queue';
import { LocalObjectStore } from '../../../shared/storage';

/** Dead-letter after this many deliveries, as the CDK queues do. */
const MAX_RECEIVE_COUNT = 5;

export class LocalTopology {
  private readonly stores = new Map<string, LocalObjectStore>();
  private readonly queues = new Map<string, { queue: LocalQueue; dlq: LocalQueue }>();

  constructor(
    readonly config: Config,
    readonly dataDir: string,
  ) {}

  /** Folder holding a region's buckets. */
  regionDir(region: string): string {
    return join(this.dataDir, 'regions', region);
  }

  /** The object store of one region. */
  store(region: string): LocalObjectStore {
    let s = this.stores.get(region);
    if (!s) {
      s = new LocalObjectStore({ root: this.regionDir(region), region });
      this.stores.set(region, s);
    }
    return s;
  }

  stagingBucket(region: string): string {
    return stagingBucketName(this.config.stack_name, 'local', region);
  }

  catalogBucket(region: string): string {
    return `${this.config.stack_name}-local-${region}-catalog`;
  }

  /** The compressor's (source regions) or router's (target regions) queue and its dead-letter queue. */
  queue(role: 'compressor' | 'router', region: string): { queue: LocalQueue; dlq: LocalQueue } {
    const id = `${role}-${region}`;
    let q = this.queues.get(id);
    if (!q) {
      const dlq = new LocalQueue({ name: `${id}-dlq`, dir: join(this.dataDir, 'queues', `${id}-dlq`) });
      const queue = new LocalQueue({
        name: id,
        dir: join(this.dataDir, 'queues', id),
        visibilityTimeoutSeconds: role === 'compressor' ? 300 : 600,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        deadLetterQueue: dlq,
      });
      q = { queue, dlq };
      this.queues.set(id, q);
    }
    return q;
  }

  /** True when a backup destination (and so a catalog) lives in the region. */
  hasBackupDestination(region: string): boolean {
    return this.config.replication_configuration.some((r) => r.destinations.some((d) => d.backup && d.region === region));
  }

  /** Creates every bucket and notification the pipeline needs (idempotent). */
  async init(): Promise<void> {
    for (const region of sourceRegions(this.config)) await this.store(region).ensureBucket(this.stagingBucket(region));
    for (const d of this.config.drive_sources) await this.store(d.target.region).ensureBucket(d.target.bucket);
    for (const rule of this.config.replication_configuration) {
      const { region, bucket, prefix_filter, suffix_filter } = rule.source;
      const store = this.store(region);
      await store.ensureBucket(bucket);
      await store.addNotificationRule({
        id: `${bucket}-${prefix_filter}`,
        bucket,
        prefix: prefix_filter,
        suffix: suffix_filter,
        events: ['s3:ObjectCreated:*'],
        queue: this.queue('compressor', region).queue,
      });
      for (const d of rule.destinations) await this.store(d.region).ensureBucket(d.bucket);
    }
    for (const region of targetRegions(this.config)) {
      const store = this.store(region);
      await store.ensureBucket(this.stagingBucket(region));
      if (this.hasBackupDestination(region)) await store.ensureBucket(this.catalogBucket(region));
      await store.addNotificationRule({
        id: 'staging-archives',
        bucket: this.stagingBucket(region),
        suffix: '.tar.zst',
        events: ['s3:ObjectCreated:*'],
        queue: this.queue('router', region).queue,
      });
    }
  }
}
