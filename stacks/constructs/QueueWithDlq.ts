/**
 * A work queue with its dead-letter queue: KMS-encrypted, TLS only; a message moves to the
 * DLQ after DEFAULTS.maxReceiveCount receives. The stacks name both queues after the topology
 * model's QueuePlan (`queueName`, `deadLetterQueueName`).
 */
import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import { acknowledge } from '../nag';

export interface QueueWithDlqProps {
  /** Customer-managed key of both queues. */
  readonly encryptionKey: kms.IKey;
  /** @default DEFAULTS.visibilityTimeout */
  readonly visibilityTimeout?: Duration;
  /** @default DEFAULTS.maxReceiveCount */
  readonly maxReceiveCount?: number;
  /** Name of the work queue (the topology model's QueuePlan.name). @default a CloudFormation-generated name */
  readonly queueName?: string;
  /** Name of the dead-letter queue (QueuePlan.deadLetter). @default a CloudFormation-generated name */
  readonly deadLetterQueueName?: string;
}

export class QueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'Dlq', {
      queueName: props.deadLetterQueueName,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      retentionPeriod: DEFAULTS.dlqRetention,
    });
    acknowledge(this.deadLetterQueue, 'This queue is the dead-letter queue.', 'AwsSolutions-SQS3');
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: props.queueName,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout ?? DEFAULTS.visibilityTimeout,
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? DEFAULTS.maxReceiveCount },
    });
  }
}
