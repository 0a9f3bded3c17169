/**
 * fast-check arbitraries of replication configs for the topology tests (the model's properties,
 * the CDK rendering and the local rendering). `rawConfigArbitrary` yields config documents, most
 * of them valid; `configArbitrary` keeps the ones parseConfig accepts, validated and defaulted.
 *
 * What they cover: 1–4 rules over 2–5 real regions; several rules on one source bucket (with
 * prefixes that are disjoint, nested or empty: overlapping ones are rejected by parseConfig and
 * discarded); destinations that are another rule's source bucket (regions that are both source and
 * target, chains, and loops that parseConfig rejects); backup and normal destinations, created
 * buckets with Object Lock, KMS keys by ARN and by alias, RTC; Drive sources on a rule's bucket or
 * alone in a region (a source region with no rule); stack names up to the 24-character limit, and
 * bucket names with dots or up to S3's 63 characters.
 */
import fc from 'fast-check';
import { parseConfig, S3_STORAGE_CLASSES, type Config } from '../../shared/config';

/** Real regions the configs use (5 or fewer of them per config). */
export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ca-central-1', 'ap-southeast-2', 'sa-east-1', 'ap-northeast-1'] as const;

/** Prefix filters: pairwise disjoint, except '' (overlaps everything) and 'docs/2025/' (nested in 'docs/'). */
const PREFIXES = ['docs/', 'media/', 'ledgers/2025/', 'x', 'photos/raw/', '', 'docs/2025/'] as const;
const SUFFIXES = ['', '', '.csv', '.pdf'] as const;
const STACK_NAMES = ['xregion', 'dr', 'acme-prod', 'abcdefghijklmnopqrstuvwx'] as const;
const ACCOUNT = '123456789012';

export interface ConfigArbitraryOptions {
  /**
   * true: every source bucket name is 60-odd characters (S3 allows 63), so names derived from it
   * (the compressor queues) must be cut; false: short names only. @default either, at random per config
   */
  readonly longBucketNames?: boolean;
}

interface DestinationSpec {
  regionOffset: number;
  /** 'dst': a destination-only bucket; 'src': the source bucket (k) of the destination region. */
  kind: 'dst' | 'src';
  k: number;
  backup: boolean;
  storageClass: (typeof S3_STORAGE_CLASSES)[number];
  create: boolean;
  lock: { mode: 'COMPLIANCE' | 'GOVERNANCE'; days: number } | null;
  kms: 'none' | 'key' | 'alias';
}

interface RuleSpec {
  region: number;
  k: number;
  prefix: string;
  suffix: string;
  rtc: boolean;
  sourceKms: boolean;
  maxTasks: number;
  destinations: DestinationSpec[];
}

interface DriveSpec {
  /** A rule's source bucket (with its prefix), or a bucket of its own in this region. */
  onRule: boolean;
  region: number;
  prefix: string;
  create: boolean;
}

const destinationSpec: fc.Arbitrary<DestinationSpec> = fc.record({
  regionOffset: fc.nat({ max: 3 }),
  kind: fc.constantFrom('dst', 'dst', 'src'),
  k: fc.nat({ max: 1 }),
  backup: fc.boolean(),
  storageClass: fc.constantFrom(...S3_STORAGE_CLASSES),
  create: fc.boolean(),
  lock: fc.option(fc.record({ mode: fc.constantFrom('COMPLIANCE' as const, 'GOVERNANCE' as const), days: fc.integer({ min: 1, max: 3650 }) }), { freq: 3 }),
  kms: fc.constantFrom('none', 'none', 'key', 'alias'),
});

const ruleSpec: fc.Arbitrary<RuleSpec> = fc.record({
  region: fc.nat({ max: 4 }),
  k: fc.nat({ max: 1 }),
  prefix: fc.constantFrom(...PREFIXES),
  suffix: fc.constantFrom(...SUFFIXES),
  rtc: fc.boolean(),
  sourceKms: fc.boolean(),
  maxTasks: fc.integer({ min: 1, max: 40 }),
  destinations: fc.array(destinationSpec, { minLength: 1, maxLength: 3 }),
});

const driveSpec: fc.Arbitrary<DriveSpec> = fc.record({
  onRule: fc.boolean(),
  region: fc.nat({ max: 4 }),
  prefix: fc.constantFrom('gdrive/', ''),
  create: fc.boolean(),
});

