/**
 * Defaults every bucket the stacks create shares: private, TLS only, owner-enforced, server
 * access logs to the stack's log bucket, retained on stack deletion (they hold data).
 */
import { RemovalPolicy } from 'aws-cdk-lib';
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

/** The stack's server-access-log bucket (SSE-S3: S3 log delivery cannot write SSE-KMS). */
export function accessLogBucket(scope: Construct, id: string): s3.Bucket {
  const bucket = new s3.Bucket(scope, id, {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ id: 'expire-logs', expiration: DEFAULTS.accessLogExpiration, abortIncompleteMultipartUploadAfter: DEFAULTS.abortIncompleteUpload }],
  });
  acknowledge(bucket, 'This is the access-log bucket itself; logging it into itself would loop.', 'AwsSolutions-S1');
  return bucket;
}
