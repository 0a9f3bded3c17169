/**
 * LocalObjectStore: an object whose ObjectCreated event may not have reached its queue (a crash,
 * or a failing send, between the commit and the notification) is offered again by the next
 * scanForNewFiles, and an object whose event was queued is never offered twice.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue, type Queue, type QueueMessage, type ReceiveOptions } from '../../shared/queue';
import { LocalObjectStore, parseS3Event } from '../../shared/storage';
import { readSidecarFile } from '../storage/sidecarOnDisk';

/** A queue whose `failAt`-th send (1-based, counted once armed) throws, as a crash before the send would lose it. */
class FlakyQueue implements Queue {
  private sends = 0;
  private armed = false;
  constructor(
    readonly inner: LocalQueue,
    private readonly failAt: number,
  ) {}
  arm(): void {
    this.armed = true;
  }
  async send(body: string): Promise<void> {
    if (this.armed && ++this.sends === this.failAt) throw new Error(`injected: send #${this.failAt} lost`);
    await this.inner.send(body);
  }
  receive(opts?: ReceiveOptions): Promise<QueueMessage[]> {
    return this.inner.receive(opts);
  }
  extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    return this.inner.extendVisibility(receiptHandle, seconds);
  }
  deleteBatch(receiptHandles: string[]): Promise<void> {
    return this.inner.deleteBatch(receiptHandles);
  }
  approximateDepth(): Promise<number> {
    return this.inner.approximateDepth();
  }
}

/** Every ObjectCreated key queued so far, in order (drains the queue). */
async function announcedKeys(q: LocalQueue): Promise<string[]> {
  const keys: string[] = [];
  for (let batch = await q.receive({ maxMessages: 10 }); batch.length > 0; batch = await q.receive({ maxMessages: 10 })) {
    for (const m of batch) {
      const ev = parseS3Event(m.body);
      if (ev !== 'test-event') keys.push(...ev.map((r) => r.key));
    }
    await q.deleteBatch(batch.map((m) => m.receiptHandle));
  }
  return keys;
}

describe('Class: LocalObjectStore (announcements survive a lost send)', () => {
  let root: string;
  let inner: LocalQueue;
  let queue: FlakyQueue;
  let store: LocalObjectStore;

  beforeEach(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'xregion-announce-'));
    inner = new LocalQueue({ visibilityTimeoutSeconds: 300 });
    queue = new FlakyQueue(inner, 3);
    store = new LocalObjectStore({ root });
    await store.ensureBucket('src');
    await store.ensureBucket('plain');
    await store.addNotificationRule({ bucket: 'src', prefix: 'in/', events: ['s3:ObjectCreated:*'], queue });
    queue.arm();
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  describe('Method: scanForNewFiles', () => {
    it('offers a dropped file again when its event could not be queued, and every file exactly once overall', async () => {
      // Prepare: five settled files dropped into the bucket folder
      mkdirSync(path.join(root, 'src', 'in'), { recursive: true });
      const past = new Date(Date.now() - 60_000);
      const names = ['a', 'b', 'c', 'd', 'e'].map((n) => `in/${n}.txt`);
      for (const key of names) {
        writeFileSync(path.join(root, 'src', key), `bytes of ${key}`);
        utimesSync(path.join(root, 'src', key), past, past);
      }

      // Act: the third send fails (the scan stops there), then the next scan runs
      await expect(store.scanForNewFiles('src', { settleMs: 1000 })).rejects.toThrow(/in\/c\.txt.*injected: send #3 lost/);
      const second = await store.scanForNewFiles('src', { settleMs: 1000 });
      const third = await store.scanForNewFiles('src', { settleMs: 1000 });

      // Assess
      expect(second).toEqual(['in/c.txt', 'in/d.txt', 'in/e.txt']);
      expect(third).toEqual([]);
      expect(await announcedKeys(inner)).toEqual(names);
    });
  });

  describe('Method: put', () => {
    it('leaves an object whose event was lost for the next scan, which announces only that one', async () => {
      // Prepare: the third put's send fails
      await store.put('src', 'in/1', Buffer.from('one'));
      await store.put('src', 'in/2', Buffer.from('two'));
      await expect(store.put('src', 'in/3', Buffer.from('three'))).rejects.toThrow(/s3:\/\/src\/in\/3.*committed.*injected: send #3 lost/);
      await store.put('src', 'in/4', Buffer.from('four'));

      // Act
      const scanned = await store.scanForNewFiles('src', { settleMs: 0 });
      const again = await store.scanForNewFiles('src', { settleMs: 0 });

      // Assess: the object itself was committed; its event comes from the scan, once
      expect((await store.head('src', 'in/3')).size).toBe(5);
      expect(scanned).toEqual(['in/3']);
      expect(again).toEqual([]);
      expect(await announcedKeys(inner)).toEqual(['in/1', 'in/2', 'in/4', 'in/3']);
    });

    it('leaves a version no rule matches unannounced (nothing queued, no extra write), so a rule added later announces it', async () => {
      await store.put('plain', 'in/x', Buffer.from('x'));
      await store.put('src', 'out-of-prefix', Buffer.from('y'));
      const side = (bucket: string, key: string) => readSidecarFile(root, bucket, key);
      expect([side('plain', 'in/x').announced, side('src', 'out-of-prefix').announced]).toEqual([false, false]);
      expect(await store.scanForNewFiles('plain', { settleMs: 0 })).toEqual([]);
      expect(await store.scanForNewFiles('src', { settleMs: 0 })).toEqual([]);
      expect(await announcedKeys(inner)).toEqual([]);
      // A rule for the bucket appears (a config change, or the store opened by the appliance with its rules).
      await store.addNotificationRule({ bucket: 'plain', prefix: 'in/', events: ['s3:ObjectCreated:*'], queue: inner });
      expect(await store.scanForNewFiles('plain', { settleMs: 0 })).toEqual(['in/x']);
      expect(side('plain', 'in/x').announced).toBe(true);
      expect(await store.scanForNewFiles('plain', { settleMs: 0 })).toEqual([]);
    });
  });
});
