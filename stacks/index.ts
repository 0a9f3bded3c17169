/**
 * stacks: the CDK app generated from replication_config.json. Owns the source-region and
 * target-region stacks, their constructs (queue with DLQ, queue-driven Fargate service, staging
 * bucket with replication, catalog, monitoring, drive-ingest schedule), which render the topology
 * model of shared/topology (every bucket and queue name, notification, replication rule and
 * router), the stack names and key aliases, and the runtime contract (command, environment,
 * config slice) of each task.
 */
export { buildApp, buildAppFromFile, BuildOptionsError, type BuildOptions, type BuiltApp } from './buildApp';
export { SourceStack, stagingReplications, type SourceStackProps } from './SourceStack';
export { TargetStack, destinationsOf, type TargetStackProps } from './TargetStack';
export * from './names';
export { assertDistinctNames, topologyOf } from './topology';
export { DEFAULTS } from './defaults';
export { compressorConfig, routerConfig, driveIngestConfig, serviceCommand, type ServiceRole } from './runtime';
