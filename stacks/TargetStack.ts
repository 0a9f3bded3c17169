/**
 * The stack of one target region, rendered from the topology model's router plan of that region:
 * the inbound staging bucket (the replication destination, with its key alias), its notifications
 * to the router's named queue, the router service, the destination buckets of the delivery paths
 * that end here (imported by name, or created, with Object Lock when asked), the catalog when a
 * backup destination lives here, and monitoring. No bucket or queue name is formatted here.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Duration } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type Config, type Destination } from '../shared/config';
import { DELIVERY_RECORDS_PREFIX, QUARANTINE_PREFIX, regionPlan, type DeliveryPath, type RouterPlan, type Topology } from '../shared/topology';
import { applyStackAspects } from './aspects';
import { accessLogBucket, accessLogsByBucketPolicy, secureBucketProps } from './constructs/buckets';
import { Catalog } from './constructs/Catalog';
import { insights, Monitoring } from './constructs/Monitoring';
import { QueueService } from './constructs/QueueService';
import { QueueWithDlq } from './constructs/QueueWithDlq';
import { ServicePlatform, tokenAvailabilityZones } from './constructs/ServicePlatform';
import { StagingBucket } from './constructs/StagingBucket';
import { DEFAULTS } from './defaults';
import { catalogBase } from '../shared/catalog/columns';
import { bucketArn, KMS_ENCRYPT_DECRYPT, kmsStatement, objectsArn, S3_READ_ACTIONS, S3_WRITE_ACTIONS, s3ViaService } from './iam';
import { stagingKeyAlias, targetStackName } from './names';
import { routerConfig } from './runtime';
import { topologyOf } from './topology';
import { acknowledgeBucketNotificationsHandler, grantScoped } from './nag';

export interface TargetStackProps extends StackProps {
  readonly config: Config;
  readonly account: string;
  readonly region: string;
  /** The deployment's topology (buildApp builds it once for every stack). @default buildTopology(config, account) */
  readonly topology?: Topology;
  /** Fargate Spot for the router. @default true */
  readonly spot?: boolean;
}

export class TargetStack extends Stack {
  readonly plan: RouterPlan;
  /** The (rule, destination) paths of the topology that end in this region. */
  readonly paths: DeliveryPath[];
  readonly staging: StagingBucket;
  readonly work: QueueWithDlq;
  readonly router: QueueService;
  readonly catalog?: Catalog;
  readonly destinationBuckets = new Map<string, s3.IBucket>();
  readonly monitoring: Monitoring;

