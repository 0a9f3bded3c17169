/**
 * Deterministic names of the stacks beyond the topology model: stack names and KMS key aliases.
 * The source stack addresses the target region's staging bucket (by the model's name) and its key
 * (by the alias below), never by a cross-region reference. Bucket, queue and prefix names are the
 * model's (shared/topology), re-exported here for the stacks' users; the stacks themselves take
 * them from the model's plans.
 */
export { catalogBucketName, outboxBucketName, QUARANTINE_PREFIX, stagingBucketName, stagingPrefix } from '../shared/topology';

/** CloudFormation stack names: `{stack_name}-source-{region}` / `{stack_name}-target-{region}`. */
export const sourceStackName = (stackName: string, region: string): string => `${stackName}-source-${region}`;
export const targetStackName = (stackName: string, region: string): string => `${stackName}-target-${region}`;

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

/** Prefix at the root of a Drive target bucket where drive-ingest keeps its state: xregion's records prefix. */
export { RECORDS_PREFIX as DRIVE_STATE_PREFIX } from '../shared/topology';
