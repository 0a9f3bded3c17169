/**
 * "An outbox archive older than N hours is not yet replicated": a Lambda run hourly by an
 * EventBridge rule HEADs the outbox's archives older than DEFAULTS.outboxUnreplicatedAfter and
 * emits OutboxArchivesUnreplicated (EMF in its own log group); an alarm fires on any, and another
 * when the check itself fails. Why a check beside the replication-failure alarm: S3 reports a
 * failed replication operation, but an archive stuck PENDING (a destination key or bucket policy
 * refusing nothing yet accepting nothing, a rule disabled by hand) or never covered by a rule
 * emits no failure, and the outbox expires it after 14 days. Why a Lambda and not S3 Inventory:
 * inventory reports replication status once a day at best, into a bucket something must then
 * read; the hourly HEADs cost cents (see `xregion cost`).
 *
 * Least privilege: ListBucket on the outbox only under the archive prefixes, GetObject (what HEAD
 * needs; HEAD of an SSE-KMS object needs no KMS permission) on those prefixes only, and writes
 * to its own log group; no PutMetricData (EMF).
 */
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import { bucketArn, objectsArn } from '../iam';
import { grantScoped } from '../nag';

/** Folder of the check's handler (plain JavaScript, staged as the function's asset). */
export const OUTBOX_AGE_HANDLER_DIR = path.resolve(__dirname, '..', 'functions', 'outbox-age');

export interface OutboxAgeCheckProps {
  readonly outboxBucket: string;
  /** The archive prefixes of the outbox (`{source_bucket}/{prefix_filter}` per rule). */
  readonly archivePrefixes: readonly string[];
  /** @default DEFAULTS.outboxUnreplicatedAfter */
  readonly unreplicatedAfter?: Duration;
}

export class OutboxAgeCheck extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  /** Maximum of OutboxArchivesUnreplicated per run (hourly). */
  readonly unreplicated: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: OutboxAgeCheckProps) {
    super(scope, id);
    const after = props.unreplicatedAfter ?? DEFAULTS.outboxUnreplicatedAfter;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: DEFAULTS.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `${Stack.of(this).stackName}: outbox-age check` });
    this.logGroup.grantWrite(role);
    grantScoped(
      role,
      "The outbox-age check lists and HEADs only the outbox's archive prefixes (one statement per rule prefix).",
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucketArn(props.outboxBucket)],
        conditions: { StringLike: { 's3:prefix': props.archivePrefixes.map((p) => `${p}*`) } },
      }),
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: props.archivePrefixes.map((p) => objectsArn(props.outboxBucket, p)) }),
    );
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(OUTBOX_AGE_HANDLER_DIR),
      role,
      logGroup: this.logGroup,
      timeout: Duration.minutes(5),
      memorySize: 256,
      description: `Counts outbox archives older than ${after.toHumanString()} not yet replicated`,
      environment: {
        OUTBOX_BUCKET: props.outboxBucket,
        ARCHIVE_PREFIXES: JSON.stringify(props.archivePrefixes),
        MIN_AGE_HOURS: String(after.toHours()),
      },
    });
    new events.Rule(this, 'Schedule', {
      description: 'Runs the outbox-age check hourly',
      schedule: events.Schedule.rate(DEFAULTS.outboxCheckInterval),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
    });
    this.unreplicated = new cloudwatch.Metric({
      namespace: DEFAULTS.metricsNamespace,
      metricName: 'OutboxArchivesUnreplicated',
      dimensionsMap: { service: 'outbox-check', bucket: props.outboxBucket },
      statistic: 'Maximum',
      period: DEFAULTS.outboxCheckInterval,
    });
  }
}
