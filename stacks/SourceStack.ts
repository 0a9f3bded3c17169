/**
 * The stack of one source region: per rule, the source bucket's notification to a queue and a
 * compressor service; the outbound staging bucket replicating to each target region's staging
 * bucket (addressed by deterministic name and key alias); drive-ingest schedules; monitoring.
 */
import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type { Construct } from 'constructs';
import { type Config, type ReplicationRule } from '../shared/config';
import { accessLogBucket, secureBucketProps } from './constructs/buckets';
import { DriveIngestSchedule } from './constructs/DriveIngestSchedule';
import { insights, Monitoring } from './constructs/Monitoring';
import { QueueService } from './constructs/QueueService';
import { QueueWithDlq } from './constructs/QueueWithDlq';
import { ServicePlatform, tokenAvailabilityZones } from './constructs/ServicePlatform';
import { StagingBucket, type StagingReplication } from './constructs/StagingBucket';
import { DEFAULTS } from './defaults';
import { bucketArn, joinKey, KMS_ENCRYPT_DECRYPT, kmsStatement, objectsArn, S3_READ_ACTIONS, S3_WRITE_ACTIONS, s3ViaService } from './iam';
import { kmsAliasArn, outboxBucketName, outboxKeyAlias, sourceStackName, stagingBucketName, stagingKeyAlias } from './names';
import { compressorConfig, driveIngestConfig } from './runtime';
import { acknowledgeBucketNotificationsHandler, grantScoped } from './nag';

export interface SourceStackProps extends StackProps {
  readonly config: Config;
  readonly account: string;
  readonly region: string;
  /** Fargate Spot for the compressor. @default true */
  readonly spot?: boolean;
}

/** Staging key prefix of a rule's archives: `{source_bucket}/{prefix_filter}`. */
export const stagingPrefix = (rule: ReplicationRule): string => joinKey(rule.source.bucket, rule.source.prefix_filter);

export class SourceStack extends Stack {
  readonly outbox: StagingBucket;
  readonly compressors: QueueService[] = [];
  readonly queues: QueueWithDlq[] = [];
  readonly driveIngests: DriveIngestSchedule[] = [];
  readonly monitoring: Monitoring;

  constructor(scope: Construct, props: SourceStackProps) {
    const { config, account, region } = props;
    super(scope, sourceStackName(config.stack_name, region), {
      ...props,
      env: { account, region },
      description: `xregion ${config.stack_name}: source region ${region} (compressor, outbound staging, replication)`,
    });
    const name = config.stack_name;
    const rules = config.replication_configuration.filter((r) => r.source.region === region);
    const drives = config.drive_sources.filter((d) => d.target.region === region);

    const opsKey = new kms.Key(this, 'OpsKey', { enableKeyRotation: true, description: `${this.stackName}: queues and alarm topic`, removalPolicy: RemovalPolicy.DESTROY });
    const accessLogs = accessLogBucket(this, 'AccessLogs');
    const platform = new ServicePlatform(this, 'Platform');
    this.monitoring = new Monitoring(this, 'Monitoring', { key: opsKey, emails: config.notification_emails, dashboardName: this.stackName });

    this.outbox = new StagingBucket(this, 'Outbox', {
      bucketName: outboxBucketName(name, account, region),
      keyAlias: outboxKeyAlias(name),
      accessLogs,
      expireObjectsAfter: DEFAULTS.outboxExpiration,
    });
    this.outbox.addReplication(replicationsOf(config, rules, account));

    const sourceBuckets = this.sourceBuckets(config, rules, accessLogs);
    rules.forEach((rule, i) => {
      const work = new QueueWithDlq(this, `Rule${i}Queue`, { encryptionKey: opsKey });
      const filters = [
        ...(rule.source.prefix_filter ? [{ prefix: rule.source.prefix_filter }] : []),
        ...(rule.source.suffix_filter ? [{ suffix: rule.source.suffix_filter }] : []),
      ];
      sourceBuckets.get(rule.source.bucket)!.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(work.queue), ...filters);
      const s = rule.source.scaling;
      const compressor = new QueueService(this, `Rule${i}Compressor`, {
        platform,
        role: 'compressor',
        work,
        cpu: s.cpu,
        memory: s.memory,
        minTasks: s.min_tasks,
        maxTasks: s.max_tasks,
        backlogPerTask: s.backlog_per_task,
        spot: props.spot,
        environment: { XREGION_STAGING_BUCKET: this.outbox.bucketName, XREGION_CONFIG: compressorConfig(config, rule) },
      });
      this.grantCompressor(compressor, rule);
      if (!rule.source.prefix_filter && drives.some((d) => d.target.bucket === rule.source.bucket)) {
        Annotations.of(work).addWarningV2(
          'xregion:driveStateNotified',
          `Rule ${i} reads all of s3://${rule.source.bucket}/ (empty prefix_filter), which also holds drive-ingest's _xregion/ state: S3 cannot exclude a prefix, so the compressor receives those events and must drop them. Give the rule a prefix_filter to avoid it.`,
        );
      }
      this.queues.push(work);
      this.compressors.push(compressor);
      this.monitoring.watchQueue(`compressor ${rule.source.bucket}/${rule.source.prefix_filter}`, work);
    });

