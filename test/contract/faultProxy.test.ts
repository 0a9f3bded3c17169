/**
 * Throttling: S3 and SQS answering 503 SlowDown for a while (a fault-injecting HTTP proxy in front
 * of moto) → the adapters' SDK retries ride it out and nothing is lost.
 */
import { patternSha256, patternStream, hashStream, readAll } from '../helpers/bytes';
import { startFaultProxy, type FaultProxy } from '../helpers/faultProxy';
import { uniqueName, useMoto } from '../helpers/moto';

const MiB = 1024 * 1024;

describe('Behaviour: 503 SlowDown storms (fault proxy in front of moto)', () => {
  const moto = useMoto();
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy(moto().endpoint);
  });
  afterEach(() => proxy.heal());
  afterAll(() => proxy.close());

  it('S3: put, multipart put, get and list succeed through 1.5 s of SlowDown', async () => {
    // Prepare
    const bucket = await moto().createBucket(uniqueName('storm'));
    const store = moto().s3Store({ endpoint: proxy.endpoint, multipartThreshold: 5 * MiB });
    const size = 11 * MiB;
    const sha = patternSha256(21, size);
    // Act
    proxy.failFor(1500);
    const small = await store.put(bucket, 'small', Buffer.from('survives'));
    const big = await store.put(bucket, 'big', patternStream(21, size), { sha256: sha });
    const got = await readAll((await store.get(bucket, 'small')).body);
    const keys: string[] = [];
    for await (const o of store.list(bucket)) keys.push(o.key);
    // Assess
    expect(proxy.faultsServed).toBeGreaterThan(0);
    expect(got.toString()).toBe('survives');
    expect(small.size).toBe(8);
    expect(big).toMatchObject({ size, sha256: sha });
    expect(await hashStream((await moto().s3Store().get(bucket, 'big')).body)).toEqual({ sha256: sha, size });
    expect(keys).toEqual(['big', 'small']);
    store.client.destroy();
  });

  it('S3: the first 3 requests throttled → still succeeds', async () => {
    const bucket = await moto().createBucket(uniqueName('burst'));
    const store = moto().s3Store({ endpoint: proxy.endpoint });
    proxy.failNext(3);
    const before = proxy.faultsServed;
    await store.put(bucket, 'k', Buffer.from('v'));
    expect((await store.head(bucket, 'k')).size).toBe(1);
    expect(proxy.faultsServed - before).toBe(3);
    store.client.destroy();
  });

  it('SQS: send, receive and delete succeed through throttling; nothing is lost', async () => {
    // Prepare
    const { queueUrl } = await moto().createQueue(uniqueName('storm-q'));
    const queue = moto().sqsQueue(queueUrl, proxy.endpoint);
    // Act
    proxy.failFor(1000);
    for (const b of ['a', 'b', 'c']) await queue.send(b);
    const got = [];
    while (got.length < 3) got.push(...(await queue.receive({ maxMessages: 10, waitSeconds: 1 })));
    await queue.deleteBatch(got.map((m) => m.receiptHandle));
    // Assess
    expect(proxy.faultsServed).toBeGreaterThan(0);
    expect(got.map((m) => m.body).sort()).toEqual(['a', 'b', 'c']);
    expect(await moto().sqsQueue(queueUrl).approximateDepth()).toBe(0);
  });
});
