/** Relations derived from a Config: regions, rule ids and archive keys (bucket and queue names: shared/topology). */
import { stagingPrefix } from '../topology/names';
import type { Config, ReplicationRule } from './schema';

/** A stable, human-readable id for a rule: its source bucket and prefix. */
export function ruleId(rule: ReplicationRule): string {
  return `${rule.source.bucket}/${rule.source.prefix_filter}`;
}

/** Regions that need a source stack (where rules read from), sorted. */
export function sourceRegions(config: Config): string[] {
  const regions = new Set<string>(config.replication_configuration.map((r) => r.source.region));
  for (const d of config.drive_sources) regions.add(d.target.region);
  return [...regions].sort();
}

/** Regions that need a target stack (where destinations live), sorted. */
export function targetRegions(config: Config): string[] {
  return [...new Set(config.replication_configuration.flatMap((r) => r.destinations.map((d) => d.region)))].sort();
}

/** True when the key falls under the rule's prefix and suffix filters. */
export function keyMatchesRule(rule: ReplicationRule, key: string): boolean {
  return key.startsWith(rule.source.prefix_filter) && key.endsWith(rule.source.suffix_filter);
}

/** Staging key of an archive: `{source_bucket}/{prefix_filter}backup_{epoch_ms}_{batch_id}.tar.zst`. */
export function archiveStagingKey(rule: ReplicationRule, archiveName: string): string {
  return `${stagingPrefix(rule)}${archiveName}`;
}

/** Archive file name: `backup_{epoch_ms}_{batch_id}.tar.zst`. */
export function archiveName(epochMs: number, batchId: string): string {
  return `backup_${epochMs}_${batchId}.tar.zst`;
}
