/**
 * The embedded default's rendering of the topology model (shared/topology) to the local
 * filesystem: one folder per AWS region holding that region's buckets (source, outbox, inbound
 * staging, destinations, catalog), and persisted local queues wired to the model's notifications,
 * exactly as the CDK stacks render the same model on AWS. No name is formatted here.
 *
 *   <dataDir>/regions/<region>/<bucket>/<key>     objects (LocalObjectStore)
 *   <dataDir>/queues/<queue name>[-dlq]/          queue messages (LocalQueue)
 *   <dataDir>/router-spool/<region>/              verified members waiting for their archive's commit (swept at start)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../shared/config';
import { LocalQueue } from '../../../shared/queue';
import { LocalObjectStore } from '../../../shared/storage';
import { buildTopology, regionPlan, stagingBucketName, type CompressorPlan, type QueuePlan, type RegionPlan, type RouterPlan, type Topology } from '../../../shared/topology';
import { BatchRecords } from '../../compressor/BatchRecords';

/** Dead-letter after this many deliveries, as the CDK queues do. */
const MAX_RECEIVE_COUNT = 5;
/** Visibility timeouts of the local queues (the CDK queues use the same). */
const VISIBILITY_SECONDS = { compressor: 300, router: 600 } as const;

export interface LocalQueuePair {
  queue: LocalQueue;
  dlq: LocalQueue;
}

export class LocalTopology {
  /** The deployment this data dir renders (account 'local'). */
  readonly model: Topology;
  private readonly stores = new Map<string, LocalObjectStore>();
  private readonly queues = new Map<string, LocalQueuePair>();

  constructor(
    readonly config: Config,
    readonly dataDir: string,
    /** fsync of object commits and queue files (the stores' and queues' default: on). */
    private readonly storeOptions: { fsync?: boolean } = {},
  ) {
    this.model = buildTopology(config, 'local');
  }

  /** Folder holding a region's buckets. */
  regionDir(region: string): string {
    return join(this.dataDir, 'regions', region);
  }

  /** The object store of one region. */
  store(region: string): LocalObjectStore {
    let s = this.stores.get(region);
    if (!s) {
      s = new LocalObjectStore({ root: this.regionDir(region), region, ...this.storeOptions });
      this.stores.set(region, s);
    }
    return s;
  }

  /** The model's plan of one region. */
  region(region: string): RegionPlan {
    return regionPlan(this.model, region);
  }

  /** Every region with a compressor (a rule reads a source bucket there). */
  get compressorPlans(): CompressorPlan[] {
    return this.model.regions.flatMap((r) => r.compressors);
  }

  /** Every region's router. */
  get routerPlans(): RouterPlan[] {
    return this.model.regions.flatMap((r) => (r.router ? [r.router] : []));
  }

  /** The inbound staging bucket of a target region. */
  stagingBucket(region: string): string {
    const router = this.region(region).router;
    if (!router) throw new Error(`region ${region} has no destination, so no inbound staging bucket`);
    return router.staging;
  }

  /** The outbox of a source region. */
  outboxBucket(region: string): string {
    const outbox = this.region(region).outbox;
    if (!outbox) throw new Error(`region ${region} has no rule source, so no outbox`);
    return outbox;
  }

  /** The catalog bucket of a region with a backup destination. */
  catalogBucket(region: string): string {
    const catalog = this.region(region).router?.catalog;
    if (!catalog) throw new Error(`region ${region} has no backup destination, so no catalog`);
    return catalog;
  }

  /** True when a backup destination (and so a catalog) lives in the region. */
  hasBackupDestination(region: string): boolean {
    return this.model.regions.some((r) => r.region === region && r.router?.catalog !== undefined);
  }

  /** A queue of the model and its dead-letter queue (opened once per process). */
  queue(plan: QueuePlan, role: keyof typeof VISIBILITY_SECONDS): LocalQueuePair {
    let q = this.queues.get(plan.name);
    if (!q) {
      const fsync = this.storeOptions.fsync;
      const dlq = new LocalQueue({ name: plan.deadLetter, dir: this.queueDir(plan.deadLetter), fsync });
      const queue = new LocalQueue({
        name: plan.name,
        dir: this.queueDir(plan.name),
        fsync,
        visibilityTimeoutSeconds: VISIBILITY_SECONDS[role],
        maxReceiveCount: MAX_RECEIVE_COUNT,
        deadLetterQueue: dlq,
      });
      q = { queue, dlq };
      this.queues.set(plan.name, q);
    }
    return q;
  }

