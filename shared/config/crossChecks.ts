/**
 * Checks that span several keys: things a per-field schema cannot see
 * (replication loops, overlapping rules, a bucket claimed by two regions, Fargate sizes...).
 */
import { FARGATE_MEMORY_BY_CPU, kmsKeyArnRegion } from './awsNames';
import type { ConfigIssue } from './errors';
import { showValue } from './formatIssues';
import type { Config, ReplicationRule } from './schema';

export interface CrossCheckResult {
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
}

const rulePath = (i: number) => `replication_configuration[${i}]`;

/** Two filters overlap when some key could match both (S3's rule for notification filters). */
export function filtersOverlap(a: { prefix: string; suffix: string }, b: { prefix: string; suffix: string }): boolean {
  const prefixes = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixes = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return prefixes && suffixes;
}

const ruleFilter = (r: ReplicationRule) => ({ prefix: r.source.prefix_filter, suffix: r.source.suffix_filter });

/** Runs every cross-check on a schema-valid config. */
export function crossCheck(config: Config): CrossCheckResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const rules = config.replication_configuration;

  checkBucketRegions(config, errors);

  rules.forEach((rule, i) => {
    const src = rule.source;
    const p = rulePath(i);
    rule.destinations.forEach((dst, j) => {
      const dp = `${p}.destinations[${j}]`;
      if (dst.bucket === src.bucket) {
        errors.push({ path: `${dp}.bucket`, value: showValue(dst.bucket), message: 'is the rule\'s own source bucket; a destination must be a different bucket' });
      } else if (dst.region === src.region) {
        errors.push({
          path: `${dp}.region`,
          value: showValue(dst.region),
          message: 'is the source region; xregion replicates across regions, so a destination must be in another region',
        });
      }
      if (dst.object_lock && !dst.create_bucket) {
        errors.push({ path: `${dp}.object_lock`, message: 'needs "create_bucket": true (Object Lock can only be set on a bucket this deployment creates)' });
      }
      checkKmsRegion(errors, `${dp}.kms_key_arn`, dst.kms_key_arn, dst.region);
      rule.destinations.slice(0, j).forEach((other, k) => {
        if (other.bucket === dst.bucket) {
          errors.push({ path: `${dp}.bucket`, value: showValue(dst.bucket), message: `is already destination ${k} of this rule` });
        }
      });
    });
    checkKmsRegion(errors, `${p}.source.kms_key_arn`, src.kms_key_arn, src.region);

    const { cpu, memory, min_tasks, max_tasks } = src.scaling;
    const memories = FARGATE_MEMORY_BY_CPU[cpu];
    if (!memories) {
      errors.push({ path: `${p}.source.scaling.cpu`, value: showValue(cpu), message: `is not a Fargate CPU size (${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')})` });
    } else if (!memories.includes(memory)) {
      errors.push({
        path: `${p}.source.scaling.memory`,
        value: showValue(memory),
        message: `is not a Fargate memory size for cpu ${cpu} (${memories[0]} to ${memories[memories.length - 1]} in steps of ${memories[1] - memories[0]} MiB)`,
      });
    }
    if (min_tasks > max_tasks) {
      errors.push({ path: `${p}.source.scaling.min_tasks`, value: showValue(min_tasks), message: `must not exceed max_tasks (${max_tasks})` });
    }

    rules.slice(0, i).forEach((other, k) => {
      // Prefixes alone decide: staging keys and replication filters carry {bucket}/{prefix} but not
      // the suffix, so two rules with overlapping prefixes would swap each other's archives.
      const a = other.source.prefix_filter;
      const b = src.prefix_filter;
      if (other.source.bucket === src.bucket && (a.startsWith(b) || b.startsWith(a))) {
        errors.push({
          path: `${p}.source.prefix_filter`,
          value: showValue(b),
          message: `overlaps ${rulePath(k)} (prefix ${JSON.stringify(a)}) on bucket "${src.bucket}"; two rules on one bucket need disjoint prefixes (their archives are told apart by prefix)`,
        });
      }
    });
  });

  checkLoops(rules, errors);
  checkDriveSources(config, errors, warnings);
  return { errors, warnings };
}

