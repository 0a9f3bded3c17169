/**
 * Checks that span several keys: things a per-field schema cannot see
 * (replication loops, overlapping rules, a bucket claimed by two regions, Fargate sizes...).
 */
import { FARGATE_MEMORY_BY_CPU, kmsKeyArnRegion } from './awsNames';
import type { ConfigIssue } from './errors';
import { showValue } from './formatIssues';
import { checkAzureDestinations, isAzureDestination } from './azureDestination';
import { MALFORMED, type Destination, type Lenient, type ParsedConfig } from './schema';

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

/** The parts of a config the cross-checks read: a valid Config, or what lenientParse() made of an invalid one. */
export type CheckableConfig = Lenient<ParsedConfig>;
type CheckableRule = Lenient<ParsedConfig['replication_configuration'][number]>;

/** The rule's S3 destinations (Azure ones have their own checks), each at its index in the list. */
function s3Destinations(rule: CheckableRule | undefined) {
  return (rule?.destinations ?? []).map((d) => (d && !isAzureDestination(d) ? (d as Lenient<Destination>) : undefined));
}

/** The rule's filter, when both halves of it parsed. */
function ruleFilter(r: CheckableRule | undefined): { prefix: string; suffix: string } | undefined {
  const prefix = r?.source?.prefix_filter;
  const suffix = r?.source?.suffix_filter;
  return prefix !== undefined && suffix !== undefined ? { prefix, suffix } : undefined;
}

/**
 * Runs every cross-check. On a config that failed the schema, each check looks only at the
 * values that parsed and skips what it cannot see, so it never reports a finding that rests on
 * a malformed value (that value has its own schema error).
 */
