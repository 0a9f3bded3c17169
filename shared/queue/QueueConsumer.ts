/**
 * The one queue-consumer primitive of every queue-driven service (modelled on Powertools' batch
 * processor: a record handler reports success or failure per record).
 *
 * - Every received message is heartbeated (its visibility extended every third of the timeout)
 *   from the moment it is received until it is settled, not only while its turn comes.
 * - A message whose receipt went stale (StaleReceiptError from the heartbeat: it was redelivered
 *   to someone else) is dropped from the held set and its `signal` aborts: the handler must stop
 *   working on it, and it is never acknowledged by this worker.
 * - A malformed message (parse throws) is logged and counted, never acknowledged: after the
 *   queue's maxReceiveCount it moves to the dead-letter queue, where the alarm fires. The loop
 *   goes on with the other messages.
 * - The handler settles each message: 'ack' (delete), 'retry' (stop extending; it is redelivered
 *   when its visibility runs out) or 'hold' (keep extending; the caller settles it later with
 *   ack()/release(), as the compressor does once every batch holding it is uploaded). A handler
 *   that throws counts as 'retry', its error classified once by classifyFailure().
 */
import type { ServiceLogger, ServiceMetrics } from '../observability';
import { StaleReceiptError } from './errors';
import { classifyFailure } from './failures';
import type { Queue, QueueMessage } from './port';

/** A received message while this worker holds it. */
export interface HeldMessage<T> {
  readonly message: QueueMessage;
  readonly record: T;
  /** Aborts when the receipt went stale: stop working on this message. */
  readonly signal: AbortSignal;
}

export type Settlement = 'ack' | 'retry' | 'hold';

export interface QueueConsumerOptions<T> {
  queue: Queue;
  /** Decodes a message body; throwing marks it malformed (never acknowledged). */
  parse: (body: string) => T;
  visibilityTimeoutSeconds: number;
  logger: ServiceLogger;
  metrics: ServiceMetrics;
  /** Up to this many messages per receive (default 10, SQS's maximum). */
  maxMessages?: number;
}

interface Holding {
  message: QueueMessage;
  controller: AbortController;
}

export class QueueConsumer<T> {
  private readonly held = new Map<string, Holding>();
  private timer: NodeJS.Timeout | undefined;
  /** Messages whose receipt went stale while held, since the consumer was made. */
  staleReceipts = 0;
  /** Malformed messages received (each delivery counted), since the consumer was made. */
  malformed = 0;

  constructor(private readonly opts: QueueConsumerOptions<T>) {}

  /** Number of messages held (received and not yet settled). */
  get heldCount(): number {
    return this.held.size;
  }

  /** Receives up to maxMessages; every one is held (and heartbeated) from now on. Malformed ones are released at once. */
  async receive(waitSeconds: number): Promise<HeldMessage<T>[]> {
    return (await this.receiveCounted(waitSeconds)).held;
  }

  /** receive(), and how many messages arrived (malformed ones included). */
  private async receiveCounted(waitSeconds: number): Promise<{ held: HeldMessage<T>[]; received: number }> {
    const { queue, logger, metrics } = this.opts;
    const messages = await queue.receive({ maxMessages: this.opts.maxMessages ?? 10, waitSeconds, visibilityTimeoutSeconds: this.opts.visibilityTimeoutSeconds });
    const out: HeldMessage<T>[] = [];
    for (const message of messages) {
      let record: T;
      try {
        record = this.opts.parse(message.body);
      } catch (err) {
        // Never acknowledged: after maxReceiveCount the queue moves it to the dead-letter queue.
        logger.error('malformed queue message; left for the dead-letter queue', { messageId: message.id, receiveCount: message.receiveCount, error: (err as Error).message });
        metrics.add('Failures', 'Count', 1, { reason: 'MalformedMessage' });
        this.malformed++;
        continue;
      }
      const controller = new AbortController();
      this.held.set(message.receiptHandle, { message, controller });
      out.push({ message, record, signal: controller.signal });
    }
    if (this.held.size > 0) this.startHeartbeat();
    return { held: out, received: messages.length };
  }

  /** Acknowledges (deletes) messages this worker still holds; stale ones are skipped. */
  async ack(receipts: readonly string[]): Promise<void> {
    const live = receipts.filter((r) => this.held.has(r));
    if (live.length === 0) return;
    try {
      await this.opts.queue.deleteBatch(live);
    } finally {
      // On failure too: they redeliver, and the handlers' records make the repeat a no-op.
      for (const r of live) this.held.delete(r);
      this.stopWhenIdle();
    }
  }

  /** Stops holding a message: it is redelivered once its visibility runs out. */
  release(receipt: string): void {
    this.held.delete(receipt);
    this.stopWhenIdle();
  }

  /** True while this worker still owns the message (not settled, receipt not stale). */
  holds(receipt: string): boolean {
    return this.held.has(receipt);
  }

  /**
   * One receive, then the handler on each message in turn (all of them heartbeated meanwhile);
   * settles each by the handler's answer. Returns the number of messages received, malformed
   * ones included (so a drain loop does not stop at a receive that held only malformed messages).
   */
  async poll(waitSeconds: number, handler: (m: HeldMessage<T>) => Promise<Settlement>): Promise<number> {
    const { held, received } = await this.receiveCounted(waitSeconds);
    const acks: string[] = [];
    for (const m of held) {
      const settlement = await this.settle(m, handler);
      if (settlement === 'ack') acks.push(m.message.receiptHandle);
      else if (settlement === 'retry') this.release(m.message.receiptHandle);
    }
    await this.ack(acks);
    return received;
  }

  /** Stops the heartbeat and forgets every held message (they redeliver). */
  close(): void {
    this.held.clear();
    this.stopWhenIdle();
  }

  private async settle(m: HeldMessage<T>, handler: (m: HeldMessage<T>) => Promise<Settlement>): Promise<Settlement> {
    if (m.signal.aborted) return 'retry';
    try {
      const s = await handler(m);
      return m.signal.aborted ? 'retry' : s;
    } catch (err) {
      const kind = classifyFailure(err);
      this.opts.metrics.add('Failures', 'Count', 1, { reason: (err as Error).name || 'Error' });
      this.opts.logger.error('message failed; it will be redelivered', { messageId: m.message.id, receiveCount: m.message.receiveCount, kind, error: (err as Error).message });
      return 'retry';
    }
  }

  private startHeartbeat(): void {
    if (this.timer) return;
    const seconds = this.opts.visibilityTimeoutSeconds;
    // Extend well before the timeout runs out, whatever its length.
    this.timer = setInterval(() => this.beat(seconds), Math.max(50, (seconds * 1000) / 3));
    this.timer.unref();
  }

  private beat(seconds: number): void {
    for (const [receipt, h] of this.held) {
      this.opts.queue.extendVisibility(receipt, seconds).catch((err: unknown) => {
        if (err instanceof StaleReceiptError) {
          if (!this.held.delete(receipt)) return;
          this.staleReceipts++;
          h.controller.abort(err);
          this.opts.metrics.add('StaleReceipts', 'Count', 1);
          this.opts.logger.warn('lost a message (receipt went stale): stopping work on it', { messageId: h.message.id });
          this.stopWhenIdle();
          return;
        }
        this.opts.logger.warn('could not extend message visibility', { messageId: h.message.id, error: (err as Error).message });
      });
    }
  }

  private stopWhenIdle(): void {
    if (this.held.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
