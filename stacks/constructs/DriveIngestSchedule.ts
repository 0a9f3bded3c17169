/**
 * drive-ingest for one Drive source: an ECS task run by an EventBridge Scheduler schedule (the
 * source's cron, UTC). The service-account key comes from Secrets Manager (by name) as an ECS
 * secret; the task may write only its target prefix and the `_xregion/` state prefix.
 */
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { DriveSource } from '../../shared/config';
import { DEFAULTS } from '../defaults';
import { bucketArn, KMS_ENCRYPT_DECRYPT, kmsStatement, objectsArn, S3_READ_ACTIONS, S3_WRITE_ACTIONS } from '../iam';
import { DRIVE_STATE_PREFIX } from '../names';
import { acknowledge, grantScoped } from '../nag';
import { serviceTaskDefinition } from './QueueService';
import type { ServicePlatform } from './ServicePlatform';

export interface DriveIngestScheduleProps {
  readonly platform: ServicePlatform;
  readonly drive: DriveSource;
  /** XREGION_CONFIG: the Drive source plus its rules. */
  readonly configJson: string;
  /** KMS key of the target bucket, when it is SSE-KMS. */
  readonly bucketKeyArn?: string;
  /** Key of the schedule's dead-letter queue. */
  readonly queueKey: kms.IKey;
}

export class DriveIngestSchedule extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly schedule: scheduler.Schedule;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DriveIngestScheduleProps) {
    super(scope, id);
    const { drive, platform } = props;
    const secret = secretsmanager.Secret.fromSecretNameV2(this, 'Credentials', drive.credentials_secret);
    const { taskDefinition } = serviceTaskDefinition(
      this,
      platform,
      'drive-ingest',
      DEFAULTS.driveIngest,
      { XREGION_CONFIG: props.configJson, XREGION_DRIVE_SOURCE: drive.name },
      { XREGION_DRIVE_CREDENTIALS: ecs.Secret.fromSecretsManager(secret) },
    );
    this.taskDefinition = taskDefinition;
    // Downloads spool to disk (up to `concurrency` files at once, each up to max_file_size_mb):
    // size the task's ephemeral storage for that, within Fargate's 21..200 GiB.
    const limitMb = drive.max_file_size_mb || 10_240;
    const spoolGiB = Math.min(200, Math.max(21, Math.ceil((drive.concurrency * limitMb) / 1024) + 5));
    (taskDefinition.node.defaultChild as ecs.CfnTaskDefinition).ephemeralStorage = { sizeInGiB: spoolGiB };

    const bucket = drive.target.bucket;
    const writable = [objectsArn(bucket, drive.target.prefix), objectsArn(bucket, DRIVE_STATE_PREFIX)];
    const role = taskDefinition.taskRole;
    grantScoped(
      role,
      'drive-ingest reads and writes only the Drive target prefix and the _xregion/ state prefix of its bucket (and that bucket\'s key when it is named by alias).',
      // A moved or renamed Drive file is copied server-side from a specific version: GetObjectVersion(Tagging).
      new iam.PolicyStatement({ actions: [...S3_WRITE_ACTIONS, 's3:PutObjectTagging', ...S3_READ_ACTIONS, 's3:DeleteObject'], resources: writable }),
      // ListBucket makes a missing key a 404 rather than a 403 (state objects are read by key).
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(bucket)] }),
      ...(props.bucketKeyArn ? [kmsStatement(KMS_ENCRYPT_DECRYPT, props.bucketKeyArn)] : []),
    );

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.queueKey,
      enforceSSL: true,
      retentionPeriod: DEFAULTS.dlqRetention,
    });
    acknowledge(this.deadLetterQueue, 'This queue is the dead-letter queue of the schedule.', 'AwsSolutions-SQS3');

    // The schedule's own role, so it can also use the KMS key of its dead-letter queue.
    const scheduleRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `Runs drive-ingest ${drive.name}`,
    });
    props.queueKey.grant(scheduleRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    const target = new schedulerTargets.EcsRunFargateTask(platform.cluster, {
      role: scheduleRole,
      taskDefinition,
      vpcSubnets: platform.taskSubnets,
      securityGroups: [platform.securityGroup as ec2.ISecurityGroup],
      assignPublicIp: true,
      platformVersion: ecs.FargatePlatformVersion.VERSION1_4,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(drive.schedule),
      target,
      description: `drive-ingest ${drive.name}: ${drive.domain} → s3://${bucket}/${drive.target.prefix}`,
    });
  }
}
