/** Queue on Amazon SQS (and moto). Dead-lettering is the queue's redrive policy, set by CDK. */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { awsClientOptions, type AwsConnectionConfig } from '../../storage/s3/s3Client';
import { QueueError, StaleReceiptError } from '../errors';
import type { Queue, QueueMessage, ReceiveOptions } from '../port';

export interface SqsQueueConfig extends AwsConnectionConfig {
  queueUrl: string;
  /** Use this client instead of building one from the connection settings. */
  client?: SQSClient;
}

/** An SQSClient for this connection (emulator settings when `endpoint` is set). */
export function createSqsClient(cfg: AwsConnectionConfig): SQSClient {
  return new SQSClient(awsClientOptions(cfg));
}

const STALE = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight', 'InvalidParameterValue', 'AWS.SimpleQueueService.MessageNotInflight']);

export class SqsQueue implements Queue {
  readonly client: SQSClient;
  readonly queueUrl: string;

  constructor(cfg: SqsQueueConfig) {
    this.client = cfg.client ?? createSqsClient(cfg);
    this.queueUrl = cfg.queueUrl;
  }

  async send(body: string): Promise<void> {
    await this.call(() => this.client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: body })));
  }

  async receive(opts: ReceiveOptions = {}): Promise<QueueMessage[]> {
    const r = await this.call(() =>
      this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(10, Math.max(1, opts.maxMessages ?? 1)),
          WaitTimeSeconds: Math.min(20, Math.max(0, Math.round(opts.waitSeconds ?? 0))),
          VisibilityTimeout: opts.visibilityTimeoutSeconds !== undefined ? Math.round(opts.visibilityTimeoutSeconds) : undefined,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      ),
    );
    return (r.Messages ?? []).map((m) => ({
      id: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? '1'),
    }));
  }

  async extendVisibility(receiptHandle: string, seconds: number): Promise<void> {
    try {
      await this.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.max(0, Math.round(seconds)) }),
      );
    } catch (err) {
      if (STALE.has((err as { name?: string }).name ?? '')) throw new StaleReceiptError(this.queueUrl, { cause: err });
      throw this.translate(err);
    }
  }

  async deleteBatch(receiptHandles: string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const chunk = receiptHandles.slice(i, i + 10);
      const r = await this.call(() =>
        this.client.send(
          new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: chunk.map((h, j) => ({ Id: String(j), ReceiptHandle: h })) }),
        ),
      );
      // A stale handle is not an error (the message may be gone already); anything else is.
      const failed = (r.Failed ?? []).filter((f) => !STALE.has(f.Code ?? ''));
      if (failed.length > 0) {
        throw new QueueError(
          `${this.queueUrl}: delete failed for ${failed.length} message(s): ${failed.map((f) => `${f.Code}: ${f.Message}`).join('; ')}`,
          this.queueUrl,
          failed.some((f) => f.SenderFault === false),
        );
      }
    }
  }

  async approximateDepth(): Promise<number> {
    const r = await this.call(() =>
      this.client.send(new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })),
    );
    return Number(r.Attributes?.ApproximateNumberOfMessages ?? '0');
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.translate(err);
    }
  }

  private translate(err: unknown): QueueError {
    if (err instanceof QueueError) return err;
    const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; code?: string };
    const status = e.$metadata?.httpStatusCode;
    const retryable =
      Boolean(e.$retryable) || status === 429 || (status !== undefined && status >= 500) || /Throttl|RequestThrottled|ServiceUnavailable/.test(e.name ?? '') ||
      ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e.code ?? '');
    return new QueueError(`${this.queueUrl}: ${e.name ?? 'error'}: ${e.message ?? String(err)}`, this.queueUrl, retryable, { cause: err });
  }
}
