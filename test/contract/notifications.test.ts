/**
 * Notifications: moto's real S3 → SQS delivery and the local store's emitted events must parse
 * identically with parseS3Event (the compressor and router depend on that).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import { LocalQueue, type Queue, type QueueMessage } from '../../shared/queue';
import { LocalObjectStore, parseS3Event, type ObjectStore, type S3EventRecord } from '../../shared/storage';
import { patternStream } from '../helpers/bytes';
import { uniqueName, useMoto } from '../helpers/moto';

const MiB = 1024 * 1024;
const KEYS = ['in/a b+c%d.txt', 'in/ünï/文件.txt', 'out/ignored.txt', 'in/skip.tmp'];

async function drain(q: Queue, want: number): Promise<QueueMessage[]> {
  const out: QueueMessage[] = [];
  const until = Date.now() + 5000;
  while (out.length < want && Date.now() < until) {
    const got = await q.receive({ maxMessages: 10, waitSeconds: 1 });
    out.push(...got);
    await q.deleteBatch(got.map((m) => m.receiptHandle));
  }
  return out;
}

/** Put the test objects and return the parsed bodies received on the queue. */
async function exercise(store: ObjectStore, bucket: string, queue: Queue, expectedMessages: number) {
  const puts = [];
  for (const k of KEYS) puts.push(await store.put(bucket, k, Buffer.from(`body of ${k}`)));
  await store.copy({ bucket, key: KEYS[0] }, { bucket, key: 'in/copied.txt' });
  const msgs = await drain(queue, expectedMessages);
  const parsed = msgs.map((m) => parseS3Event(m.body));
  const records = parsed.filter((p): p is S3EventRecord[] => p !== 'test-event').flat();
  return { puts, parsed, records };
}

describe('Function: parseS3Event on delivered notifications', () => {
  const moto = useMoto();

  it('parses moto S3 → SQS events: a TestEvent first, then prefix/suffix-filtered records with decoded keys', async () => {
    // Prepare
    const m = moto();
    const bucket = await m.createBucket(uniqueName('src'));
    const { queueUrl, queueArn } = await m.createQueue(uniqueName('events'));
    const s3 = m.s3Client();
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              Id: 'to-compressor',
              QueueArn: queueArn,
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'in/' }, { Name: 'suffix', Value: '.txt' }] } },
            },
          ],
        },
      }),
    );
    s3.destroy();
    const store = m.s3Store();
    // Act
    const { puts, parsed, records } = await exercise(store, bucket, m.sqsQueue(queueUrl), 4);
    // Assess
    expect(parsed).toContain('test-event');
    expect(records.map((r) => r.key).sort()).toEqual(['in/a b+c%d.txt', 'in/copied.txt', 'in/ünï/文件.txt']);
    const first = records.find((r) => r.key === KEYS[0]) as S3EventRecord;
    expect(first).toMatchObject({ bucket, eventName: 'ObjectCreated:Put', size: puts[0].size, etag: puts[0].etag, configurationId: 'to-compressor' });
    expect(records.find((r) => r.key === 'in/copied.txt')?.eventName).toBe('ObjectCreated:Copy');
    store.client.destroy();
  });

  it('parses the local store events the same way, with versionId, sequencer and the multipart event name', async () => {
    // Prepare
    const root = mkdtempSync(path.join(os.tmpdir(), 'xregion-notify-'));
    try {
      const queue = new LocalQueue();
      const store = new LocalObjectStore({ root, multipartThreshold: 5 * MiB });
      await store.ensureBucket('src');
      await store.addNotificationRule({ id: 'to-compressor', bucket: 'src', prefix: 'in/', suffix: '.txt', events: ['s3:ObjectCreated:*'], queue });
      // Act
      const { puts, parsed, records } = await exercise(store, 'src', queue, 4);
      await store.put('src', 'in/big.txt', patternStream(1, 5 * MiB + 1));
      const [big] = (await drain(queue, 1)).map((m) => parseS3Event(m.body)) as S3EventRecord[][];
      // Assess
      expect(parsed[0]).toBe('test-event');
      expect(records.map((r) => r.key).sort()).toEqual(['in/a b+c%d.txt', 'in/copied.txt', 'in/ünï/文件.txt']);
      const first = records.find((r) => r.key === KEYS[0]) as S3EventRecord;
      expect(first).toMatchObject({
        bucket: 'src',
        eventName: 'ObjectCreated:Put',
        size: puts[0].size,
        etag: puts[0].etag,
        versionId: puts[0].versionId,
        configurationId: 'to-compressor',
        awsRegion: 'us-east-1',
      });
      expect(first.sequencer).toMatch(/^[0-9A-F]{16}$/);
      expect(records.find((r) => r.key === 'in/copied.txt')?.eventName).toBe('ObjectCreated:Copy');
      expect(big[0]).toMatchObject({ key: 'in/big.txt', eventName: 'ObjectCreated:CompleteMultipartUpload', size: 5 * MiB + 1 });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
