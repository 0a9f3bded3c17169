/**
 * The runtime contract between the stacks and the services: which command each ECS task runs,
 * its environment variables, and the slice of the validated config it receives as
 * XREGION_CONFIG. Every slice is itself a valid replication config (checked here at synth).
 */
import { parseConfig, type Config, type DriveSource, type ReplicationRule } from '../shared/config';
import { DEFAULTS } from './defaults';

export type ServiceRole = 'compressor' | 'router' | 'drive-ingest';

/** The container command of each service (the image's compiled `dist/`). */
export function serviceCommand(role: ServiceRole): string[] {
  return ['node', `dist/services/${role}/main.js`];
}

/** Serializes a config slice, re-validating it so a service never receives an invalid one. */
function sliceJson(config: Config, what: string): string {
  try {
    parseConfig(JSON.parse(JSON.stringify(config)), `XREGION_CONFIG (${what})`);
  } catch (err) {
    throw new Error(`internal: the ${what} config slice is not a valid config: ${(err as Error).message}`, { cause: err });
  }
  return JSON.stringify(config);
}

const base = (config: Config, rules: ReplicationRule[], drives: DriveSource[] = []): Config => ({
  ...config,
  drive_sources: drives,
  replication_configuration: rules,
});

/** Compressor slice: only the rule the service archives (its queue only carries that rule's events). */
export function compressorConfig(config: Config, rule: ReplicationRule): string {
  return sliceJson(base(config, [rule]), `compressor ${rule.source.bucket}/${rule.source.prefix_filter}`);
}

/** Router slice: the rules with a destination in this region. */
export function routerConfig(config: Config, region: string): string {
  // Whole rules, not just this region's destinations: the router picks its own destinations, and the
  // catalog's target_buckets column lists every destination of the rule.
  const rules = config.replication_configuration.filter((r) => r.destinations.some((d) => d.region === region));
  return sliceJson(base(config, rules), `router ${region}`);
}

/**
 * drive-ingest slice: the one Drive source plus the rules that read its target bucket (all
 * rules when none does, so the slice stays a valid config).
 */
export function driveIngestConfig(config: Config, drive: DriveSource): string {
  const rules = config.replication_configuration.filter((r) => r.source.bucket === drive.target.bucket);
  return sliceJson(base(config, rules.length > 0 ? rules : config.replication_configuration, [drive]), `drive-ingest ${drive.name}`);
}

/** Environment shared by every service. */
export function commonEnvironment(role: ServiceRole, region: string): Record<string, string> {
  return {
    XREGION_ROLE: role,
    AWS_REGION: region,
    POWERTOOLS_SERVICE_NAME: role,
    POWERTOOLS_METRICS_NAMESPACE: DEFAULTS.metricsNamespace,
  };
}
