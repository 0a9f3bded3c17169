/**
 * The topology model: one pure function of a validated config (and the AWS account) yields the
 * whole deployment — per region its outbox, inbound staging and catalog buckets, every queue
 * with its dead-letter queue, every notification filter, every replication rule, and the rules
 * and destinations each router owns. `stacks/` renders it to CloudFormation and the local
 * appliance renders it to folders and local queues; neither formats a name of its own.
 */
import type { Config, Destination, ReplicationRule } from '../config/schema';
import { ruleId } from '../config/topology';
import {
  catalogBucketName,
  compressorQueueName,
  deadLetterQueueName,
  outboxBucketName,
  routerQueueName,
  stagingBucketName,
  stagingPrefix,
} from './names';

/** A work queue and its dead-letter queue. */
export interface QueuePlan {
  name: string;
  deadLetter: string;
}

/** One S3 event notification: ObjectCreated events under prefix/suffix of a bucket go to a queue. */
export interface NotificationPlan {
  bucket: string;
  prefix: string;
  suffix: string;
  queue: string;
}

/** One rule's compressor: its queue, the source-bucket notification feeding it, and the outbox it writes. */
export interface CompressorPlan {
  ruleId: string;
  rule: ReplicationRule;
  region: string;
  queue: QueuePlan;
  notification: NotificationPlan;
  outbox: string;
}

/** One replication rule: archives under `prefix` in a region's outbox are copied to another region's staging bucket. */
export interface ReplicationPlan {
  fromRegion: string;
  fromBucket: string;
  prefix: string;
  toRegion: string;
  toBucket: string;
  replicationTimeControl: boolean;
}

/** One region's router: its staging bucket, queue, notifications, and the rules it owns (whole rules: it picks its own destinations). */
export interface RouterPlan {
  region: string;
  staging: string;
  queue: QueuePlan;
  notifications: NotificationPlan[];
  rules: ReplicationRule[];
  /** Present when a backup destination lives in the region. */
  catalog?: string;
}

/** Everything of one region. */
export interface RegionPlan {
  region: string;
  /** Present when a rule reads a source bucket here. */
  outbox?: string;
  compressors: CompressorPlan[];
  /** Outbound replication rules of this region's outbox. */
  replications: ReplicationPlan[];
  router?: RouterPlan;
  /** Drive sources writing into a bucket of this region. */
  driveSources: Config['drive_sources'];
}

/** The one path of a (rule, destination) pair through the deployment. */
export interface DeliveryPath {
  ruleId: string;
  rule: ReplicationRule;
  destination: Destination;
  compressor: CompressorPlan;
  replication: ReplicationPlan;
  router: RouterPlan;
}

export interface Topology {
  stackName: string;
  account: string;
  /** Every region with something deployed, sorted. */
  regions: RegionPlan[];
  paths: DeliveryPath[];
}

const ARCHIVE_SUFFIX = '.tar.zst';

function queuePlan(name: string): QueuePlan {
  return { name, deadLetter: deadLetterQueueName(name) };
}

/** Outbound replication rules: one per (rule prefix, destination region); a prefix covered by a shorter one to the same region is dropped, RTC if any rule under it asks. */
function replicationsOf(stackName: string, account: string, region: string, rules: readonly ReplicationRule[]): ReplicationPlan[] {
  const seen = new Map<string, ReplicationPlan>();
  for (const rule of rules) {
    const prefix = stagingPrefix(rule);
    for (const toRegion of [...new Set(rule.destinations.map((d) => d.region))].sort()) {
      const id = `${toRegion} ${prefix}`;
      const prior = seen.get(id);
      seen.set(id, {
        fromRegion: region,
        fromBucket: outboxBucketName(stackName, account, region),
        prefix,
        toRegion,
        toBucket: stagingBucketName(stackName, account, toRegion),
        replicationTimeControl: (prior?.replicationTimeControl ?? false) || rule.source.replication_time_control,
      });
    }
  }
  const all = [...seen.values()];
  const covers = (o: ReplicationPlan, r: ReplicationPlan) => o.toRegion === r.toRegion && r.prefix.startsWith(o.prefix);
  return all
    .filter((r) => !all.some((o) => o !== r && o.prefix !== r.prefix && covers(o, r)))
    .map((r) => ({ ...r, replicationTimeControl: all.some((o) => covers(r, o) && o.replicationTimeControl) }));
}