  constructor(scope: Construct, props: TargetStackProps) {
    const { config, account, region } = props;
    super(scope, targetStackName(config.stack_name, region), {
      ...props,
      env: { account, region },
      description: `xregion ${config.stack_name}: target region ${region} (inbound staging, router, destinations, catalog)`,
    });
    // Before any child: the access-log flag is read from the context when buckets are created.
    accessLogsByBucketPolicy(this);
    applyStackAspects(this);
    const name = config.stack_name;
    const topology = topologyOf(props);
    const router = regionPlan(topology, region).router;
    if (!router) throw new Error(`internal: the topology has no router in ${region}`);
    this.plan = router;
    this.paths = topology.paths.filter((p) => p.router.region === region);

    const opsKey = new kms.Key(this, 'OpsKey', { enableKeyRotation: true, description: `${this.stackName}: queues, alarm topic, crawler logs`, removalPolicy: RemovalPolicy.DESTROY });
    const accessLogs = accessLogBucket(this, 'AccessLogs');
    const platform = new ServicePlatform(this, 'Platform');
    this.monitoring = new Monitoring(this, 'Monitoring', { key: opsKey, emails: config.notification_emails, dashboardName: this.stackName });

    this.staging = new StagingBucket(this, 'Staging', {
      bucketName: router.staging,
      keyAlias: stagingKeyAlias(name),
      accessLogs,
      // Archives are deleted by the router; quarantine/ is kept until an operator deletes it.
      expirations: [{ id: 'expire-delivery-records', prefix: DELIVERY_RECORDS_PREFIX, after: DEFAULTS.deliveryRecordExpiration }],
    });
    this.work = new QueueWithDlq(this, 'RouterQueue', { encryptionKey: opsKey, queueName: router.queue.name, deadLetterQueueName: router.queue.deadLetter });
    // The model's notifications: one per source bucket (`{bucket}/`, `.tar.zst`), never quarantine/ or _xregion/.
    for (const n of router.notifications) {
      if (n.bucket !== router.staging || n.queue !== router.queue.name) throw new Error(`internal: router notification ${n.bucket}/${n.prefix} of ${region} is not on its staging bucket and queue`);
      this.staging.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.work.queue), {
        ...(n.prefix ? { prefix: n.prefix } : {}),
        ...(n.suffix ? { suffix: n.suffix } : {}),
      });
    }

    for (const [bucketName, dst] of destinationsOf(this.paths.map((p) => p.destination))) this.destinationBuckets.set(bucketName, this.destinationBucket(bucketName, dst, accessLogs));

    const backupRules = [...new Set(this.paths.filter((p) => p.destination.backup).map((p) => p.rule))];
    if (Boolean(router.catalog) !== backupRules.length > 0) throw new Error(`internal: the catalog of ${region} disagrees with its backup destinations`);
    if (router.catalog) {
      this.catalog = new Catalog(this, 'Catalog', {
        stackName: name,
        bucketName: router.catalog,
        tables: backupRules.map((r) => ({ sourceBucket: r.source.bucket, sourcePrefix: r.source.prefix_filter })),
        accessLogs,
        logKey: opsKey,
      });
    }

    this.router = new QueueService(this, 'Router', {
      platform,
      role: 'router',
      work: this.work,
      cpu: DEFAULTS.router.cpu,
      memory: DEFAULTS.router.memory,
      minTasks: 0,
      maxTasks: Math.max(...router.rules.map((r) => r.source.scaling.max_tasks)),
      backlogPerTask: DEFAULTS.router.backlogPerTask,
      spot: props.spot,
      environment: {
        XREGION_STAGING_BUCKET: this.staging.bucketName,
        ...(this.catalog ? { XREGION_CATALOG_BUCKET: this.catalog.bucketName } : {}),
        XREGION_CONFIG: routerConfig(config, region),
      },
    });
    this.grantRouter();

    this.monitoring.watchQueue('router', this.work);
    this.monitoring.alarmOnServiceMetric('RouterFailures', 'router', 'Failures', 'router: archives failed to route (see the Failures metric by reason)');
    this.monitoring.alarmOnServiceMetric('RouterQuarantine', 'router', 'ArchivesQuarantined', `router: an archive was moved to s3://${this.staging.bucketName}/${QUARANTINE_PREFIX}`);
    this.monitoring.alarmOnServiceMetric(
      'RouterArchivesMissing',
      'router',
      'ArchivesMissing',
      `router: an archive's event arrived but the archive is gone from s3://${this.staging.bucketName}/ and no delivery record under ${DELIVERY_RECORDS_PREFIX} shows it was delivered`,
    );
    this.monitoring.watchClusterTasks(platform.cluster);
    this.addDashboard();
    this.monitoring.finish();
    new CfnOutput(this, 'StagingBucket', { value: this.staging.bucketName, description: 'Inbound staging bucket (replication destination; quarantine/ holds refused archives)' });
    new CfnOutput(this, 'AlarmTopic', { value: this.monitoring.topic.topicArn, description: 'SNS topic of the alarms' });
    if (this.catalog) {
      new CfnOutput(this, 'CatalogDatabase', { value: this.catalog.database.ref, description: 'Glue database of the backup catalog' });
      new CfnOutput(this, 'AthenaWorkGroup', { value: this.catalog.workGroup.ref, description: 'Athena workgroup for catalog queries' });
    }
    acknowledgeBucketNotificationsHandler(this);
  }

  /** No AZ lookup at synth: two AZs by position. */
  override get availabilityZones(): string[] {
    return tokenAvailabilityZones();
  }

  /** A destination: imported by name, or created (versioned; Object Lock when configured). */
  private destinationBucket(bucketName: string, dst: Destination, accessLogs: s3.IBucket): s3.IBucket {
    const id = `Destination-${bucketName}`;
    if (!dst.create_bucket) return s3.Bucket.fromBucketName(this, id, bucketName);
    const lock = dst.object_lock;
    return new s3.Bucket(this, id, {
      ...secureBucketProps(accessLogs, `${bucketName}/`),
      bucketName,
      versioned: true,
      ...(dst.kms_key_arn
        ? { encryption: s3.BucketEncryption.KMS, encryptionKey: kms.Key.fromKeyArn(this, `${id}-Key`, dst.kms_key_arn), bucketKeyEnabled: true }
        : { encryption: s3.BucketEncryption.S3_MANAGED }),
      ...(lock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              lock.mode === 'COMPLIANCE' ? s3.ObjectLockRetention.compliance(Duration.days(lock.days)) : s3.ObjectLockRetention.governance(Duration.days(lock.days)),
          }
        : {}),
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
    });
  }

  /**
   * Router: read/delete staging archives, quarantine, write and read its delivery records, write only
   * its paths' prefixes of each destination and the catalog.
   */
  private grantRouter(): void {
    const role = this.router.taskRole;
    const router = this.plan;
    const staging = this.staging.bucketName;
    const reason =
      "The router reads and deletes archives under each source bucket's staging prefix, writes quarantine/ and its delivery records, and writes only its rules' prefixes of each destination and of the catalog; a key named by alias is the key carrying that alias.";
    grantScoped(
      role,
      reason,
      // Archives are deleted by version id (the staging bucket is versioned): DeleteObjectVersion.
      new iam.PolicyStatement({ actions: [...S3_READ_ACTIONS, 's3:DeleteObject', 's3:DeleteObjectVersion'], resources: router.notifications.map((n) => objectsArn(staging, n.prefix)) }),
      new iam.PolicyStatement({ actions: [...S3_WRITE_ACTIONS, 's3:PutObjectTagging'], resources: [objectsArn(staging, QUARANTINE_PREFIX)] }),
      // Delivery records (one per archive × destination): written, read and listed, never deleted (lifecycle expires them).
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [objectsArn(staging, DELIVERY_RECORDS_PREFIX)] }),
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(staging)] }),
    );
    this.staging.key.grant(role, ...KMS_ENCRYPT_DECRYPT);

    const keys = new Set<string>();
    for (const rule of router.rules) {
      const paths = this.paths.filter((p) => p.rule === rule);
      for (const { destination: dst } of paths) {
        // A backup destination gets the archive by PUT or server-side copy (CopyObject, UploadPartCopy
        // above 5 GiB) with user metadata (xregion-archive-etag): PutObject here, and GetObject,
        // GetObjectVersion and the tagging reads on the staging archive above; nothing more.
        grantScoped(
          role,
          reason,
          new iam.PolicyStatement({
            actions: [...S3_WRITE_ACTIONS, 's3:PutObjectTagging', 's3:GetObject', 's3:GetObjectTagging'],
            resources: [objectsArn(dst.bucket, rule.source.prefix_filter)],
          }),
          // ListBucket makes "no copy yet" a 404 rather than a 403 when checking existing copies.
          new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(dst.bucket)] }),
        );
        if (dst.kms_key_arn && !keys.has(dst.kms_key_arn)) {
          keys.add(dst.kms_key_arn);
          grantScoped(role, reason, kmsStatement(KMS_ENCRYPT_DECRYPT, dst.kms_key_arn, s3ViaService(this.region)));
        }
      }
      if (this.catalog && paths.some((p) => p.destination.backup)) {
        // The router HEADs a catalog file before writing it (skip identical rows on redelivery):
        // GetObject, and ListBucket so a missing file is a 404, not a 403.
        grantScoped(
          role,
          reason,
          new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [objectsArn(this.catalog.bucketName, catalogBase(rule.source.bucket, rule.source.prefix_filter))] }),
          new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn(this.catalog.bucketName)] }),
        );
      }
    }
  }

  private addDashboard(): void {
    const q = (expr: string, label: string) => insights(`${expr} FROM ${DEFAULTS.metricsNamespace} WHERE service = 'router'`, label);
    const byDestination = (metric: string) =>
      insights(`SELECT SUM(${metric}) FROM SCHEMA(${DEFAULTS.metricsNamespace}, destination, service) WHERE service = 'router' GROUP BY destination`, metric);
    this.monitoring.addWidgets(
      new cloudwatch.GraphWidget({ title: 'router: running tasks', left: [this.router.runningTasks()], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'router: archives routed / quarantined / missing',
        left: [q('SELECT SUM(ArchivesRouted)', 'routed'), q('SELECT SUM(ArchivesQuarantined)', 'quarantined'), q('SELECT SUM(ArchivesMissing)', 'missing')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'router: failures', left: [q('SELECT SUM(Failures)', 'failures')], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'router: objects written per destination', left: [byDestination('ObjectsWritten')], width: 12 }),
      new cloudwatch.GraphWidget({ title: 'router: bytes written per destination', left: [byDestination('BytesWritten')], width: 12 }),
    );
  }
}

/** Each destination bucket once (create_bucket/object_lock/kms_key_arn from any mention). */
export function destinationsOf(destinations: readonly Destination[]): Map<string, Destination> {
  const out = new Map<string, Destination>();
  for (const d of destinations) {
    const prior = out.get(d.bucket);
    out.set(d.bucket, prior ? { ...prior, create_bucket: prior.create_bucket || d.create_bucket, object_lock: prior.object_lock ?? d.object_lock, kms_key_arn: prior.kms_key_arn || d.kms_key_arn } : d);
  }
  return out;
}
