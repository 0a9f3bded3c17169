/** S3-style event notifications for the local ObjectStore: rules, matching, sequencers. */
import type { Queue } from '../../queue/port';
import { buildS3Event } from '../s3Event';

/** Like one QueueConfiguration of S3's PutBucketNotificationConfiguration. */
export interface LocalNotificationRule {
  /** configurationId in the events (default: 'local-<bucket>'). */
  id?: string;
  bucket: string;
  /** Key filters, as S3's `prefix` / `suffix` filter rules. */
  prefix?: string;
  suffix?: string;
  /** S3 event types: 's3:ObjectCreated:*', 's3:ObjectCreated:Put', 's3:ObjectCreated:Copy', ... */
  events: string[];
  queue: Queue;
}

/** The local store's ObjectCreated event names (as S3's). */
export type LocalEventName = 'ObjectCreated:Put' | 'ObjectCreated:Copy' | 'ObjectCreated:CompleteMultipartUpload';

/** Does `rule` want event `eventName` (no `s3:` prefix) for `key`? */
export function ruleMatches(rule: LocalNotificationRule, bucket: string, key: string, eventName: string): boolean {
  if (rule.bucket !== bucket) return false;
  if (rule.prefix && !key.startsWith(rule.prefix)) return false;
  if (rule.suffix && !key.endsWith(rule.suffix)) return false;
  const full = `s3:${eventName}`;
  return rule.events.some((e) => e === full || (e.endsWith(':*') && full.startsWith(e.slice(0, -1))));
}

/** Does any rule want this event? When none does, no event is sent and nothing waits for one. */
export function anyRuleMatches(rules: readonly LocalNotificationRule[], bucket: string, key: string, eventName: string): boolean {
  return rules.some((r) => ruleMatches(r, bucket, key, eventName));
}

let lastSequencer = 0n;

/** Monotonic hex sequencer (per process), comparable as S3's are: pad, then compare strings. */
export function nextSequencer(): string {
  const now = BigInt(Date.now()) << 12n;
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(16, '0');
}

export interface CreatedObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  versionId: string;
}

/** Send one event to every matching rule's queue (awaited: at-least-once, like S3). */
export async function notify(
  rules: readonly LocalNotificationRule[],
  region: string,
  eventName: LocalEventName,
  obj: CreatedObject,
): Promise<void> {
  const matching = rules.filter((r) => ruleMatches(r, obj.bucket, obj.key, eventName));
  if (matching.length === 0) return;
  const sequencer = nextSequencer();
  for (const rule of matching) {
    const body = buildS3Event([{ ...obj, eventName, awsRegion: region, sequencer, configurationId: rule.id ?? `local-${obj.bucket}` }]);
    await rule.queue.send(body);
  }
}

/** A queue that can persist many messages at once (LocalQueue.sendBatch: one file, one sync). */
interface BatchQueue extends Queue {
  sendBatch(bodies: string[]): Promise<void>;
}

function canBatch(q: Queue): q is BatchQueue {
  return typeof (q as Partial<BatchQueue>).sendBatch === 'function';
}

/** notifyBatch failed: the events of `items[0..queued)` reached every queue, the rest may not have. */
export class BatchNotifyError extends Error {
  constructor(
    readonly queued: number,
    options: { cause: unknown },
  ) {
    super(`events from item ${queued} on may not be queued: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`, options);
    this.name = 'BatchNotifyError';
  }
}

/**
 * notify() for many events (a scan's): each rule's queue gets its events in one sendBatch when it
 * has one (one message file and one sync for the lot), else one send at a time in order. Throws
 * BatchNotifyError saying how many items are known queued everywhere (0 when a batch failed).
 */
export async function notifyBatch(
  rules: readonly LocalNotificationRule[],
  region: string,
  items: ReadonlyArray<{ eventName: LocalEventName; obj: CreatedObject }>,
): Promise<void> {
  const sequencers = items.map(() => nextSequencer());
  const body = (rule: LocalNotificationRule, i: number): string => {
    const { eventName, obj } = items[i]!;
    return buildS3Event([{ ...obj, eventName, awsRegion: region, sequencer: sequencers[i]!, configurationId: rule.id ?? `local-${obj.bucket}` }]);
  };
  const wants = (rule: LocalNotificationRule, i: number): boolean => ruleMatches(rule, items[i]!.obj.bucket, items[i]!.obj.key, items[i]!.eventName);
  const batched = rules.filter((r) => canBatch(r.queue));
  const single = rules.filter((r) => !canBatch(r.queue));
  try {
    await Promise.all(
      batched.map((rule) => {
        const bodies = items.flatMap((_, i) => (wants(rule, i) ? [body(rule, i)] : []));
        return bodies.length > 0 ? (rule.queue as BatchQueue).sendBatch(bodies) : undefined;
      }),
    );
  } catch (err) {
    throw new BatchNotifyError(0, { cause: err });
  }
  for (let i = 0; i < items.length; i++) {
    try {
      for (const rule of single) if (wants(rule, i)) await rule.queue.send(body(rule, i));
    } catch (err) {
      throw new BatchNotifyError(i, { cause: err });
    }
  }
}
