/**
 * The pipeline on moto over HTTP: a real S3 → SQS notification on the source bucket, the
 * compressor, a copy of each staging archive to the target regions' staging buckets (moto does
 * not replicate; each copy fires moto's real notification to the router queue), the routers.
 */
import { randomBytes } from 'node:crypto';
import { ListObjectVersionsCommand, PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { CompressorService } from '../../services/compressor/CompressorService';
import { RouterService } from '../../services/router/RouterService';
import type { Config } from '../../shared/config';
import { createLogger, InMemoryMetrics } from '../../shared/observability';
import type { Queue } from '../../shared/queue';
import type { ObjectStore } from '../../shared/storage';
import { buildS3Event } from '../../shared/storage/s3Event';
import { startFaultProxy, type FaultProxy } from '../helpers/faultProxy';
import { useMoto, type MotoServer } from '../helpers/moto';
import { BACKUP, NORMAL, PREFIX, SOURCE, TEST_OBJECTS, assertDelivered, catalogRowsIn, putTestObjects, testConfig } from './fixtures';

const moto = useMoto();
const silent = createLogger('test', process.env.RIG_LOG ? 'INFO' : 'SILENT');

interface Rig {
  config: Config;
  store: ObjectStore;
  compressorQueue: Queue;
  routerQueues: Record<string, Queue>;
  staging: Record<string, string>;
  catalogBucket: string;
  compressor: (queue?: Queue, store?: ObjectStore, maxObjects?: number) => CompressorService;
  router: (region: string) => RouterService;
  /** Stand-in for S3 replication: copy every source staging archive to each target staging bucket. */
  replicate: () => Promise<number>;
}

async function notify(server: MotoServer, bucket: string, queueArn: string, filter: { prefix?: string; suffix?: string }): Promise<void> {
  const rules = [
    ...(filter.prefix ? [{ Name: 'prefix' as const, Value: filter.prefix }] : []),
    ...(filter.suffix ? [{ Name: 'suffix' as const, Value: filter.suffix }] : []),
  ];
  const s3 = server.s3Client();
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: { QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: rules } } }] },
    }),
  );
  s3.destroy();
}

/** Buckets, queues and notifications as the CDK stacks would create them, on one moto server. */
async function rig(server: MotoServer, endpoint?: string): Promise<Rig> {
  await server.reset();
  const config = testConfig({ maxObjects: 10 });
  const store = server.s3Store({ endpoint });
  const staging: Record<string, string> = { [SOURCE.region]: 'staging-src', [BACKUP.region]: 'staging-eu', [NORMAL.region]: 'staging-ca' };
  for (const b of [SOURCE.bucket, BACKUP.bucket, NORMAL.bucket, 'catalog-eu', ...Object.values(staging)]) await server.createBucket(b);
  const cq = await server.createQueue('compressor', { visibilityTimeoutSeconds: 30, deadLetter: { maxReceiveCount: 5 } });
  await notify(server, SOURCE.bucket, cq.queueArn, { prefix: PREFIX });
  const routerQueues: Record<string, Queue> = {};
  for (const region of [BACKUP.region, NORMAL.region]) {
    const q = await server.createQueue(`router-${region}`, { visibilityTimeoutSeconds: 30, deadLetter: { maxReceiveCount: 5 } });
    await notify(server, staging[region], q.queueArn, { suffix: '.tar.zst' });
    routerQueues[region] = server.sqsQueue(q.queueUrl, endpoint);
  }
  const compressorQueue = server.sqsQueue(cq.queueUrl, endpoint);
  const metrics = new InMemoryMetrics();
  const replicated = new Set<string>();
  return {
    config,
    store,
    compressorQueue,
    routerQueues,
    staging,
    catalogBucket: 'catalog-eu',
    compressor: (queue = compressorQueue, outbox = store, maxObjects?: number) =>
      new CompressorService({
        queue,
        source: store,
        staging: outbox,
        stagingBucket: staging[SOURCE.region],
        rules: maxObjects ? testConfig({ maxObjects }).replication_configuration : config.replication_configuration,
        region: SOURCE.region,
        metrics,
        logger: silent,
        waitSeconds: 1,
        flushWhenIdle: true,
        visibilityTimeoutSeconds: 2,
      }),
    router: (region) =>
      new RouterService({
        queue: routerQueues[region],
        staging: store,
        stagingBucket: staging[region],
        destinations: store,
        catalog: region === BACKUP.region ? { store, bucket: 'catalog-eu' } : undefined,
        config,
        region,
        metrics,
        logger: silent,
        waitSeconds: 1,
      }),
    replicate: async () => {
      // As S3 replication: each new archive once, at once (committed or not), left in the outbox for its lifecycle rule.
      let n = 0;
      for await (const o of store.list(staging[SOURCE.region])) {
        if (o.key.startsWith('_xregion/') || replicated.has(`${o.key} ${o.etag}`)) continue; // records: outside every replication rule's prefix
        for (const region of [BACKUP.region, NORMAL.region]) await store.copy({ bucket: staging[SOURCE.region], key: o.key }, { bucket: staging[region], key: o.key });
        replicated.add(`${o.key} ${o.etag}`);
        n++;
      }
      return n;
    },
  };
}

