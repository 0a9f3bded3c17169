/**
 * config: the contract of replication_config.json. Owns the schema (every key and default),
 * the cross-checks that span keys, error messages that name path/value/allowed, and the
 * names derived from a config (regions, staging buckets, archive keys).
 */
export { loadConfig, readConfig, parseConfig, type ConfigResult } from './loadConfig';
export { ConfigError, formatIssue, type ConfigIssue } from './errors';
export {
  configSchema,
  EXPORT_FORMATS,
  type Config,
  type ConfigInput,
  type AnyConfigInput,
  type ReplicationRule,
  type RuleSource,
  type Destination,
  type AzureDestination,
  type ParsedConfig,
  type DriveSource,
  type UserOverride,
} from './schema';
export { AWS_REGIONS, S3_STORAGE_CLASSES, bucketNameProblem, type AwsRegion, type StorageClass } from './awsNames';
export { filtersOverlap } from './crossChecks';
export { accountUrlProblem, isAzureDestination, refuseUndeliveredDestinations } from './azureDestination';
export * from './topology';
export { readRuntimeSettings, type RuntimeSettings } from './runtimeSettings';
