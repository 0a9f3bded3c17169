/**
 * Deterministic names shared by the two stacks. The source stack addresses the target
 * region's staging bucket and KMS key by these names (never by a cross-region reference), so
 * both sides must compute them the same way from (stack_name, account, region).
 */
import { stagingBucketName } from '../shared/config';

export { stagingBucketName };

/** CloudFormation stack names: `{stack_name}-source-{region}` / `{stack_name}-target-{region}`. */
export const sourceStackName = (stackName: string, region: string): string => `${stackName}-source-${region}`;
export const targetStackName = (stackName: string, region: string): string => `${stackName}-target-${region}`;

/**
 * The source region's outbound staging bucket, where the compressor writes and from which S3
 * replicates. It is a different bucket from the inbound staging bucket so that one region can
 * be both a source and a target without the router seeing outbound archives.
 */
export function outboxBucketName(stackName: string, account: string, region: string): string {
  return `${stackName}-${account}-${region}-outbox`;
}

/** The catalog bucket (JSONL rows) of a target region. */
export function catalogBucketName(stackName: string, account: string, region: string): string {
  return `${stackName}-${account}-${region}-catalog`;
}

/** Alias of the inbound staging bucket's KMS key (the replica key of the replication rules). */
export const stagingKeyAlias = (stackName: string): string => `alias/${stackName}/staging`;
/** Alias of the outbound staging bucket's KMS key. */
export const outboxKeyAlias = (stackName: string): string => `alias/${stackName}/outbox`;

/** ARN of a KMS alias; S3 replication accepts it as ReplicaKmsKeyID. */
export function kmsAliasArn(region: string, account: string, alias: string): string {
  return `arn:aws:kms:${region}:${account}:${alias}`;
}

/** Glue/Athena identifiers: lower-case letters, digits and underscores. */
export function glueName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Glue database of a deployment's catalog: `{stack_name}_catalog`. */
export const catalogDatabaseName = (stackName: string): string => `${glueName(stackName)}_catalog`;

/** Glue table of one rule: its source bucket and prefix, e.g. `acme_drive_landing_gdrive_backup`. */
export function catalogTableName(sourceBucket: string, prefix: string): string {
  return glueName(`${sourceBucket}_${prefix}`).slice(0, 255);
}

/** Athena workgroup of a deployment: `{stack_name}-catalog`. */
export const athenaWorkGroupName = (stackName: string): string => `${stackName}-catalog`;

/** Staging-bucket prefix under which the router parks archives it refuses to route. */
export const QUARANTINE_PREFIX = 'quarantine/';

/** Prefix at the root of a Drive target bucket where drive-ingest keeps its state. */
export const DRIVE_STATE_PREFIX = '_xregion/';
