/**
 * The stack of one source region, rendered from the topology model's plan of that region: per
 * compressor plan, the source bucket's notification to its named queue and a compressor service;
 * the outbox replicating to each target region's staging bucket (the model's replication plans,
 * with the replica key addressed by alias); drive-ingest schedules; monitoring. No bucket or queue
 * name is formatted here: every one comes from the model.
 */
import { Annotations, CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type { Construct } from 'constructs';
import { type Config } from '../shared/config';
import { BATCH_RECORDS_PREFIX, RECORDS_PREFIX, regionPlan, stagingPrefix, type CompressorPlan, type RegionPlan, type ReplicationPlan, type Topology } from '../shared/topology';
import { applyStackAspects } from './aspects';
import { accessLogBucket, accessLogsByBucketPolicy, secureBucketProps } from './constructs/buckets';
import { DriveIngestSchedule } from './constructs/DriveIngestSchedule';
import { insights, Monitoring } from './constructs/Monitoring';
import { QueueService } from './constructs/QueueService';
import { QueueWithDlq } from './constructs/QueueWithDlq';
import { ServicePlatform, tokenAvailabilityZones } from './constructs/ServicePlatform';
import { OutboxAgeCheck } from './constructs/OutboxAgeCheck';
import { replicationRuleId, StagingBucket, type StagingReplication } from './constructs/StagingBucket';
import { DEFAULTS } from './defaults';
import { bucketArn, KMS_ENCRYPT_DECRYPT, kmsStatement, objectsArn, S3_READ_ACTIONS, S3_WRITE_ACTIONS, s3ViaService } from './iam';
import { kmsAliasArn, outboxKeyAlias, sourceStackName, stagingKeyAlias } from './names';
import { compressorConfig, driveIngestConfig } from './runtime';
import { topologyOf } from './topology';
import { acknowledgeBucketNotificationsHandler, grantScoped } from './nag';

export interface SourceStackProps extends StackProps {
  readonly config: Config;
  readonly account: string;
  readonly region: string;
  /** The deployment's topology (buildApp builds it once for every stack). @default buildTopology(config, account) */
  readonly topology?: Topology;
  /** Fargate Spot for the compressor. @default true */
  readonly spot?: boolean;
}

/** The outbox replication rules of a region plan, as the StagingReplication construct takes them. */
export function stagingReplications(plan: RegionPlan, account: string, stackName: string): StagingReplication[] {
  return plan.replications.map((r: ReplicationPlan) => {
    if (r.fromRegion !== plan.region || r.fromBucket !== plan.outbox) throw new Error(`internal: replication ${r.prefix} → ${r.toRegion} does not start at the outbox of ${plan.region}`);
    // xregion's own records (batch records) live under _xregion/ and must never leave the region.
    if (!r.prefix || RECORDS_PREFIX.startsWith(r.prefix) || r.prefix.startsWith(RECORDS_PREFIX)) {
      throw new Error(`internal: replication prefix "${r.prefix}" of ${plan.region} would replicate xregion's records under ${RECORDS_PREFIX}`);
    }
    return {
      prefix: r.prefix,
      destinationRegion: r.toRegion,
      destinationBucket: r.toBucket,
      replicaKeyArn: kmsAliasArn(r.toRegion, account, stagingKeyAlias(stackName)),
      replicationTimeControl: r.replicationTimeControl,
    };
  });
}

export class SourceStack extends Stack {
  readonly plan: RegionPlan;
  /** The outbound staging bucket; absent where no rule reads a bucket (a region with Drive sources only). */
  readonly outbox?: StagingBucket;
  readonly compressors: QueueService[] = [];
  readonly queues: QueueWithDlq[] = [];
  readonly driveIngests: DriveIngestSchedule[] = [];
  readonly monitoring: Monitoring;
  /** The hourly check for outbox archives not replicated in time (where the outbox replicates). */
  readonly outboxAgeCheck?: OutboxAgeCheck;

  constructor(scope: Construct, props: SourceStackProps) {
    const { config, account, region } = props;
    super(scope, sourceStackName(config.stack_name, region), {
      ...props,
      env: { account, region },
      description: `xregion ${config.stack_name}: source region ${region} (compressor, outbound staging, replication)`,
    });
    // Before any child: the access-log flag is read from the context when buckets are created.
    accessLogsByBucketPolicy(this);
    applyStackAspects(this);
    const name = config.stack_name;
    const plan = regionPlan(topologyOf(props), region);
    this.plan = plan;
    const drives = plan.driveSources;

    const opsKey = new kms.Key(this, 'OpsKey', { enableKeyRotation: true, description: `${this.stackName}: queues and alarm topic`, removalPolicy: RemovalPolicy.DESTROY });
    const accessLogs = accessLogBucket(this, 'AccessLogs');
    const platform = new ServicePlatform(this, 'Platform');
    this.monitoring = new Monitoring(this, 'Monitoring', { key: opsKey, emails: config.notification_emails, dashboardName: this.stackName });

    if (plan.outbox) {
      const archivePrefixes = [...new Set(plan.compressors.map((c) => stagingPrefix(c.rule)))];
      this.outbox = new StagingBucket(this, 'Outbox', {
        bucketName: plan.outbox,
        keyAlias: outboxKeyAlias(name),
        accessLogs,
        expirations: [
          // Per rule prefix, not the whole bucket: the batch records under _xregion/ must outlive the archives.
          ...archivePrefixes.map((prefix, i) => ({ id: `expire-replicated-archives-${i} ${prefix}`.slice(0, 255), prefix, after: DEFAULTS.outboxExpiration })),
          { id: 'expire-batch-records', prefix: BATCH_RECORDS_PREFIX, after: DEFAULTS.batchRecordExpiration },
        ],
      });
      const replications = stagingReplications(plan, account, name);
      this.outbox.addReplication(replications);
      this.monitoring.alarmOnReplicationFailures(plan.outbox, replications.map((r) => ({ ruleId: replicationRuleId(r), destinationBucket: r.destinationBucket })));
      if (replications.length > 0) {
        this.outboxAgeCheck = new OutboxAgeCheck(this, 'OutboxAgeCheck', { outboxBucket: plan.outbox, archivePrefixes: [...new Set(replications.map((r) => r.prefix))] });
        const after = DEFAULTS.outboxUnreplicatedAfter.toHumanString();
        this.monitoring.alarmOn('OutboxUnreplicated', this.outboxAgeCheck.unreplicated, 1, `s3://${plan.outbox}: an archive older than ${after} is not replicated to every target region (see the outbox-age check's log for its key); the outbox expires archives after ${DEFAULTS.outboxExpiration.toHumanString()}`);
        this.monitoring.alarmOn('OutboxCheckErrors', this.outboxAgeCheck.function.metricErrors({ period: DEFAULTS.outboxCheckInterval, statistic: 'Sum' }), 1, `the outbox-age check of s3://${plan.outbox} failed: unreplicated archives would go unnoticed`);
      }
    }

    const sourceBuckets = this.sourceBuckets(config, plan, accessLogs);
    plan.compressors.forEach((c, i) => {
      const outbox = this.outbox!;
      const rule = c.rule;
      if (c.outbox !== outbox.bucketName || c.notification.queue !== c.queue.name) throw new Error(`internal: compressor ${c.ruleId} disagrees with its region plan`);
      const work = new QueueWithDlq(this, `Rule${i}Queue`, { encryptionKey: opsKey, queueName: c.queue.name, deadLetterQueueName: c.queue.deadLetter });
      const filters = [...(c.notification.prefix ? [{ prefix: c.notification.prefix }] : []), ...(c.notification.suffix ? [{ suffix: c.notification.suffix }] : [])];
      sourceBuckets.get(c.notification.bucket)!.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(work.queue), ...filters);
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
        environment: { XREGION_STAGING_BUCKET: outbox.bucketName, XREGION_CONFIG: compressorConfig(config, rule) },
      });
      this.grantCompressor(compressor, c, outbox);
      if (!rule.source.prefix_filter && drives.some((d) => d.target.bucket === rule.source.bucket)) {
        Annotations.of(work).addWarningV2(
          'xregion:driveStateNotified',
          `Rule ${i} reads all of s3://${rule.source.bucket}/ (empty prefix_filter), which also holds drive-ingest's _xregion/ state: S3 cannot exclude a prefix, so the compressor receives those events and must drop them. Give the rule a prefix_filter to avoid it.`,
        );
      }
      this.queues.push(work);
      this.compressors.push(compressor);
      this.monitoring.watchQueue(`compressor ${c.ruleId}`, work);
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

    if (plan.compressors.length > 0) {
      this.monitoring.alarmOnServiceMetric('CompressorFailures', 'compressor', 'Failures', 'compressor: batches failed (see the Failures metric by reason)');
      this.addDashboard();
    }
    this.monitoring.watchClusterTasks(platform.cluster);
    this.monitoring.finish();
    if (this.outbox) new CfnOutput(this, 'OutboxBucket', { value: this.outbox.bucketName, description: 'Outbound staging bucket (compressor archives, replicated to the target regions)' });
    new CfnOutput(this, 'AlarmTopic', { value: this.monitoring.topic.topicArn, description: 'SNS topic of the alarms' });
    acknowledgeBucketNotificationsHandler(this);
  }

  /** No AZ lookup at synth: two AZs by position. */
  override get availabilityZones(): string[] {
    return tokenAvailabilityZones();
  }

  /** The buckets the compressors read and Drive sources write: created when a Drive source creates them, imported otherwise. */
  private sourceBuckets(config: Config, plan: RegionPlan, accessLogs: s3.IBucket): Map<string, s3.IBucket> {
    const buckets = new Map<string, s3.IBucket>();
    const names = [...new Set([...plan.compressors.map((c) => c.notification.bucket), ...plan.driveSources.map((d) => d.target.bucket)])];
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

  /** Compressor: read the rule's source objects (by version), write its prefix of the outbox, write and read batch records. */
  private grantCompressor(compressor: QueueService, plan: CompressorPlan, outbox: StagingBucket): void {
    const role = compressor.taskRole;
    const src = plan.rule.source;
    grantScoped(
      role,
      "The compressor reads the rule's source prefix (by version), writes and reads back the same prefix of the outbox and reads and writes the outbox's batch records; a key named by alias is the key carrying that alias.",
      new iam.PolicyStatement({ actions: S3_READ_ACTIONS, resources: [objectsArn(src.bucket, src.prefix_filter)] }),
      // ListBucket turns a deleted object into NoSuchKey (skipped) instead of AccessDenied (retried),
      // and a batch record not written yet into a 404 instead of a 403.
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(src.bucket), bucketArn(outbox.bucketName)] }),
      ...(src.kms_key_arn ? [kmsStatement(['kms:Decrypt'], src.kms_key_arn, s3ViaService(src.region))] : []),
      // Its own archives: written, then read back (seek table and manifest, by version) before they count as
      // uploaded, and found again after a crash between upload and batch record. Never deleted by it.
      new iam.PolicyStatement({ actions: [...S3_WRITE_ACTIONS, 's3:GetObject', 's3:GetObjectVersion'], resources: [objectsArn(outbox.bucketName, stagingPrefix(plan.rule))] }),
      // Batch intents and records: HEAD/GET before uploading an archive again, PUT before and after; never deleted (lifecycle expires them).
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [objectsArn(outbox.bucketName, BATCH_RECORDS_PREFIX)] }),
    );
    outbox.key.grant(role, ...KMS_ENCRYPT_DECRYPT);
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
