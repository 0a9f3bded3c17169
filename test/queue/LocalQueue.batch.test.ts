/** LocalQueue.sendBatch: many messages in one file with one sync, deleted one by one across restarts. */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalQueue } from '../../shared/queue';
import { syncCalls } from '../../shared/storage/local/durable';

describe('Class: LocalQueue (batches)', () => {
  let dir: string;
  beforeEach(() => {
    dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'xregion-queue-batch-')));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });
  const q = (): string => path.join(dir, 'q');
  const messageFiles = (): string[] => readdirSync(q()).filter((n) => n.endsWith('.json'));

  describe('Method: sendBatch', () => {
    it('persists the batch as one file with one data sync and one folder sync before it resolves', async () => {
      // Prepare
      const calls: string[] = [];
      const { fdatasync, fsync } = syncCalls;
      jest.spyOn(syncCalls, 'fdatasync').mockImplementation((fd, cb) => {
        calls.push(`fdatasync ${path.relative(dir, readlinkSync(`/proc/self/fd/${fd}`)).replace(/\.tmp-[0-9a-f]+$/, '.tmp-*')} ${messageFiles().length}`);
        fdatasync(fd, cb);
      });
      jest.spyOn(syncCalls, 'fsync').mockImplementation((fd, cb) => {
        calls.push(`fsync ${path.relative(dir, readlinkSync(`/proc/self/fd/${fd}`))} ${messageFiles().length}`);
        fsync(fd, cb);
      });
      const queue = new LocalQueue({ dir: q() });

      // Act
      await queue.sendBatch(Array.from({ length: 50 }, (_, i) => `m${i}`));

      // Assess: synced before it was renamed into place, the folder after
      expect(calls).toEqual(['fdatasync q/.tmp-* 0', 'fsync q 1']);
      expect(messageFiles()).toHaveLength(1);
      expect(JSON.parse(readFileSync(path.join(q(), messageFiles()[0]!), 'utf8'))).toHaveLength(50);
      const got = [];
      for (let batch = await queue.receive({ maxMessages: 10 }); batch.length > 0; batch = await queue.receive({ maxMessages: 10 })) got.push(...batch);
      expect(got.map((m) => m.body)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    });

    it('after a restart, gives back exactly the messages of a batch file not yet deleted, with their receive counts', async () => {
      // Prepare: 5 messages in one file; 2 received and deleted, 1 received and held
      const before = new LocalQueue({ dir: q(), visibilityTimeoutSeconds: 300 });
      await before.sendBatch(['a', 'b', 'c', 'd', 'e']);
      const [a, b, c] = await before.receive({ maxMessages: 3 });
      await before.deleteBatch([a!.receiptHandle, c!.receiptHandle]);
      expect(b!.body).toBe('b');

      // Act: another process opens the folder (a torn journal line too)
      appendFileSync(path.join(q(), 'receives.log'), 'd 00torn');
      const after = new LocalQueue({ dir: q(), visibilityTimeoutSeconds: 300 });
      const got = await after.receive({ maxMessages: 10 });

      // Assess
      expect(got.map((m) => [m.body, m.receiveCount])).toEqual([
        ['b', 2],
        ['d', 1],
        ['e', 1],
      ]);
      await after.deleteBatch(got.map((m) => m.receiptHandle));
      expect(readdirSync(q())).toEqual([]);
    });

    it('removes the file with its last message and keeps the folder free of journals once empty', async () => {
      const queue = new LocalQueue({ dir: q(), visibilityTimeoutSeconds: 300 });
      await queue.sendBatch(['x', 'y']);
      await queue.send('z');
      const first = await queue.receive({ maxMessages: 1 });
      await queue.deleteBatch(first.map((m) => m.receiptHandle));
      expect(messageFiles()).toHaveLength(2); // 'y' still holds the batch file
      const rest = await queue.receive({ maxMessages: 10 });
      await queue.deleteBatch(rest.map((m) => m.receiptHandle));
      expect(readdirSync(q())).toEqual([]);
    });

    it('dead-letters a batch member after maxReceiveCount like any message', async () => {
      const dlq = new LocalQueue({ dir: path.join(dir, 'dlq') });
      const queue = new LocalQueue({ dir: q(), maxReceiveCount: 1, deadLetterQueue: dlq, visibilityTimeoutSeconds: 0 });
      await queue.sendBatch(['poison', 'fine']);
      const first = await queue.receive({ maxMessages: 10 });
      await queue.deleteBatch(first.filter((m) => m.body === 'fine').map((m) => m.receiptHandle));
      expect(await queue.receive({ maxMessages: 10 })).toEqual([]);
      expect((await new LocalQueue({ dir: path.join(dir, 'dlq') }).receive()).map((m) => m.body)).toEqual(['poison']);
      expect(readdirSync(q())).toEqual([]);
    });
  });
});
