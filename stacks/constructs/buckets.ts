/**
 * Defaults every bucket the stacks create shares: private, TLS only, owner-enforced, server
 * access logs to the stack's log bucket, retained on stack deletion (they hold data).
 */
import { FeatureFlags, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULTS } from '../defaults';
import { acknowledge } from '../nag';

/** Props shared by every bucket the stacks create. */
export function secureBucketProps(accessLogs: s3.IBucket, logPrefix: string): s3.BucketProps {
  return {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: logPrefix,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Makes S3 server access logging of the stack's buckets grant the logging service by bucket policy
 * (`logging.s3.amazonaws.com` may put under each bucket's prefix, only from that bucket and this
 * account) instead of the legacy LogDeliveryWrite ACL, so the log bucket can disable ACLs. CDK reads
 * the feature flag from the context of the log bucket: set on the stack before any child exists.
 */
export function accessLogsByBucketPolicy(stack: Stack): void {
  stack.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
}

/** The stack's server-access-log bucket (SSE-S3: S3 log delivery cannot write SSE-KMS; ACLs disabled, delivery by bucket policy). */
export function accessLogBucket(scope: Construct, id: string): s3.Bucket {
  if (!FeatureFlags.of(scope).isEnabled(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY)) {
    throw new Error('internal: call accessLogsByBucketPolicy(stack) first: the log bucket would need the legacy LogDeliveryWrite ACL');
  }
  const bucket = new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ id: 'expire-logs', expiration: DEFAULTS.accessLogExpiration, abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
  });
  acknowledge(bucket, 'This is the access-log bucket itself; logging it into itself would loop.', 'AwsSolutions-S1');
  return bucket;
}
