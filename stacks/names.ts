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

export { catalogDatabaseName, catalogTableName, glueName } from '../shared/catalog/names';

/** Athena workgroup of a deployment: `{stack_name}-catalog`. */
export const athenaWorkGroupName = (stackName: string): string => `${stackName}-catalog`;

/** Staging-bucket prefix under which the router parks archives it refuses to route. */
export const QUARANTINE_PREFIX = 'quarantine/';

/** Prefix at the root of a Drive target bucket where drive-ingest keeps its state. */
export const DRIVE_STATE_PREFIX = '_xregion/';
