/**
 * queue: the Queue port (port.ts states the at-least-once contract), its typed errors, and its
 * adapters: SQS (`sqs/`, also moto; dead-lettering by redrive policy) and an in-process queue
 * (`local/`, the embedded default, optionally persisted to a folder).
 */
export * from './port';
export * from './errors';
export { createQueue, type QueueConfig } from './factory';
export { SqsQueue, createSqsClient, type SqsQueueConfig } from './sqs/SqsQueue';
export { LocalQueue, type LocalQueueConfig } from './local/LocalQueue';
export { QueueConsumer, type HeldMessage, type QueueConsumerOptions, type Settlement } from './QueueConsumer';
export { classifyFailure, type FailureKind } from './failures';
