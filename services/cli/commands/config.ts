/**
 * `xregion config check`: validate replication_config.json and print a normalized summary.
 * The action; ./configCommand registers it and loads this module (and zod) only when it runs.
 */
import { ConfigError, formatIssue, readConfig, ruleId, sourceRegions, targetRegions, type Config } from '../../../shared/config';

/** A short human summary of a valid config: rules, destinations, and the stacks it needs. */
export function summarizeConfig(config: Config): string {
  const lines: string[] = [`stack_name: ${config.stack_name}`];
  config.replication_configuration.forEach((rule, i) => {
    const s = rule.source;
    const filter = s.suffix_filter ? ` (suffix ${JSON.stringify(s.suffix_filter)})` : '';
    lines.push(`rule ${i}: s3://${ruleId(rule)}${filter} [${s.region}] batch ${s.batch.max_objects} objects / ${s.batch.max_bytes} bytes / ${s.batch.max_wait_seconds}s, zstd level ${s.compression.level}`);
    for (const d of rule.destinations) {
      const mode = d.backup ? 'backup (archive + catalog)' : 'normal (unpacked)';
      const lock = d.object_lock ? `, object lock ${d.object_lock.mode} ${d.object_lock.days}d` : '';
      lines.push(`  → s3://${d.bucket} [${d.region}] ${mode}, ${d.storage_class}${lock}`);
    }
  });
  for (const d of config.drive_sources) {
    const users = d.users === 'all' ? 'all users' : `${d.users.length} user(s)`;
    lines.push(`drive ${d.name}: ${d.domain}, ${users}${d.shared_drives ? ' + shared drives' : ''} → s3://${d.target.bucket}/${d.target.prefix} [${d.target.region}] ${d.schedule}`);
  }
  lines.push(`source stacks: ${sourceRegions(config).map((r) => `${config.stack_name}-source-${r}`).join(', ')}`);
  lines.push(`target stacks: ${targetRegions(config).map((r) => `${config.stack_name}-target-${r}`).join(', ')}`);
  return lines.join('\n');
}

/** `xregion config check`: the summary and exit 0, or every problem and exit 2. */
export function checkConfig(path: string): void {
  try {
    const { config: valid, warnings } = readConfig(path);
    process.stdout.write(`${path}: valid\n${summarizeConfig(valid)}\n`);
    for (const w of warnings) process.stderr.write(`warning: ${formatIssue(w)}\n`);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 2;
  }
}
