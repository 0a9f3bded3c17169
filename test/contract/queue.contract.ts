/**
 * The Queue contract suite: every adapter runs exactly these tests. Visibility timeouts are 1 s
 * (SQS's unit), so a few tests wait ~1–2 s; queues stay shallow because moto SQS slows with depth.
 */
import { StaleReceiptError, type Queue, type QueueMessage } from '../../shared/queue';

export interface QueuePair {
  queue: Queue;
  /** Dead-letter queue of `queue`. */
  dlq: Queue;
}

export interface QueueHarness {
  /** A fresh queue with this visibility timeout (s) and a DLQ after `maxReceiveCount` receives. */
  newQueue(opts: { visibilityTimeoutSeconds: number; maxReceiveCount: number }): Promise<QueuePair>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Receive until `n` messages arrived or `waitSeconds` passed (SQS may return fewer per call). */
async function receiveN(q: Queue, n: number, waitSeconds = 2): Promise<QueueMessage[]> {
  const out: QueueMessage[] = [];
  const until = Date.now() + waitSeconds * 1000;
  while (out.length < n && Date.now() < until) {
    out.push(...(await q.receive({ maxMessages: Math.min(10, n - out.length), waitSeconds: 1 })));
  }
  return out;
}

export function queueContract(h: () => QueueHarness): void {
  describe('Method: send / receive / deleteBatch', () => {
    it('delivers sent messages with receiveCount 1 and forgets them once deleted', async () => {
      // Prepare
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
      for (const b of ['one', 'two', 'three']) await queue.send(b);
      // Act
      const got = await receiveN(queue, 3);
      await queue.deleteBatch(got.map((m) => m.receiptHandle));
      // Assess
      expect(got.map((m) => m.body).sort()).toEqual(['one', 'three', 'two']);
      expect(got.every((m) => m.receiveCount === 1 && m.id.length > 0 && m.receiptHandle.length > 0)).toBe(true);
      expect(await queue.receive({ maxMessages: 10, waitSeconds: 0 })).toEqual([]);
      expect(await queue.approximateDepth()).toBe(0);
    });

    it('deletes more than 10 messages in one call (chunked)', async () => {
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
      for (let i = 0; i < 12; i++) await queue.send(`m${i}`);
      const got = await receiveN(queue, 12, 5);
      await queue.deleteBatch(got.map((m) => m.receiptHandle));
      expect(got).toHaveLength(12);
      expect(await queue.approximateDepth()).toBe(0);
    });

    it('counts visible messages in approximateDepth', async () => {
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
      await queue.send('a');
      await queue.send('b');
      expect(await queue.approximateDepth()).toBe(2);
      await receiveN(queue, 1);
      expect(await queue.approximateDepth()).toBe(1);
    });
  });

  describe('Behaviour: visibility timeout', () => {
    it('hides a received message, then redelivers it with a higher receiveCount', async () => {
      // Prepare
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
      await queue.send('again');
      // Act
      const [first] = await receiveN(queue, 1);
      const hidden = await queue.receive({ waitSeconds: 0 });
      await sleep(1200);
      const [second] = await receiveN(queue, 1);
      // Assess
      expect(first.receiveCount).toBe(1);
      expect(hidden).toEqual([]);
      expect(second).toMatchObject({ id: first.id, body: 'again', receiveCount: 2 });
      expect(second.receiptHandle).not.toBe(first.receiptHandle);
    });

    it('keeps a message hidden while its visibility is extended', async () => {
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
      await queue.send('long job');
      const [m] = await receiveN(queue, 1);
      await queue.extendVisibility(m.receiptHandle, 4);
      await sleep(1500);
      expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
      await queue.deleteBatch([m.receiptHandle]);
    });

    it('accepts a delete with a stale receipt handle; extending one fails, if at all, with StaleReceiptError', async () => {
      // Prepare
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 5 });
      await queue.send('x');
      const [first] = await receiveN(queue, 1);
      await sleep(1200);
      const [second] = await receiveN(queue, 1);
      // Act / Assess
      // SQS may or may not notice (moto does not); the local queue always does.
      const extended = await queue.extendVisibility(first.receiptHandle, 0).then(() => 'ok', (e: unknown) => e);
      if (extended !== 'ok') expect(extended).toBeInstanceOf(StaleReceiptError);
      await expect(queue.deleteBatch([first.receiptHandle])).resolves.toBeUndefined();
      await queue.deleteBatch([second.receiptHandle]);
      await queue.deleteBatch([second.receiptHandle]);
      await sleep(1200);
      expect(await queue.receive({ waitSeconds: 0 })).toEqual([]);
    });
  });

  describe('Behaviour: dead-letter queue', () => {
    it('moves a message to the DLQ after maxReceiveCount deliveries without a delete', async () => {
      // Prepare
      const { queue, dlq } = await h().newQueue({ visibilityTimeoutSeconds: 1, maxReceiveCount: 2 });
      await queue.send('poison');
      // Act
      const [a] = await receiveN(queue, 1);
      await queue.extendVisibility(a.receiptHandle, 0);
      const [b] = await receiveN(queue, 1);
      await queue.extendVisibility(b.receiptHandle, 0);
      const third = await queue.receive({ waitSeconds: 1 });
      const dead = await receiveN(dlq, 1);
      // Assess
      expect([a.receiveCount, b.receiveCount]).toEqual([1, 2]);
      expect(third).toEqual([]);
      expect(dead.map((m) => m.body)).toEqual(['poison']);
    });
  });

  describe('Behaviour: long poll', () => {
    it('returns as soon as a message is sent during the wait', async () => {
      // Prepare
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
      const started = Date.now();
      // Act
      const polling = queue.receive({ waitSeconds: 10 });
      await sleep(300);
      await queue.send('wake up');
      const got = await polling;
      // Assess
      expect(got.map((m) => m.body)).toEqual(['wake up']);
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('returns [] when nothing arrives in time', async () => {
      const { queue } = await h().newQueue({ visibilityTimeoutSeconds: 30, maxReceiveCount: 5 });
      const started = Date.now();
      expect(await queue.receive({ waitSeconds: 1 })).toEqual([]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    });
  });
}
