/**
 * A staging bucket with its own KMS key (found by a deterministic alias): versioned, private,
 * TLS only, with lifecycle rules for incomplete uploads, old versions and, per prefix, current
 * objects (archives in the outbox, xregion's own records). The source region's outbox also
 * carries the S3 replication rules to each target region's staging bucket.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import { bucketArn, kmsStatement, objectsArn, s3ViaService } from '../iam';
import { grantScoped } from '../nag';
import { secureBucketProps } from './buckets';

export interface StagingBucketProps {
  readonly bucketName: string;
  /** Alias of the bucket's key, e.g. `alias/xregion/staging`. */
  readonly keyAlias: string;
  readonly accessLogs: s3.IBucket;
  /** Current objects to expire, by prefix (e.g. the outbox's archives, delivery or batch records). */
  readonly expirations?: readonly StagingExpiration[];
}

/** One lifecycle expiration: current objects under `prefix` expire `after` their creation. */
export interface StagingExpiration {
  /** Lifecycle rule id (unique in the bucket, at most 255 characters). */
  readonly id: string;
  /** Key prefix; `''` would be the whole bucket. */
  readonly prefix: string;
  readonly after: Duration;
}

/** One replication rule: archives under `prefix` go to another region's staging bucket. */
export interface StagingReplication {
  /** Key prefix in this bucket: `{source_bucket}/{prefix_filter}`. */
  readonly prefix: string;
  readonly destinationRegion: string;
  readonly destinationBucket: string;
  /** Key ARN or alias ARN of the destination bucket's key. */
  readonly replicaKeyArn: string;
  /** S3 Replication Time Control (and its replication metrics). */
  readonly replicationTimeControl: boolean;
}

/** Id of the replication rule of one (prefix, region): also the RuleId dimension of its S3 replication metrics. */
export function replicationRuleId(r: Pick<StagingReplication, 'destinationRegion' | 'prefix'>): string {
  return `${r.destinationRegion} ${r.prefix}`.slice(0, 255);
}

export class StagingBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly bucketName: string;
  replicationRole?: iam.Role;

  constructor(scope: Construct, id: string, props: StagingBucketProps) {
    super(scope, id);
    this.bucketName = props.bucketName;
    this.key = new kms.Key(this, 'Key', {
      alias: props.keyAlias,
      enableKeyRotation: true,
      description: `${props.bucketName}: staging archives`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const lifecycleRules: s3.LifecycleRule[] = [
      {
        id: 'abort-incomplete-uploads-and-old-versions',
        abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload,
        noncurrentVersionExpiration: DEFAULTS.noncurrentExpiration,
      },
      { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
    ];
    for (const e of props.expirations ?? []) lifecycleRules.push({ id: e.id, prefix: e.prefix || undefined, expiration: e.after });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketProps(props.accessLogs, `${props.bucketName}/`),
      bucketName: props.bucketName,
      versioned: true,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      lifecycleRules,
    });
  }

  /** Replicates archives to other regions' staging buckets: one rule per (prefix, region). */
  addReplication(replications: readonly StagingReplication[]): void {
    if (replications.length === 0) return;
    const region = Stack.of(this).region;
    const role = new iam.Role(this, 'ReplicationRole', {
      assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
      description: `S3 replication of ${this.bucket.node.path}`,
    });
    this.replicationRole = role;
    const reason = 'Replication reads and writes object versions only under the replicated prefixes; the replica key is named by alias, so it is the key carrying that alias.';
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [bucketArn(this.bucketName)] }));
    grantScoped(
      role,
      reason,
      new iam.PolicyStatement({
        actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'],
        resources: [...new Set(replications.map((r) => objectsArn(this.bucketName, r.prefix)))],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': s3ViaService(region) } },
      }),
    );
    const destinations = new Map<string, StagingReplication[]>();
    for (const r of replications) destinations.set(r.destinationBucket, [...(destinations.get(r.destinationBucket) ?? []), r]);
    for (const [bucket, rs] of destinations) {
      grantScoped(
        role,
        reason,
        new iam.PolicyStatement({
          actions: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
          resources: [...new Set(rs.map((r) => objectsArn(bucket, r.prefix)))],
        }),
        kmsStatement(['kms:Encrypt', 'kms:GenerateDataKey'], rs[0].replicaKeyArn, s3ViaService(rs[0].destinationRegion)),
      );
    }

    const cfn = this.bucket.node.defaultChild as s3.CfnBucket;
    cfn.replicationConfiguration = {
      role: role.roleArn,
      rules: replications.map((r, i) => ({
        id: replicationRuleId(r),
        priority: i,
        status: 'Enabled',
        filter: { prefix: r.prefix },
        deleteMarkerReplication: { status: 'Disabled' },
        sourceSelectionCriteria: { sseKmsEncryptedObjects: { status: 'Enabled' } },
        destination: {
          bucket: `arn:aws:s3:::${r.destinationBucket}`,
          encryptionConfiguration: { replicaKmsKeyId: r.replicaKeyArn },
          // Replication metrics on every rule: without them S3 publishes no OperationsFailedReplication
          // and a failed archive is silent (RTC is not needed for them; only its 15-minute threshold is).
          ...(r.replicationTimeControl
            ? { replicationTime: { status: 'Enabled', time: { minutes: 15 } }, metrics: { status: 'Enabled', eventThreshold: { minutes: 15 } } }
            : { metrics: { status: 'Enabled' } }),
        },
      })),
    };
    cfn.node.addDependency(role);
  }
}