function checkKmsRegion(errors: ConfigIssue[], path: string, arn: string, region: string): void {
  if (!arn) return;
  const keyRegion = kmsKeyArnRegion(arn);
  if (!keyRegion) {
    errors.push({ path, value: showValue(arn), message: 'is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME)' });
  } else if (keyRegion !== region) {
    errors.push({ path, value: showValue(arn), message: `is a key in ${keyRegion}, but the bucket is in ${region} (KMS keys are regional)` });
  }
}

/** A bucket name is global: every mention must agree on its region. */
function checkBucketRegions(config: Config, errors: ConfigIssue[]): void {
  const seen = new Map<string, { region: string; path: string }>();
  const visit = (bucket: string, region: string, path: string) => {
    const first = seen.get(bucket);
    if (!first) seen.set(bucket, { region, path });
    else if (first.region !== region) {
      errors.push({ path: `${path}.region`, value: showValue(region), message: `disagrees with ${first.path}, which puts bucket "${bucket}" in ${first.region}` });
    }
  };
  config.replication_configuration.forEach((rule, i) => {
    visit(rule.source.bucket, rule.source.region, `${rulePath(i)}.source`);
    rule.destinations.forEach((d, j) => visit(d.bucket, d.region, `${rulePath(i)}.destinations[${j}]`));
  });
  config.drive_sources.forEach((d, i) => visit(d.target.bucket, d.target.region, `drive_sources[${i}].target`));
}

/**
 * A loop is a cycle of rules where each rule's destination is the next rule's source bucket
 * and the keys it writes (which keep the rule's prefix) fall under the next rule's filter.
 */
function checkLoops(rules: readonly ReplicationRule[], errors: ConfigIssue[]): void {
  const next = rules.map((rule, i) =>
    rules
      .map((other, j) => ({ other, j }))
      // A rule writing into its own source is reported as such above, not as a loop.
      .filter(({ other, j }) => j !== i && rule.destinations.some((d) => d.bucket === other.source.bucket) && filtersOverlap(ruleFilter(rule), ruleFilter(other)))
      .map(({ j }) => j),
  );
  const reported = new Set<string>();
  const state = rules.map(() => 0); // 0 new, 1 on stack, 2 done
  const stack: number[] = [];
  const visit = (i: number): void => {
    state[i] = 1;
    stack.push(i);
    for (const j of next[i]) {
      if (state[j] === 1) {
        const cycle = stack.slice(stack.indexOf(j));
        const key = [...cycle].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          const chain = [...cycle, j].map((r) => rules[r].source.bucket).join(' → ');
          errors.push({
            path: `${rulePath(cycle[0])}.destinations`,
            message: `form a replication loop: ${chain} (rules ${cycle.join(', ')}); every object would be copied around forever`,
          });
        }
      } else if (state[j] === 0) visit(j);
    }
    stack.pop();
    state[i] = 2;
  };
  rules.forEach((_, i) => state[i] === 0 && visit(i));
}

function checkDriveSources(config: Config, errors: ConfigIssue[], warnings: ConfigIssue[]): void {
  const names = new Set<string>();
  config.drive_sources.forEach((drive, i) => {
    const p = `drive_sources[${i}]`;
    if (names.has(drive.name)) errors.push({ path: `${p}.name`, value: showValue(drive.name), message: 'is used by another drive source' });
    names.add(drive.name);
    if (drive.users === 'all' && !drive.admin_subject) {
      errors.push({ path: `${p}.admin_subject`, message: 'is required when "users" is "all" (an admin is impersonated to list the domain\'s users)' });
    }
    const t = drive.target;
    const covered = config.replication_configuration.some(
      (r) => r.source.bucket === t.bucket && (t.prefix.startsWith(r.source.prefix_filter) || r.source.prefix_filter.startsWith(t.prefix)),
    );
    if (!covered) {
      warnings.push({
        path: `${p}.target`,
        value: showValue(`s3://${t.bucket}/${t.prefix}`),
        message: 'is not the source of any replication rule: files will be backed up to it but nothing will replicate them',
      });
    }
    for (const user of Object.keys(drive.user_overrides)) {
      const up = `${p}.user_overrides[${JSON.stringify(user)}]`;
      if (!/^[^@\s]+@[^@\s]+$/.test(user)) errors.push({ path: up, message: 'must be keyed by a user e-mail address' });
      else if (Array.isArray(drive.users) && !drive.users.includes(user)) {
        warnings.push({ path: up, message: 'names a user who is not in "users"; the override has no effect' });
      }
    }
  });
}
