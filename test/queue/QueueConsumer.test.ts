/** The one queue-consumer primitive, against the real LocalQueue (SQS semantics, short visibility). */
import { createLogger, InMemoryMetrics } from '../../shared/observability';
import { LocalQueue, QueueConsumer, type HeldMessage, type Settlement } from '../../shared/queue';

const silent = createLogger('test', 'SILENT');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setup(visibilityTimeoutSeconds = 0.3) {
  const dlq = new LocalQueue({ name: 'dlq' });
  const queue = new LocalQueue({ name: 'q', visibilityTimeoutSeconds, maxReceiveCount: 2, deadLetterQueue: dlq });
  const metrics = new InMemoryMetrics();
  const consumer = new QueueConsumer<string>({
    queue,
    parse: (body) => {
      if (body.startsWith('{bad')) throw new Error('not an event');
      return body;
    },
    visibilityTimeoutSeconds,
    logger: silent,
    metrics,
  });
  return { queue, dlq, metrics, consumer };
}

describe('Class: QueueConsumer', () => {
  it('keeps every received message invisible while the first ones are worked on, not only the one whose turn it is', async () => {
    // Prepare: 5 messages, a handler that takes 4 visibility timeouts on the first one
    const { queue, consumer } = setup();
    for (let i = 0; i < 5; i++) await queue.send(`m${i}`);
    const seenByOthers: string[] = [];
    const handler = async (m: HeldMessage<string>): Promise<Settlement> => {
      if (m.record === 'm0') {
        for (let i = 0; i < 4; i++) {
          await sleep(300);
          // Another worker polling meanwhile must get nothing: all five are held.
          seenByOthers.push(...(await queue.receive({ maxMessages: 10 })).map((x) => x.body));
        }
      }
      return 'ack';
    };
    // Act
    const received = await consumer.poll(0, handler);
    // Assess
    expect(received).toBe(5);
    expect(seenByOthers).toEqual([]);
    expect(queue.size()).toBe(0);
    consumer.close();
  });

  it('stops work on a message whose receipt went stale and never acknowledges it', async () => {
    // Prepare: a handler that loses its message (the receipt is superseded by a redelivery)
    const { queue, consumer, metrics } = setup(0.2);
    await queue.send('lost');
    let aborted = false;
    const handler = async (m: HeldMessage<string>): Promise<Settlement> => {
      // Simulate a stall: the message becomes visible and another worker receives it.
      await queue.extendVisibility(m.message.receiptHandle, 0);
      const [stolen] = await queue.receive({ visibilityTimeoutSeconds: 30 });
      expect(stolen?.body).toBe('lost');
      for (let i = 0; i < 20 && !m.signal.aborted; i++) await sleep(50);
      aborted = m.signal.aborted;
      return 'ack';
    };
    // Act
    await consumer.poll(0, handler);
    // Assess: the signal fired, and this worker's 'ack' was not applied (the other worker still holds it)
    expect(aborted).toBe(true);
    expect(consumer.staleReceipts).toBe(1);
    expect(metrics.total('StaleReceipts')).toBe(1);
    expect(queue.size()).toBe(1);
    consumer.close();
  });

  it('leaves a malformed message for the dead-letter queue while the loop goes on with the others', async () => {
    // Prepare
    const { queue, dlq, consumer, metrics } = setup(0.05);
    await queue.send('{bad json');
    await queue.send('good');
    const handled: string[] = [];
    // Act: poll until the queue is empty (the malformed one comes back until it is dead-lettered)
    for (let i = 0; i < 10 && queue.size() > 0; i++) {
      await consumer.poll(0, async (m) => {
        handled.push(m.record);
        return 'ack';
      });
      await sleep(80);
    }
    // Assess
    expect(handled).toEqual(['good']);
    expect(dlq.size()).toBe(1);
    expect(metrics.total('Failures')).toBeGreaterThanOrEqual(2);
    consumer.close();
  });

  it("settles per record: 'retry' and a thrown error redeliver, 'hold' keeps the message until ack()", async () => {
    // Prepare
    const { queue, consumer } = setup(0.2);
    for (const b of ['ok', 'retry', 'throws', 'hold']) await queue.send(b);
    let held: HeldMessage<string> | undefined;
    // Act
    await consumer.poll(0, async (m) => {
      if (m.record === 'throws') throw new Error('boom');
      if (m.record === 'hold') held = m;
      return m.record === 'ok' ? 'ack' : m.record === 'retry' ? 'retry' : 'hold';
    });
    await sleep(500); // beyond the visibility timeout: released ones are visible again, the held one is not
    const again = await queue.receive({ maxMessages: 10, visibilityTimeoutSeconds: 30 });
    // Assess
    expect(again.map((m) => m.body).sort()).toEqual(['retry', 'throws']);
    expect(consumer.holds(held!.message.receiptHandle)).toBe(true);
    await consumer.ack([held!.message.receiptHandle]);
    expect(queue.size()).toBe(2);
    consumer.close();
  });
});