export function crossCheck(config: CheckableConfig): CrossCheckResult {
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const rules = config.replication_configuration ?? [];

  checkBucketRegions(config, errors);

  rules.forEach((rule, i) => {
    if (!rule) return;
    const src = rule.source;
    const p = rulePath(i);
    const destinations = s3Destinations(rule);
    checkAzureDestinations(rule.destinations ?? [], p, errors, warnings);
    destinations.forEach((dst, j) => {
      if (!dst) return;
      const dp = `${p}.destinations[${j}]`;
      const sameBucket = dst.bucket !== undefined && dst.bucket === src?.bucket;
      if (sameBucket) {
        errors.push({ path: `${dp}.bucket`, value: showValue(dst.bucket), message: 'is the rule\'s own source bucket; a destination must be a different bucket' });
      } else if (dst.region !== undefined && dst.region === src?.region) {
        errors.push({
          path: `${dp}.region`,
          value: showValue(dst.region),
          message: 'is the source region; xregion replicates across regions, so a destination must be in another region',
        });
      }
      if (dst.object_lock && dst.create_bucket === false) {
        errors.push({ path: `${dp}.object_lock`, message: 'needs "create_bucket": true (Object Lock can only be set on a bucket this deployment creates)' });
      }
      checkKmsRegion(errors, `${dp}.kms_key_arn`, dst.kms_key_arn, dst.region);
      destinations.slice(0, j).forEach((other, k) => {
        if (other?.bucket !== undefined && other.bucket === dst.bucket) {
          errors.push({ path: `${dp}.bucket`, value: showValue(dst.bucket), message: `is already destination ${k} of this rule` });
        }
      });
    });
    if (!src) return;
    checkKmsRegion(errors, `${p}.source.kms_key_arn`, src.kms_key_arn, src.region);

    const { cpu, memory, min_tasks, max_tasks } = src.scaling ?? {};
    if (cpu !== undefined) {
      const memories = FARGATE_MEMORY_BY_CPU[cpu];
      if (!memories) {
        errors.push({ path: `${p}.source.scaling.cpu`, value: showValue(cpu), message: `is not a Fargate CPU size (${Object.keys(FARGATE_MEMORY_BY_CPU).join(', ')})` });
      } else if (memory !== undefined && !memories.includes(memory)) {
        errors.push({
          path: `${p}.source.scaling.memory`,
          value: showValue(memory),
          message: `is not a Fargate memory size for cpu ${cpu} (${memories[0]} to ${memories[memories.length - 1]} in steps of ${memories[1] - memories[0]} MiB)`,
        });
      }
    }
    if (min_tasks !== undefined && max_tasks !== undefined && min_tasks > max_tasks) {
      errors.push({ path: `${p}.source.scaling.min_tasks`, value: showValue(min_tasks), message: `must not exceed max_tasks (${max_tasks})` });
    }

    const b = src.prefix_filter;
    if (src.bucket === undefined || b === undefined) return;
    rules.slice(0, i).forEach((other, k) => {
      // Prefixes alone decide: staging keys and replication filters carry {bucket}/{prefix} but not
      // the suffix, so two rules with overlapping prefixes would swap each other's archives.
      const a = other?.source?.prefix_filter;
      if (a !== undefined && other?.source?.bucket === src.bucket && (a.startsWith(b) || b.startsWith(a))) {
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

function checkKmsRegion(errors: ConfigIssue[], path: string, arn: string | undefined, region: string | undefined): void {
  if (!arn) return;
  const keyRegion = kmsKeyArnRegion(arn);
  if (!keyRegion) {
    errors.push({ path, value: showValue(arn), message: 'is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME)' });
  } else if (region !== undefined && keyRegion !== region) {
    errors.push({ path, value: showValue(arn), message: `is a key in ${keyRegion}, but the bucket is in ${region} (KMS keys are regional)` });
  }
}

/** A bucket name is global: every mention must agree on its region. */
function checkBucketRegions(config: CheckableConfig, errors: ConfigIssue[]): void {
  const seen = new Map<string, { region: string; path: string }>();
  const visit = (place: { bucket?: string; region?: string } | undefined, path: string) => {
    const { bucket, region } = place ?? {};
    if (bucket === undefined || region === undefined) return;
    const first = seen.get(bucket);
    if (!first) seen.set(bucket, { region, path });
    else if (first.region !== region) {
      errors.push({ path: `${path}.region`, value: showValue(region), message: `disagrees with ${first.path}, which puts bucket "${bucket}" in ${first.region}` });
    }
  };
  (config.replication_configuration ?? []).forEach((rule, i) => {
    visit(rule?.source, `${rulePath(i)}.source`);
    s3Destinations(rule).forEach((d, j) => visit(d, `${rulePath(i)}.destinations[${j}]`));
  });
  (config.drive_sources ?? []).forEach((d, i) => visit(d?.target, `drive_sources[${i}].target`));
}

/**
 * A loop is a cycle of rules where each rule's destination is the next rule's source bucket
 * and the keys it writes (which keep the rule's prefix) fall under the next rule's filter.
 * A rule whose source bucket or filter did not parse takes no part.
 */
function checkLoops(rules: readonly (CheckableRule | undefined)[], errors: ConfigIssue[]): void {
  const next = rules.map((rule, i) => {
    const filter = ruleFilter(rule);
    if (!rule || !filter || rule.source?.bucket === undefined) return [];
    const targets = new Set(s3Destinations(rule).map((d) => d?.bucket).filter((b) => b !== undefined));
    return rules.flatMap((other, j) => {
      const otherFilter = ruleFilter(other);
      const otherBucket = other?.source?.bucket;
      // A rule writing into its own source is reported as such above, not as a loop.
      const linked = j !== i && otherFilter && otherBucket !== undefined && targets.has(otherBucket) && filtersOverlap(filter, otherFilter);
      return linked ? [j] : [];
    });
  });
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
          // Every rule on a cycle has a parsed source bucket (see `next`).
          const chain = [...cycle, j].map((r) => rules[r]?.source?.bucket).join(' → ');
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

function checkDriveSources(config: CheckableConfig, errors: ConfigIssue[], warnings: ConfigIssue[]): void {
  const names = new Set<string>();
  const rules = config.replication_configuration ?? [];
  (config.drive_sources ?? []).forEach((drive, i) => {
    if (!drive) return;
    const p = `drive_sources[${i}]`;
    if (drive.name !== undefined) {
      if (names.has(drive.name)) errors.push({ path: `${p}.name`, value: showValue(drive.name), message: 'is used by another drive source' });
      names.add(drive.name);
    }
    // A malformed admin_subject is not a missing one: its schema error says what is wrong with it.
    if (drive.users === 'all' && !drive.admin_subject && !drive[MALFORMED]?.has('admin_subject')) {
      errors.push({ path: `${p}.admin_subject`, message: 'is required when "users" is "all" (an admin is impersonated to list the domain\'s users)' });
    }
    const t = drive.target;
    if (t?.bucket !== undefined && t.prefix !== undefined) {
      const { bucket, prefix } = t;
      const covered = rules.some((r) => {
        const from = r?.source?.prefix_filter;
        return r?.source?.bucket === bucket && from !== undefined && (prefix.startsWith(from) || from.startsWith(prefix));
      });
      if (!covered) {
        warnings.push({
          path: `${p}.target`,
          value: showValue(`s3://${bucket}/${prefix}`),
          message: 'is not the source of any replication rule: files will be backed up to it but nothing will replicate them',
        });
      }
    }
    for (const user of Object.keys(drive.user_overrides ?? {})) {
      const up = `${p}.user_overrides[${JSON.stringify(user)}]`;
      if (!/^[^@\s]+@[^@\s]+$/.test(user)) errors.push({ path: up, message: 'must be keyed by a user e-mail address' });
      else if (Array.isArray(drive.users) && !drive.users.includes(user)) {
        warnings.push({ path: up, message: 'names a user who is not in "users"; the override has no effect' });
      }
    }
  });
}