/** A bucket name of one kind, index and region; the region is in the name, so a bucket never changes region. */
function bucketName(kind: string, k: number, region: string, dotted: boolean, long: boolean): string {
  const base = dotted ? `${kind}.${k}.${region}` : `${kind}-${k}-${region}`;
  if (!long) return base;
  // The distinguishing part first, then padding: different buckets still differ early.
  return `${base}-corporate-archive-landing-zone-long-name-padding`.slice(0, 63).replace(/[-.]+$/, '');
}

const keyArn = (region: string) => `arn:aws:kms:${region}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;

/** Config documents (JSON-like, not validated); most are valid. */
export function rawConfigArbitrary(options: ConfigArbitraryOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      stackName: fc.constantFrom(...STACK_NAMES),
      regions: fc.shuffledSubarray([...REGIONS], { minLength: 2, maxLength: 5 }),
      dotted: fc.boolean(),
      long: options.longBucketNames === undefined ? fc.boolean() : fc.constant(options.longBucketNames),
      rules: fc.array(ruleSpec, { minLength: 1, maxLength: 4 }),
      drive: fc.option(driveSpec, { freq: 3 }),
    })
    .map(({ stackName, regions, dotted, long, rules, drive }) => {
      const n = regions.length;
      const source = (regionIndex: number, k: number) => bucketName('src', k, regions[regionIndex % n], dotted, long);
      const replication_configuration = rules.map((r) => {
        const srcRegion = r.region % n;
        const destinationRegion = (d: DestinationSpec) => regions[(srcRegion + 1 + (d.regionOffset % (n - 1))) % n];
        const destinationBucket = (d: DestinationSpec) => {
          const region = destinationRegion(d);
          return d.kind === 'src' ? source(regions.indexOf(region), d.k) : bucketName('dst', d.k, region, dotted, false);
        };
        return {
          source: {
            region: regions[srcRegion],
            bucket: source(srcRegion, r.k),
            prefix_filter: r.prefix,
            suffix_filter: r.suffix,
            ...(r.sourceKms ? { kms_key_arn: keyArn(regions[srcRegion]) } : {}),
            scaling: { max_tasks: r.maxTasks },
            replication_time_control: r.rtc,
          },
          destinations: r.destinations.flatMap((d, j) => {
            // Never the source region: an offset of 1..n-1 from it.
            const region = destinationRegion(d);
            const bucket = destinationBucket(d);
            // One rule lists a bucket once (parseConfig would reject the rest): a repeat is dropped.
            if (r.destinations.slice(0, j).some((e) => destinationBucket(e) === bucket)) return [];
            return [{
              region,
              bucket,
              storage_class: d.storageClass,
              backup: d.backup,
              create_bucket: d.create,
              ...(d.create && d.lock ? { object_lock: d.lock } : {}),
              ...(d.kms === 'key' ? { kms_key_arn: keyArn(region) } : d.kms === 'alias' ? { kms_key_arn: `arn:aws:kms:${region}:${ACCOUNT}:alias/backup` } : {}),
            }];
          }),
        };
      });
      const drive_sources = drive
        ? [
            (() => {
              const rule = replication_configuration[0].source;
              const target = drive.onRule
                ? { region: rule.region, bucket: rule.bucket, prefix: rule.prefix_filter, create_bucket: drive.create }
                : { region: regions[drive.region % n], bucket: bucketName('drive', 0, regions[drive.region % n], dotted, false), prefix: drive.prefix, create_bucket: drive.create };
              return { name: 'corp', domain: 'corp.example', users: ['a@corp.example'], target };
            })(),
          ]
        : [];
      return { stack_name: stackName, drive_sources, replication_configuration };
    });
}

/** The config of a document, or undefined when parseConfig rejects it. */
export function validated(raw: unknown): Config | undefined {
  try {
    return parseConfig(raw).config;
  } catch {
    return undefined;
  }
}

/** Valid configs: generated documents that parseConfig accepts (the others are discarded), validated and defaulted. */
export function configArbitrary(options: ConfigArbitraryOptions = {}): fc.Arbitrary<Config> {
  return rawConfigArbitrary(options)
    .map(validated)
    .filter((c): c is Config => c !== undefined);
}