/** Derives the whole deployment of a validated config. `account` is 'local' on the embedded default. */
export function buildTopology(config: Config, account: string): Topology {
  const stackName = config.stack_name;
  const rules = config.replication_configuration;
  const names = new Set<string>([...rules.map((r) => r.source.region), ...rules.flatMap((r) => r.destinations.map((d) => d.region)), ...config.drive_sources.map((d) => d.target.region)]);
  const regions: RegionPlan[] = [...names].sort().map((region) => {
    const local = rules.filter((r) => r.source.region === region);
    const outbox = local.length ? outboxBucketName(stackName, account, region) : undefined;
    const compressors = local.map((rule): CompressorPlan => {
      const queue = queuePlan(compressorQueueName(stackName, rule));
      return {
        ruleId: ruleId(rule),
        rule,
        region,
        queue,
        notification: { bucket: rule.source.bucket, prefix: rule.source.prefix_filter, suffix: rule.source.suffix_filter, queue: queue.name },
        outbox: outbox!,
      };
    });
    const owned = rules.filter((r) => r.destinations.some((d) => d.region === region));
    let router: RouterPlan | undefined;
    if (owned.length) {
      const staging = stagingBucketName(stackName, account, region);
      const queue = queuePlan(routerQueueName(stackName, region));
      // One notification per source bucket: `{bucket}/` prefixes never overlap and never match quarantine/ or _xregion/.
      const buckets = [...new Set(owned.map((r) => r.source.bucket))].sort();
      router = {
        region,
        staging,
        queue,
        notifications: buckets.map((bucket) => ({ bucket: staging, prefix: `${bucket}/`, suffix: ARCHIVE_SUFFIX, queue: queue.name })),
        rules: owned,
        ...(owned.some((r) => r.destinations.some((d) => d.backup && d.region === region)) && { catalog: catalogBucketName(stackName, account, region) }),
      };
    }
    return { region, outbox, compressors, replications: replicationsOf(stackName, account, region, local), router, driveSources: config.drive_sources.filter((d) => d.target.region === region) };
  });

  const byRegion = new Map(regions.map((r) => [r.region, r]));
  const paths: DeliveryPath[] = [];
  for (const rule of rules) {
    const source = byRegion.get(rule.source.region)!;
    const compressor = source.compressors.find((c) => c.rule === rule)!;
    for (const destination of rule.destinations) {
      const prefix = stagingPrefix(rule);
      const replication = source.replications.find((r) => r.toRegion === destination.region && prefix.startsWith(r.prefix))!;
      paths.push({ ruleId: ruleId(rule), rule, destination, compressor, replication, router: byRegion.get(destination.region)!.router! });
    }
  }
  return { stackName, account, regions, paths };
}

/** The plan of one region; throws when the topology has nothing there. */
export function regionPlan(topology: Topology, region: string): RegionPlan {
  const plan = topology.regions.find((r) => r.region === region);
  if (!plan) throw new Error(`the topology has nothing in region ${region}`);
  return plan;
}

/** The rule (owned by this router) an archive key in its staging bucket belongs to, or undefined. */
export function ruleForArchive(router: Pick<RouterPlan, 'rules'>, key: string): ReplicationRule | undefined {
  return router.rules.find((rule) => {
    const base = stagingPrefix(rule);
    return key.startsWith(base) && !key.slice(base.length).includes('/') && key.endsWith(ARCHIVE_SUFFIX);
  });
}

/** The replication rules of an outbox that match an archive key. */
export function replicationsForArchive(region: Pick<RegionPlan, 'replications'>, key: string): ReplicationPlan[] {
  return region.replications.filter((r) => key.startsWith(r.prefix) && key.endsWith(ARCHIVE_SUFFIX));
}