/** A rig with the test objects in its source and a view of its compressor queue that cannot acknowledge (a process that dies before deleting its messages). */
async function crashingRig(server: MotoServer): Promise<{ r: Rig; crashing: Queue }> {
  const r = await rig(server);
  await r.compressor().drain(); // consumes moto's s3:TestEvent
  await putTestObjects(r.store, SOURCE.bucket);
  const crashing: Queue = Object.create(r.compressorQueue, {
    deleteBatch: { value: async (handles: string[]) => (handles.length ? Promise.reject(new Error('simulated crash before acknowledgement')) : undefined) },
  });
  return { r, crashing };
}

function where(r: Rig) {
  return { normal: { store: r.store, bucket: NORMAL.bucket }, backup: { store: r.store, bucket: BACKUP.bucket }, catalog: { store: r.store, bucket: r.catalogBucket } };
}

async function versionsPerKey(server: MotoServer, bucket: string): Promise<Map<string, number>> {
  const s3 = server.s3Client();
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
  s3.destroy();
  const counts = new Map<string, number>();
  for (const v of out.Versions ?? []) counts.set(v.Key!, (counts.get(v.Key!) ?? 0) + 1);
  return counts;
}

async function routeAll(r: Rig): Promise<RouterService[]> {
  const routers = [r.router(BACKUP.region), r.router(NORMAL.region)];
  for (const router of routers) await router.drain();
  return routers;
}

