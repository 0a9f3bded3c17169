/** IAM statement builders for buckets and KMS keys the stacks know only by name or ARN. */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';

/** ARN of a bucket. */
export const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;

/** ARN of every object under a prefix (`''` = the whole bucket). */
export const objectsArn = (bucket: string, prefix: string): string => `arn:aws:s3:::${bucket}/${prefix}*`;

/**
 * A statement on a KMS key given as a key ARN or an alias ARN. IAM cannot name a key by its
 * alias, so an alias becomes "any key in that account and region whose alias is this one".
 */
export function kmsStatement(actions: string[], keyOrAliasArn: string, viaService?: string): PolicyStatement {
  const conditions: Record<string, Record<string, string | string[]>> = {};
  if (viaService) conditions.StringEquals = { 'kms:ViaService': viaService };
  const parts = keyOrAliasArn.split(':');
  const resource = parts[5] ?? '';
  if (resource.startsWith('alias/')) {
    conditions['ForAnyValue:StringEquals'] = { 'kms:ResourceAliases': resource };
    return new PolicyStatement({ actions, resources: [`${parts.slice(0, 5).join(':')}:key/*`], conditions });
  }
  return new PolicyStatement({ actions, resources: [keyOrAliasArn], conditions: Object.keys(conditions).length ? conditions : undefined });
}

/** The S3 endpoint principal used in kms:ViaService conditions. */
export const s3ViaService = (region: string): string => `s3.${region}.amazonaws.com`;

/** Object actions a writer needs for single-part and multipart PUTs. */
export const S3_WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
/** Object actions a reader needs, including reads pinned to a version. */
export const S3_READ_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
/** KMS actions for writing (including multipart, which decrypts parts) and reading SSE-KMS objects. */
export const KMS_ENCRYPT_DECRYPT = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'];
