/** The stacks' constructs, one per architectural job. */
export { QueueWithDlq, type QueueWithDlqProps } from './QueueWithDlq';
export { QueueService, capacityStrategy, type QueueServiceProps } from './QueueService';
export { ServicePlatform, REPO_ROOT, IMAGE_EXCLUDES } from './ServicePlatform';
export { OutboxAgeCheck, OUTBOX_AGE_HANDLER_DIR, type OutboxAgeCheckProps } from './OutboxAgeCheck';
export { ServicesAfterCapacityProviders, LogRetention, NagAcknowledgementsInMetadata, applyStackAspects, acknowledgementsOf } from '../aspects';
export { replicationRuleId, StagingBucket, type StagingBucketProps, type StagingExpiration, type StagingReplication } from './StagingBucket';
export { Catalog, catalogBase, projectionParameters, type CatalogProps, type CatalogTableSpec } from './Catalog';
export { Monitoring, insights, type MonitoringProps } from './Monitoring';
export { DriveIngestSchedule, type DriveIngestScheduleProps } from './DriveIngestSchedule';
export { accessLogBucket, accessLogsByBucketPolicy, secureBucketProps } from './buckets';
