/** Pick the Queue adapter from a typed config. */
import { LocalQueue, type LocalQueueConfig } from './local/LocalQueue';
import type { Queue } from './port';
import { SqsQueue, type SqsQueueConfig } from './sqs/SqsQueue';

export type QueueConfig = ({ kind: 'sqs' } & SqsQueueConfig) | ({ kind: 'local' } & LocalQueueConfig);

/** The adapter for `cfg.kind`: 'sqs' (AWS or an emulator endpoint) or 'local' (in-process). */
export function createQueue(cfg: { kind: 'sqs' } & SqsQueueConfig): SqsQueue;
export function createQueue(cfg: { kind: 'local' } & LocalQueueConfig): LocalQueue;
export function createQueue(cfg: QueueConfig): Queue;
export function createQueue(cfg: QueueConfig): Queue {
  switch (cfg.kind) {
    case 'sqs':
      return new SqsQueue(cfg);
    case 'local':
      return new LocalQueue(cfg);
  }
}
