/** The Queue contract against the in-process LocalQueue, plus its durability. */
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createQueue, LocalQueue } from '../../shared/queue';
import { queueContract, type QueueHarness } from './queue.contract';

describe('Class: LocalQueue', () => {
  const harness: QueueHarness = {
    newQueue: async ({ visibilityTimeoutSeconds, maxReceiveCount }) => {
      const dlq = new LocalQueue({ name: 'dlq' });
      return { queue: createQueue({ kind: 'local', name: 'q', visibilityTimeoutSeconds, maxReceiveCount, deadLetterQueue: dlq }), dlq };
    },
  };

  queueContract(() => harness);

  describe('Option: dir (durability)', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'xregion-local-queue-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('gives a restarted queue every un-deleted message, in-flight ones visible again', async () => {
      // Prepare
      const before = new LocalQueue({ dir: path.join(dir, 'q'), visibilityTimeoutSeconds: 300 });
      for (const b of ['done', 'in flight', 'waiting']) await before.send(b);
      const [done] = await before.receive();
      await before.deleteBatch([done.receiptHandle]);
      const [inFlight] = await before.receive();
      // Act: a new process opens the same folder
      const after = new LocalQueue({ dir: path.join(dir, 'q'), visibilityTimeoutSeconds: 300 });
      const got = await after.receive({ maxMessages: 10 });
      // Assess
      expect(got.map((m) => [m.body, m.receiveCount])).toEqual([
        ['in flight', 2],
        ['waiting', 1],
      ]);
      expect(got[0].id).toBe(inFlight.id);
      await after.deleteBatch(got.map((m) => m.receiptHandle));
      expect(readdirSync(path.join(dir, 'q'))).toEqual([]);
    });

    it('keeps receive counts across restarts (journal, torn last line ignored) so redrive still happens', async () => {
      // Prepare: a message may be delivered twice; each delivery is followed by a "crash"
      const open = (): LocalQueue =>
        new LocalQueue({ dir: path.join(dir, 'q'), maxReceiveCount: 2, deadLetterQueue: new LocalQueue({ dir: path.join(dir, 'dlq') }), visibilityTimeoutSeconds: 300 });
      await open().send('poison');
      const first = await open().receive();
      appendFileSync(path.join(dir, 'q', 'receives.log'), 'torn-line-without-a-co');
      const second = await open().receive();

      // Act: the third process's receive is past maxReceiveCount
      const third = await open().receive();

      // Assess
      expect([first, second].map((r) => r.map((m) => m.receiveCount))).toEqual([[1], [2]]);
      expect(third).toEqual([]);
      expect((await new LocalQueue({ dir: path.join(dir, 'dlq') }).receive()).map((m) => m.body)).toEqual(['poison']);
      expect(readdirSync(path.join(dir, 'q'))).toEqual([]);
    });

    it('persists dead-lettered messages in the DLQ folder', async () => {
      const dlq = new LocalQueue({ dir: path.join(dir, 'dlq') });
      const q = new LocalQueue({ dir: path.join(dir, 'q'), maxReceiveCount: 1, deadLetterQueue: dlq, visibilityTimeoutSeconds: 0 });
      await q.send('poison');
      await q.receive();
      expect(await q.receive()).toEqual([]);
      const reopened = new LocalQueue({ dir: path.join(dir, 'dlq') });
      expect((await reopened.receive()).map((m) => m.body)).toEqual(['poison']);
      expect(readdirSync(path.join(dir, 'q'))).toEqual([]);
    });
  });
});