  /** Every queue pair of the model, with what it serves. */
  allQueues(): { role: 'compressor' | 'router'; plan: QueuePlan; pair: LocalQueuePair }[] {
    return [
      ...this.compressorPlans.map((c) => ({ role: 'compressor' as const, plan: c.queue, pair: this.queue(c.queue, 'compressor') })),
      ...this.routerPlans.map((r) => ({ role: 'router' as const, plan: r.queue, pair: this.queue(r.queue, 'router') })),
    ];
  }

  private queueDir(name: string): string {
    return join(this.dataDir, 'queues', name);
  }

  /** Creates every bucket and notification the model names (idempotent). */
  async init(): Promise<void> {
    for (const region of this.model.regions) {
      const store = this.store(region.region);
      if (region.outbox) await store.ensureBucket(region.outbox);
      for (const d of region.driveSources) await store.ensureBucket(d.target.bucket);
      for (const c of region.compressors) {
        await store.ensureBucket(c.rule.source.bucket);
        const { queue } = this.queue(c.queue, 'compressor');
        await store.addNotificationRule({ id: c.queue.name, ...c.notification, events: ['s3:ObjectCreated:*'], queue });
      }
      const router = region.router;
      if (router) {
        await store.ensureBucket(router.staging);
        if (router.catalog) await store.ensureBucket(router.catalog);
        for (const rule of router.rules) for (const d of rule.destinations) if (d.region === region.region) await store.ensureBucket(d.bucket);
        const { queue } = this.queue(router.queue, 'router');
        for (const n of router.notifications) await store.addNotificationRule({ id: `${router.queue.name}:${n.prefix}`, ...n, events: ['s3:ObjectCreated:*'], queue });
      }
    }
    await this.migrateLegacyLayout();
  }

  /**
   * Data dirs written before the topology model kept one compressor queue per region
   * (`queues/compressor-<region>`) and wrote archives to the region's staging bucket. Their
   * unfinished work is handed to the new layout so an upgrade loses nothing: queued events go to
   * every compressor of the region (each drops keys outside its rule), and archives still in the
   * staging bucket of a region that is only a source go to its outbox, committed (a batch record each).
   */
  private async migrateLegacyLayout(): Promise<void> {
    for (const region of this.model.regions) {
      const legacy = join(this.dataDir, 'queues', `compressor-${region.region}`);
      if (existsSync(legacy) && region.compressors.length) {
        const old = new LocalQueue({ name: `compressor-${region.region}`, dir: legacy });
        for (;;) {
          const messages = await old.receive({ maxMessages: 10 });
          if (messages.length === 0) break;
          for (const m of messages) for (const c of region.compressors) await this.queue(c.queue, 'compressor').queue.send(m.body);
          await old.deleteBatch(messages.map((m) => m.receiptHandle));
        }
      }
      const legacyStaging = region.outbox && !region.router ? stagingBucketName(this.model.stackName, this.model.account, region.region) : undefined;
      if (legacyStaging && region.outbox && existsSync(join(this.regionDir(region.region), legacyStaging))) {
        const store = this.store(region.region);
        const records = new BatchRecords(store, region.outbox);
        for await (const o of store.list(legacyStaging)) {
          if (!o.key.endsWith('.tar.zst')) continue;
          const copied = await store.copy({ bucket: legacyStaging, key: o.key }, { bucket: region.outbox, key: o.key });
          // Committed: the earlier version acknowledged its events once it was uploaded, so no
          // redelivery will ever commit it, and the replicator moves committed archives only.
          const count = Number((await store.head(region.outbox, o.key)).metadata['xregion-object-count'] ?? 0);
          if (!(await records.read(o.key))) await records.write(o.key, count, copied.etag, []);
          await store.delete(legacyStaging, o.key);
        }
      }
    }
  }
}
