import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchAccumulator } from '../../services/compressor/BatchAccumulator';
import { CompressorService } from '../../services/compressor/CompressorService';
import { parseConfig } from '../../shared/config';
import { createLogger, InMemoryMetrics } from '../../shared/observability';
import { LocalQueue } from '../../shared/queue';
import { LocalObjectStore, type S3EventRecord } from '../../shared/storage';
import { PREFIX, SOURCE, TEST_OBJECTS, putTestObjects, testConfig } from '../pipeline/fixtures';

const rec = (key: string, size = 10, etag = `e-${key}`, eventName = 'ObjectCreated:Put'): S3EventRecord => ({ eventName, eventTime: '', awsRegion: 'us-west-2', bucket: 'src-bucket', key, size, etag });

function rules(batch: { max_objects?: number; max_bytes?: number; max_wait_seconds?: number }) {
  return parseConfig({
    replication_configuration: [
      { source: { region: 'us-west-2', bucket: 'src-bucket', prefix_filter: 'data/', suffix_filter: '.txt', batch }, destinations: [{ region: 'eu-central-1', bucket: 'dst-bucket' }] },
    ],
  }).config.replication_configuration;
}

/** A local source bucket notifying a queue, a staging bucket, and a compressor over them. */
async function sourceWithQueue() {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-compressor-'));
  const queue = new LocalQueue({ name: 'q' });
  const store = new LocalObjectStore({ root: dir, region: SOURCE.region });
  await store.ensureBucket(SOURCE.bucket);
  await store.ensureBucket('staging');
  await store.addNotificationRule({ bucket: SOURCE.bucket, prefix: PREFIX, events: ['s3:ObjectCreated:*'], queue });
  const service = () =>
    new CompressorService({
      queue, source: store, staging: store, stagingBucket: 'staging', rules: testConfig().replication_configuration, region: SOURCE.region,
      metrics: new InMemoryMetrics(), logger: createLogger('test', 'SILENT'), waitSeconds: 0.2, flushWhenIdle: true,
    });
  return { queue, store, service, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

describe('Class: BatchAccumulator', () => {
  describe('Method: add', () => {
    it('drops keys outside the rule and non-create events', () => {
      const acc = new BatchAccumulator(rules({}));
      expect(acc.add(rec('other/a.txt'), 'r1', 0).outcome).toBe('outside-rule');
      expect(acc.add(rec('data/a.pdf'), 'r1', 0).outcome).toBe('outside-rule');
      expect(acc.add(rec('data/a.txt', 1, 'e', 'ObjectRemoved:Delete'), 'r1', 0).outcome).toBe('not-created');
      expect(acc.size).toBe(0);
    });

    it('never batches xregion\'s own _xregion/ state, even under an empty prefix', () => {
      const acc = new BatchAccumulator(
        parseConfig({ replication_configuration: [{ source: { region: 'us-west-2', bucket: 'src-bucket' }, destinations: [{ region: 'eu-central-1', bucket: 'dst-bucket' }] }] }).config.replication_configuration,
      );
      expect(acc.add(rec('_xregion/state/acme/a@acme.example.json'), 'r1', 0).outcome).toBe('outside-rule');
      expect(acc.add(rec('docs/a.txt'), 'r2', 0).outcome).toBe('added');
    });

    it('de-duplicates events for the same key and ETag but keeps both receipts', () => {
      const acc = new BatchAccumulator(rules({}));
      expect(acc.add(rec('data/a.txt', 10, 'x'), 'r1', 0).outcome).toBe('added');
      expect(acc.add(rec('data/a.txt', 10, 'x'), 'r2', 0).outcome).toBe('duplicate');
      expect(acc.add(rec('data/a.txt', 12, 'y'), 'r3', 0).outcome).toBe('added'); // a new version of the object
      const [batch] = acc.takeAll();
      expect(batch.items.map((i) => i.etag)).toEqual(['x', 'y']);
      expect([...batch.receipts]).toEqual(['r1', 'r2', 'r3']);
    });
  });

  describe('Method: takeDue', () => {
    it('closes a batch exactly at max_objects, never above', () => {
      const acc = new BatchAccumulator(rules({ max_objects: 3 }));
      for (let i = 0; i < 7; i++) acc.add(rec(`data/${i}.txt`), `r${i}`, 0);
      const due = acc.takeDue(0);
      expect(due.map((b) => b.items.length)).toEqual([3, 3]);
      expect(acc.takeAll().map((b) => b.items.length)).toEqual([1]);
    });

    it('closes a batch once max_bytes is reached', () => {
      const acc = new BatchAccumulator(rules({ max_bytes: 100 }));
      acc.add(rec('data/a.txt', 60), 'r1', 0);
      expect(acc.takeDue(0)).toEqual([]);
      acc.add(rec('data/b.txt', 60), 'r2', 0);
      expect(acc.takeDue(0).map((b) => b.bytes)).toEqual([120]);
    });

    it('closes a batch max_wait_seconds after its first object and reports the deadline', () => {
      const acc = new BatchAccumulator(rules({ max_wait_seconds: 30 }));
      acc.add(rec('data/a.txt'), 'r1', 1_000);
      expect(acc.msUntilNextDeadline(11_000)).toBe(20_000);
      expect(acc.takeDue(30_999)).toEqual([]);
      expect(acc.takeDue(31_000)).toHaveLength(1);
      expect(acc.msUntilNextDeadline(31_000)).toBeUndefined();
    });
  });
});

describe('Class: CompressorService', () => {
  it('dead-letters a malformed message after maxReceiveCount and keeps archiving', async () => {
    // Prepare: a local store and a queue that redelivers after 0.2 s and dead-letters after 3 receives.
    const dir = mkdtempSync(join(tmpdir(), 'xregion-compressor-'));
    try {
      const dlq = new LocalQueue({ name: 'dlq' });
      const queue = new LocalQueue({ name: 'q', visibilityTimeoutSeconds: 0.2, maxReceiveCount: 3, deadLetterQueue: dlq });
      const store = new LocalObjectStore({ root: dir, region: SOURCE.region });
      await store.ensureBucket(SOURCE.bucket);
      await store.ensureBucket('staging');
      await store.addNotificationRule({ bucket: SOURCE.bucket, prefix: PREFIX, events: ['s3:ObjectCreated:*'], queue });
      await queue.send('{"not":"an s3 event"}');
      await putTestObjects(store, SOURCE.bucket, TEST_OBJECTS.slice(0, 3));
      const metrics = new InMemoryMetrics();
      const service = new CompressorService({
        queue,
        source: store,
        staging: store,
        stagingBucket: 'staging',
        rules: testConfig().replication_configuration,
        region: SOURCE.region,
        metrics,
        logger: createLogger('test', 'SILENT'),
        waitSeconds: 0.3,
        flushWhenIdle: true,
        visibilityTimeoutSeconds: 0.2,
      });
      // Act: keep draining until the poison message has gone to the DLQ.
      const batches = [];
      for (let i = 0; i < 10 && (await dlq.approximateDepth()) === 0; i++) batches.push(...(await service.drain()));
      // Assess
      expect(await dlq.approximateDepth()).toBe(1);
      expect(metrics.get('Failures', { reason: 'MalformedMessage' })).toBe(3);
      expect(batches.reduce((n, b) => n + b.objects, 0)).toBe(3);
      expect(await queue.approximateDepth()).toBe(0);
      const staged = [];
      for await (const o of store.list('staging')) staged.push(o.key);
      expect(staged).toHaveLength(3); // the archive, its batch intent and its batch record
      expect(staged[2]).toMatch(/^src-bucket\/data\/backup_\d+_[0-9a-f]{8}\.tar\.zst$/);
      expect(staged.slice(0, 2)).toEqual([`_xregion/batches/${staged[2]}.intent.json`, `_xregion/batches/${staged[2]}.json`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records an object edited since its event as superseded, not as deleted (the local store keeps only its newest version)', async () => {
    const { queue, store, service, cleanup } = await sourceWithQueue();
    try {
      const key = `${PREFIX}edited.txt`;
      await store.put(SOURCE.bucket, key, Buffer.from('version one'));
      const got = await queue.receive({ maxMessages: 10 }); // the rule's test event and the put's event
      await queue.deleteBatch(got.map((m) => m.receiptHandle));
      const event = got.find((m) => m.body.includes('ObjectCreated'));
      await store.put(SOURCE.bucket, key, Buffer.from('version two'), {}); // its own event is queued too
      await queue.send(event!.body); // the first version's event, delivered late
      const batches = await service().drain();
      const skipped = batches.flatMap((b) => b.skipped);
      expect(skipped).toEqual([{ key, reason: expect.stringMatching(/^Superseded/) }]);
      expect(batches.flatMap((b) => b.manifest?.objects.map((o) => o.key) ?? [])).toEqual([key]);
    } finally {
      cleanup();
    }
  });

  it('lists an object deleted since its event under skipped and acknowledges it', async () => {
    const { queue, store, service, cleanup } = await sourceWithQueue();
    try {
      await putTestObjects(store, SOURCE.bucket, TEST_OBJECTS.slice(0, 2));
      await store.delete(SOURCE.bucket, TEST_OBJECTS[1].key);
      const [batch] = await service().drain();
      expect(batch.manifest?.objects.map((o) => o.key)).toEqual([TEST_OBJECTS[0].key]);
      expect(batch.manifest?.skipped).toEqual([{ key: TEST_OBJECTS[1].key, reason: 'NoSuchKey' }]);
      expect(await queue.approximateDepth()).toBe(0);
      expect(queue.size()).toBe(0);
    } finally {
      cleanup();
    }
  });
});