    drives.forEach((drive, i) => {
      const keyArn = config.replication_configuration.find((r) => r.source.bucket === drive.target.bucket && r.source.kms_key_arn)?.source.kms_key_arn;
      const ingest = new DriveIngestSchedule(this, `Drive${i}Ingest`, {
        platform,
        drive,
        configJson: driveIngestConfig(config, drive),
        bucketKeyArn: keyArn || undefined,
        queueKey: opsKey,
      });
      this.driveIngests.push(ingest);
      this.monitoring.watchDeadLetterQueue(`drive-ingest ${drive.name} schedule`, ingest.deadLetterQueue);
    });

    if (rules.length > 0) {
      this.monitoring.alarmOnServiceMetric('CompressorFailures', 'compressor', 'Failures', 'compressor: batches failed (see the Failures metric by reason)');
      this.addDashboard();
    }
    this.monitoring.watchClusterTasks(platform.cluster);
    this.monitoring.finish();
    new CfnOutput(this, 'OutboxBucket', { value: this.outbox.bucketName, description: 'Outbound staging bucket (compressor archives, replicated to the target regions)' });
    new CfnOutput(this, 'AlarmTopic', { value: this.monitoring.topic.topicArn, description: 'SNS topic of the alarms' });
    acknowledgeBucketNotificationsHandler(this);
  }

  /** No AZ lookup at synth: two AZs by position. */
  override get availabilityZones(): string[] {
    return tokenAvailabilityZones();
  }

  /** The buckets rules read: created when a Drive source creates them, imported otherwise. */
  private sourceBuckets(config: Config, rules: ReplicationRule[], accessLogs: s3.IBucket): Map<string, s3.IBucket> {
    const buckets = new Map<string, s3.IBucket>();
    const names = [...new Set([...rules.map((r) => r.source.bucket), ...config.drive_sources.filter((d) => d.target.region === this.region).map((d) => d.target.bucket)])];
    names.forEach((bucketName, i) => {
      const create = config.drive_sources.some((d) => d.target.bucket === bucketName && d.target.create_bucket);
      if (!create) {
        buckets.set(bucketName, s3.Bucket.fromBucketName(this, `Source${i}`, bucketName));
        return;
      }
      const keyArn = config.replication_configuration.find((r) => r.source.bucket === bucketName && r.source.kms_key_arn)?.source.kms_key_arn;
      buckets.set(
        bucketName,
        new s3.Bucket(this, `Source${i}`, {
          ...secureBucketProps(accessLogs, `${bucketName}/`),
          bucketName,
          versioned: true,
          ...(keyArn
            ? { encryption: s3.BucketEncryption.KMS, encryptionKey: kms.Key.fromKeyArn(this, `Source${i}Key`, keyArn), bucketKeyEnabled: true }
            : { encryption: s3.BucketEncryption.S3_MANAGED }),
          lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
        }),
      );
    });
    return buckets;
  }

  /** Compressor: read the rule's source objects (by version), write its prefix of the outbox. */
  private grantCompressor(compressor: QueueService, rule: ReplicationRule): void {
    const role = compressor.taskRole;
    const src = rule.source;
    grantScoped(
      role,
      "The compressor reads the rule's source prefix (by version) and writes the same prefix of the outbox; a key named by alias is the key carrying that alias.",
      new iam.PolicyStatement({ actions: S3_READ_ACTIONS, resources: [objectsArn(src.bucket, src.prefix_filter)] }),
      // ListBucket turns a deleted object into NoSuchKey (skipped) instead of AccessDenied (retried).
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(src.bucket)] }),
      ...(src.kms_key_arn ? [kmsStatement(['kms:Decrypt'], src.kms_key_arn, s3ViaService(src.region))] : []),
      new iam.PolicyStatement({ actions: S3_WRITE_ACTIONS, resources: [objectsArn(this.outbox.bucketName, stagingPrefix(rule))] }),
    );
    this.outbox.key.grant(role, ...KMS_ENCRYPT_DECRYPT);
  }

  private addDashboard(): void {
    const m = this.monitoring;
    const q = (expr: string, label: string) => insights(`${expr} FROM ${DEFAULTS.metricsNamespace} WHERE service = 'compressor'`, label);
    m.addWidgets(
      new cloudwatch.GraphWidget({ title: 'compressor: running tasks', left: this.compressors.map((c, i) => c.runningTasks().with({ label: `rule ${i}` })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'compressor: compression ratio', left: [q('SELECT AVG(CompressionRatio)', 'ratio')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'compressor: objects archived', left: [q('SELECT SUM(ObjectsArchived)', 'objects')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'compressor: bytes in / out', left: [q('SELECT SUM(BytesIn)', 'bytes in'), q('SELECT SUM(BytesOut)', 'bytes out')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'compressor: batch duration (ms)', left: [q('SELECT AVG(BatchDuration)', 'avg'), q('SELECT MAX(BatchDuration)', 'max')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'compressor: failures', left: [q('SELECT SUM(Failures)', 'failures')], width: 8 }),
    );
  }
}

/** Replication rules of the outbox: one per (rule prefix, destination region), deduplicated. */
export function replicationsOf(config: Config, rules: readonly ReplicationRule[], account: string): StagingReplication[] {
  const seen = new Map<string, StagingReplication>();
  for (const rule of rules) {
    for (const region of [...new Set(rule.destinations.map((d) => d.region))].sort()) {
      const prefix = stagingPrefix(rule);
      const key = `${region} ${prefix}`;
      const prior = seen.get(key);
      seen.set(key, {
        prefix,
        destinationRegion: region,
        destinationBucket: stagingBucketName(config.stack_name, account, region),
        replicaKeyArn: kmsAliasArn(region, account, stagingKeyAlias(config.stack_name)),
        replicationTimeControl: (prior?.replicationTimeControl ?? false) || rule.source.replication_time_control,
      });
    }
  }
  // A prefix covered by a shorter one to the same region would be a second, overlapping rule.
  const all = [...seen.values()];
  return all
    .filter((r) => !all.some((o) => o !== r && o.destinationRegion === r.destinationRegion && r.prefix.startsWith(o.prefix) && o.prefix !== r.prefix))
    .map((r) => ({
      ...r,
      replicationTimeControl: all.some((o) => o.destinationRegion === r.destinationRegion && o.prefix.startsWith(r.prefix) && o.replicationTimeControl),
    }));
}
