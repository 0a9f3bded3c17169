/**
 * The Queue port: at-least-once message delivery (SQS semantics).
 *
 * Contract every adapter guarantees:
 * - A received message is invisible for the visibility timeout, then redelivered unless
 *   deleted. `receiveCount` counts deliveries including this one.
 * - After `maxReceiveCount` deliveries without a delete, the message moves to the dead-letter
 *   queue (configured on the queue, as SQS redrive policies are).
 * - Deleting with a stale receipt handle is not an error (the message may already be gone, or
 *   was redelivered: then, as on SQS, only the newest receipt handle deletes it).
 * - extendVisibility with a stale handle MAY fail with StaleReceiptError (the local queue always
 *   does; SQS only when it notices): a worker that gets it lost the message and should stop.
 * - receive() options are clamped to SQS's ranges; the local queue accepts fractional seconds.
 * - Messages may arrive out of order and more than once: consumers must be idempotent.
 */
export interface QueueMessage {
  id: string;
  receiptHandle: string;
  body: string;
  /** Deliveries so far, including this one (SQS ApproximateReceiveCount). */
  receiveCount: number;
}

export interface ReceiveOptions {
  /** 1..10 */
  maxMessages?: number;
  /** Long-poll wait, 0..20 s. */
  waitSeconds?: number;
  /** Override the queue's visibility timeout for these messages. */
  visibilityTimeoutSeconds?: number;
}

export interface Queue {
  /** Send one message body. */
  send(body: string): Promise<void>;
  /** Long-poll for up to maxMessages messages; [] when none arrived in time. */
  receive(opts?: ReceiveOptions): Promise<QueueMessage[]>;
  /** Keep a message invisible for `seconds` more from now. */
  extendVisibility(receiptHandle: string, seconds: number): Promise<void>;
  /** Acknowledge messages (any number; adapters chunk by 10). */
  deleteBatch(receiptHandles: string[]): Promise<void>;
  /** Approximate number of visible messages. */
  approximateDepth(): Promise<number>;
}
