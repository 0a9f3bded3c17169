/** The Queue contract against the in-process LocalQueue, plus its durability. */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createQueue, LocalQueue } from '../../shared/queue';
import { syncCalls } from '../../shared/storage/local/durable';
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

    it('removes temp files a killed writer left (older than a few seconds) when it loads, keeping newer ones', async () => {
      // Prepare: a zero-byte and a half-written temp file from a kill long ago, one from just now
      const q = path.join(dir, 'q');
      mkdirSync(q, { recursive: true });
      writeFileSync(path.join(q, '.tmp-0a1b2c3d4e5f6071'), '');
      writeFileSync(path.join(q, '.tmp-1a1b2c3d4e5f6071'), '{"id":"x","bo');
      const past = new Date(Date.now() - 60_000);
      for (const f of ['.tmp-0a1b2c3d4e5f6071', '.tmp-1a1b2c3d4e5f6071']) utimesSync(path.join(q, f), past, past);
      writeFileSync(path.join(q, '.tmp-2a1b2c3d4e5f6071'), '');
      // Act
      const queue = new LocalQueue({ dir: q });
      // Assess
      expect(readdirSync(q)).toEqual(['.tmp-2a1b2c3d4e5f6071']);
      expect(await queue.receive()).toEqual([]);
    });

    it('sweepTempFiles removes every temp file but those of its own sends in flight', async () => {
      const q = path.join(dir, 'q');
      const queue = new LocalQueue({ dir: q });
      writeFileSync(path.join(q, '.tmp-2a1b2c3d4e5f6071'), 'left by a kill a moment ago');
      const sending = queue.send('in flight'); // its temp file exists until its sync and rename are done
      const swept = queue.sweepTempFiles();
      await sending;
      expect(swept).toEqual({ files: 1, bytes: 27 });
      expect(readdirSync(q).filter((f) => f.startsWith('.tmp-'))).toEqual([]);
      expect((await queue.receive()).map((m) => m.body)).toEqual(['in flight']);
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

  describe('Option: fsync (default on with dir)', () => {
    let dir: string;
    let calls: Array<{ op: string; file: string; at: number }>;
    beforeEach(() => {
      dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'xregion-local-queue-sync-')));
      calls = [];
      const { fdatasync, fsync } = syncCalls;
      const record = (op: string, fd: number) => calls.push({ op, file: path.relative(dir, readlinkSync(`/proc/self/fd/${fd}`)), at: readdirSync(path.join(dir, 'q')).filter((n) => n.endsWith('.json')).length });
      jest.spyOn(syncCalls, 'fdatasync').mockImplementation((fd, cb) => {
        record('fdatasync', fd);
        fdatasync(fd, cb);
      });
      jest.spyOn(syncCalls, 'fsync').mockImplementation((fd, cb) => {
        record('fsync', fd);
        fsync(fd, cb);
      });
    });
    afterEach(() => {
      jest.restoreAllMocks();
      rmSync(dir, { recursive: true, force: true });
    });

    it('syncs a message file before its rename and the folder after it, before send returns', async () => {
      // Prepare (`at` = message files in place when the call ran)
      const q = new LocalQueue({ dir: path.join(dir, 'q') });
      // Act
      await q.send('durable');
      // Assess
      expect(calls.map((c) => [c.op, c.file.replace(/\.tmp-[0-9a-f]+$/, '.tmp-*'), c.at])).toEqual([
        ['fdatasync', 'q/.tmp-*', 0],
        ['fsync', 'q', 1],
      ]);
    });

    it('syncs the receive journal (and the folder, for a new journal) before handing messages out', async () => {
      const q = new LocalQueue({ dir: path.join(dir, 'q'), visibilityTimeoutSeconds: 0 });
      await q.send('m');
      calls.length = 0;
      await q.receive();
      await q.receive();
      expect(calls.map((c) => [c.op, c.file])).toEqual([
        ['fdatasync', 'q/receives.log'],
        ['fsync', 'q'],
        ['fdatasync', 'q/receives.log'],
      ]);
    });

    it('shares a folder sync among sends of one tick', async () => {
      const q = new LocalQueue({ dir: path.join(dir, 'q') });
      await Promise.all(Array.from({ length: 20 }, (_, i) => q.send(`m${i}`)));
      expect(calls.filter((c) => c.op === 'fdatasync').length).toBe(20);
      expect(calls.filter((c) => c.op === 'fsync').length).toBeLessThanOrEqual(3);
      expect(q.size()).toBe(20);
    });

    it('makes no sync call with fsync: false', async () => {
      const q = new LocalQueue({ dir: path.join(dir, 'q'), fsync: false });
      await q.send('fast');
      await q.receive();
      expect(calls).toEqual([]);
      expect(existsSync(path.join(dir, 'q', 'receives.log'))).toBe(true);
    });
  });
});