describe('Pipeline on moto (S3 + SQS over HTTP)', () => {
  it('delivers every object through real notifications to both destinations', async () => {
    // Prepare
    const r = await rig(moto());
    await putTestObjects(r.store, SOURCE.bucket);
    // Act
    const batches = await r.compressor().drain();
    const replicated = await r.replicate();
    const routers = await routeAll(r);
    // Assess
    expect(batches.reduce((n, b) => n + b.objects, 0)).toBe(TEST_OBJECTS.length);
    expect(replicated).toBe(batches.length);
    expect(routers.map((x) => x.quarantined.length)).toEqual([0, 0]);
    await assertDelivered(where(r));
    expect(await r.compressorQueue.approximateDepth()).toBe(0);
  });

  it('after a crash between upload and acknowledgement, each object lands once (no extra versions, no duplicate rows)', async () => {
    // Prepare: the first compressor uploads, then dies before deleting its messages.
    const server = moto();
    const { r, crashing } = await crashingRig(server);
    const first = await r.compressor(crashing).drain();
    // Act: a fresh compressor gets the redelivered messages (visibility 2 s); the batch records show they were uploaded.
    await new Promise((res) => setTimeout(res, 2500));
    const second = await r.compressor().drain();
    await r.replicate();
    await routeAll(r);
    // Assess: nothing archived twice, so the backup destination holds each object in exactly one archive.
    expect(first.reduce((n, b) => n + b.objects, 0)).toBe(TEST_OBJECTS.length);
    expect(second.reduce((n, b) => n + b.objects, 0)).toBe(0); // recognised from the batch records
    expect(await r.compressorQueue.approximateDepth()).toBe(0);
    const archives: string[] = [];
    for await (const o of r.store.list(BACKUP.bucket)) archives.push(o.key);
    expect(archives.sort()).toEqual(first.map((b) => b.stagingKey!.slice(SOURCE.bucket.length + 1)).sort());
    await assertDelivered(where(r));
    const versions = await versionsPerKey(server, NORMAL.bucket);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
    expect(versions.size).toBe(TEST_OBJECTS.length);
    const pairs = (await catalogRowsIn({ store: r.store, bucket: r.catalogBucket })).map((x) => `${x.backup_file} ${x.object_path}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('after a crash between upload and batch record, a restart batching otherwise archives nothing again (the intent and the outbox archive show it)', async () => {
    // Prepare: the first compressor uploads and reads back its archives, then dies before each batch record and before acknowledging; S3 replicates and the routers deliver them meanwhile.
    const server = moto();
    const { r, crashing } = await crashingRig(server);
    const noRecords: ObjectStore = Object.create(r.store, {
      put: {
        value: (bucket: string, key: string, ...rest: Parameters<ObjectStore['put']> extends [string, string, ...infer R] ? R : never) =>
          key.startsWith('_xregion/batches/') && !key.endsWith('.intent.json') ? Promise.reject(new Error('simulated crash before the batch record')) : r.store.put(bucket, key, ...rest),
      },
    });
    const first = await r.compressor(crashing, noRecords).drain();
    expect(first).toEqual([]); // every batch failed at its record
    expect(await r.replicate()).toBeGreaterThan(0);
    await routeAll(r);
    const delivered: string[] = [];
    for await (const o of r.store.list(BACKUP.bucket)) delivered.push(o.key);
    // Act: the redelivered messages (visibility 2 s) reach a compressor that batches by 3.
    await new Promise((res) => setTimeout(res, 2500));
    const second = await r.compressor(undefined, undefined, 3).drain();
    await r.replicate();
    await routeAll(r);
    // Assess: nothing archived twice; the backup destination holds exactly the first archives.
    expect(second.reduce((n, b) => n + b.objects, 0)).toBe(0);
    expect(await r.compressorQueue.approximateDepth()).toBe(0);
    const archives: string[] = [];
    for await (const o of r.store.list(BACKUP.bucket)) archives.push(o.key);
    expect(archives.sort()).toEqual(delivered.sort());
    await assertDelivered(where(r));
    const pairs = (await catalogRowsIn({ store: r.store, bucket: r.catalogBucket })).map((x) => `${x.backup_file} ${x.object_path}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });

  it('a redelivered archive above the multipart threshold adds no version at the backup destination (catalog write failed once)', async () => {
    // Prepare: one incompressible 21 MB object, so the archive is a multipart upload without a recorded sha256.
    const server = moto();
    const r = await rig(server);
    await r.compressor().drain(); // moto's s3:TestEvent
    await r.store.put(SOURCE.bucket, `${PREFIX}big/random.bin`, randomBytes(21 * 1024 * 1024));
    const [batch] = await r.compressor().drain();
    expect(batch?.bytesOut).toBeGreaterThan(16 * 1024 * 1024);
    await r.replicate();
    let failures = 1;
    const flakyCatalog: ObjectStore = Object.create(r.store, {
      put: { value: (...args: Parameters<ObjectStore['put']>) => (failures-- > 0 ? Promise.reject(new Error('simulated catalog write failure')) : r.store.put(...args)) },
    });
    const router = () =>
      new RouterService({
        queue: r.routerQueues[BACKUP.region]!,
        staging: r.store,
        stagingBucket: r.staging[BACKUP.region]!,
        destinations: r.store,
        catalog: { store: flakyCatalog, bucket: r.catalogBucket },
        config: r.config,
        region: BACKUP.region,
        metrics: new InMemoryMetrics(),
        logger: silent,
        waitSeconds: 1,
        visibilityTimeoutSeconds: 1,
      });
    // Act: the first delivery copies the archive, then fails on the catalog; the redelivery finishes it.
    const first = router();
    await first.drain();
    expect(first.failures).toBe(1);
    await new Promise((res) => setTimeout(res, 1500));
    const second = router();
    await second.drain();
    // Assess
    expect(second.failures).toBe(0);
    expect(second.routed).toHaveLength(1);
    expect(second.routed[0]!.destinations[0]).toMatchObject({ bucket: BACKUP.bucket, objectsWritten: 0, bytesWritten: 0 });
    const versions = await versionsPerKey(server, BACKUP.bucket);
    expect([...versions.entries()]).toEqual([[`${PREFIX}${batch!.manifest!.archive}`, 1]]);
    expect(await catalogRowsIn({ store: r.store, bucket: r.catalogBucket })).toHaveLength(1);
  }, 60_000);

  it('archives only the newest version when two versions of one key fall in one batch (a versioned source)', async () => {
    // Prepare: the same key written twice before the batch closes
    const server = moto();
    const r = await rig(server);
    const key = `${PREFIX}edited twice.txt`;
    // Both within one second (S3's time resolution), so only the events' sequencers order them.
    const v1 = await r.store.put(SOURCE.bucket, key, Buffer.from('first draft'));
    const v2 = await r.store.put(SOURCE.bucket, key, Buffer.from('final text'));
    // The events S3 sends for a versioned bucket name each version (moto's omit versionId): sent as S3
    // would, the newer one first (SQS does not keep order).
    const q = await server.createQueue('versions', { visibilityTimeoutSeconds: 30 });
    const queue = server.sqsQueue(q.queueUrl, server.endpoint);
    const record = (v: typeof v1, sequencer: string) => ({ eventName: 'ObjectCreated:Put', awsRegion: SOURCE.region, bucket: SOURCE.bucket, key, size: v.size, etag: v.etag, versionId: v.versionId, sequencer });
    await queue.send(buildS3Event([record(v2, '0062E3A9F1B27C8A02'), record(v1, '0062E3A9F1B27C8A01')]));
    // Act
    const batches = await r.compressor(queue).drain();
    await r.replicate();
    const routers = await routeAll(r);
    // Assess: one archive, the newest version in it, the older one listed as superseded
    expect(batches.map((b) => b.objects)).toEqual([1]);
    expect(batches[0]!.skipped).toEqual([{ key, reason: expect.stringMatching(/^Superseded/) }]);
    expect(routers.map((x) => x.failures)).toEqual([0, 0]);
    const { body } = await r.store.get(NORMAL.bucket, key);
    expect(Buffer.concat(await body.toArray()).toString()).toBe('final text');
  }, 60_000);

  it('an archive gone from staging without delivery records is an error (ArchivesMissing), not a success', async () => {
    // Prepare: an archive lands in staging, then is deleted behind the router's back.
    const r = await rig(moto());
    await putTestObjects(r.store, SOURCE.bucket, TEST_OBJECTS.slice(0, 3));
    await r.compressor().drain();
    await r.replicate();
    for await (const o of r.store.list(r.staging[NORMAL.region]!)) await r.store.delete(r.staging[NORMAL.region]!, o.key);
    // Act
    const router = r.router(NORMAL.region);
    await router.drain();
    // Assess: nothing acknowledged, counted as missing
    expect(router.missing).toBeGreaterThanOrEqual(1);
    expect(router.failures).toBeGreaterThanOrEqual(1);
    expect(router.routed).toEqual([]);
  }, 60_000);

  describe('with S3 answering 503 SlowDown for a while', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(moto().endpoint);
    });
    afterAll(async () => proxy.close());

    it('retries and loses nothing', async () => {
      // Prepare
      const r = await rig(moto(), proxy.endpoint);
      await putTestObjects(r.store, SOURCE.bucket, TEST_OBJECTS.slice(0, 6));
            // Act: the next requests of each stage are answered 503 SlowDown (the SDK backs off exponentially).
      proxy.failNext(3);
      await r.compressor().drain();
      await r.replicate();
      proxy.failNext(3);
      await routeAll(r);
      // Assess
      expect(proxy.faultsServed).toBe(6);
      await assertDelivered({ ...where(r), objects: TEST_OBJECTS.slice(0, 6) });
    });
  });
});
