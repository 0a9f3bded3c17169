/**
 * Test helper: reads back from synthesized templates what the topology model decides (queue names,
 * bucket names, notifications, replication rules, lifecycle rules) and checks that every stack of
 * an app renders exactly its region's plan.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { Config } from '../../shared/config';
import { regionPlan, type NotificationPlan, type QueuePlan, type Topology } from '../../shared/topology';
import type { SourceStack } from '../../stacks/SourceStack';
import type { TargetStack } from '../../stacks/TargetStack';
import { containerEnvironment, resourcesOf, type Variant } from './synthVariant';

const getAttId = (v: unknown): string => (v as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/** A bucket name as a template gives it: a literal, or a Ref to a bucket of the template. */
function bucketNameOf(t: Template, value: unknown): string {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: string }).Ref;
  const resource = ref ? t.toJSON().Resources[ref] : undefined;
  if (!resource || typeof resource.Properties?.BucketName !== 'string') throw new Error(`not a bucket name: ${JSON.stringify(value)}`);
  return resource.Properties.BucketName;
}

/** The work queues of a template (those with a redrive policy), as QueuePlans. */
export function renderedQueues(t: Template): QueuePlan[] {
  const queues = new Map(resourcesOf(t, 'AWS::SQS::Queue'));
  return [...queues.values()]
    .filter((p) => p.RedrivePolicy)
    .map((p) => ({ name: p.QueueName, deadLetter: queues.get(getAttId(p.RedrivePolicy.deadLetterTargetArn))!.QueueName }));
}

/** Every queue name a template sets (work and dead-letter queues); unnamed queues are left out. */
export function renderedQueueNames(t: Template): string[] {
  return resourcesOf(t, 'AWS::SQS::Queue')
    .map(([, p]) => p.QueueName as string | undefined)
    .filter((n): n is string => n !== undefined);
}

/** The S3 → SQS notifications of a template, as NotificationPlans (queues by name). */
export function renderedNotifications(t: Template): NotificationPlan[] {
  const queues = new Map(resourcesOf(t, 'AWS::SQS::Queue'));
  return resourcesOf(t, 'Custom::S3BucketNotifications').flatMap(([, p]) =>
    (p.NotificationConfiguration.QueueConfigurations ?? []).map((q: any) => {
      expect(q.Events).toEqual(['s3:ObjectCreated:*']);
      const rules: { Name: string; Value: string }[] = q.Filter?.Key?.FilterRules ?? [];
      return {
        bucket: bucketNameOf(t, p.BucketName),
        prefix: rules.find((r) => r.Name === 'prefix')?.Value ?? '',
        suffix: rules.find((r) => r.Name === 'suffix')?.Value ?? '',
        queue: queues.get(getAttId(q.QueueArn))!.QueueName,
      };
    }),
  );
}

/** The bucket names a template creates (literal names only; generated ones are left out). */
export function renderedBucketNames(t: Template): string[] {
  return resourcesOf(t, 'AWS::S3::Bucket')
    .map(([, p]) => p.BucketName)
    .filter((n): n is string => typeof n === 'string');
}

/** The properties of the bucket with this name in a template. */
export function bucketNamed(t: Template, name: string): Record<string, any> {
  const found = resourcesOf(t, 'AWS::S3::Bucket').find(([, p]) => p.BucketName === name);
  if (!found) throw new Error(`no bucket ${name} in the template`);
  return found[1];
}

/** The replication rules of a bucket as (prefix, destination bucket, RTC), in priority order. */
export function renderedReplications(t: Template, bucket: string): { prefix: string; toBucket: string; replicationTimeControl: boolean }[] {
  const rules: any[] = bucketNamed(t, bucket).ReplicationConfiguration?.Rules ?? [];
  return [...rules]
    .sort((a, b) => a.Priority - b.Priority)
    .map((r) => ({ prefix: r.Filter.Prefix, toBucket: String(r.Destination.Bucket).replace(/^arn:aws:s3:::/, ''), replicationTimeControl: Boolean(r.Destination.ReplicationTime) }));
}

/** The lifecycle rules of a bucket that expire current objects, as (prefix, days). */
export function expirationsOf(t: Template, bucket: string): { prefix: string; days: number }[] {
  const rules: any[] = bucketNamed(t, bucket).LifecycleConfiguration?.Rules ?? [];
  return rules.filter((r) => r.ExpirationInDays !== undefined).map((r) => ({ prefix: r.Prefix ?? '', days: r.ExpirationInDays }));
}

const sorted = <T>(xs: readonly T[]): T[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/** Every bucket a config names (the user's buckets, as opposed to the model's). */
export function configBuckets(config: Config): Set<string> {
  return new Set([
    ...config.replication_configuration.flatMap((r) => [r.source.bucket, ...r.destinations.map((d) => d.bucket)]),
    ...config.drive_sources.map((d) => d.target.bucket),
  ]);
}

/** Asserts that a source stack renders its region's plan: queues, notifications, outbox, replication rules. */
export function expectSourceRendersModel(v: Variant, stack: SourceStack): void {
  const t = v.template(stack);
  const plan = regionPlan(v.topology, stack.region);
  expect(stack.plan).toBe(plan);
  expect(sorted(renderedQueues(t))).toEqual(sorted(plan.compressors.map((c) => c.queue)));
  expect(sorted(renderedNotifications(t))).toEqual(sorted(plan.compressors.map((c) => c.notification)));
  const own = renderedBucketNames(t).filter((b) => !configBuckets(v.config).has(b));
  expect(own).toEqual(plan.outbox ? [plan.outbox] : []);
  if (plan.outbox) {
    expect(renderedReplications(t, plan.outbox)).toEqual(plan.replications.map((r) => ({ prefix: r.prefix, toBucket: r.toBucket, replicationTimeControl: r.replicationTimeControl })));
  }
  const staging = resourcesOf(t, 'AWS::ECS::TaskDefinition')
    .filter(([, p]) => p.ContainerDefinitions[0].Name === 'compressor')
    .map(([, p]) => containerEnvironment(p).XREGION_STAGING_BUCKET);
  expect(staging).toEqual(plan.compressors.map((c) => c.outbox));
}

/** Asserts that a target stack renders its region's router plan: queue, notifications, staging and catalog buckets. */
export function expectTargetRendersModel(v: Variant, stack: TargetStack): void {
  const t = v.template(stack);
  const router = regionPlan(v.topology, stack.region).router!;
  expect(stack.plan).toBe(router);
  expect(renderedQueues(t)).toEqual([router.queue]);
  expect(sorted(renderedNotifications(t))).toEqual(sorted(router.notifications));
  const own = renderedBucketNames(t).filter((b) => !configBuckets(v.config).has(b));
  expect(own.sort()).toEqual([router.staging, ...(router.catalog ? [router.catalog] : [])].sort());
  expect(bucketNamed(t, router.staging).ReplicationConfiguration).toBeUndefined();
  const env = containerEnvironment(resourcesOf(t, 'AWS::ECS::TaskDefinition')[0][1]);
  expect([env.XREGION_STAGING_BUCKET, env.XREGION_CATALOG_BUCKET]).toEqual([router.staging, router.catalog]);
}

/** Every bucket and queue name of a topology. */
export function modelNames(t: Topology): { buckets: string[]; queues: string[] } {
  return {
    buckets: t.regions.flatMap((r) => [r.outbox, r.router?.staging, r.router?.catalog].filter((b): b is string => b !== undefined)),
    queues: t.regions.flatMap((r) => [...r.compressors.map((c) => c.queue), ...(r.router ? [r.router.queue] : [])]).flatMap((q) => [q.name, q.deadLetter]),
  };
}

/**
 * Asserts that an app renders its topology: one source stack per region with compressors or Drive
 * sources, one target stack per router, each rendering its plan, and across all stacks exactly the
 * model's queue names and the model's bucket names (besides the config's own buckets), each once.
 */
export function expectAppRendersModel(v: Variant): void {
  expect(v.sourceStacks.map((s) => s.region)).toEqual(v.topology.regions.filter((r) => r.compressors.length > 0 || r.driveSources.length > 0).map((r) => r.region));
  expect(v.targetStacks.map((s) => s.region)).toEqual(v.topology.regions.filter((r) => r.router).map((r) => r.region));
  for (const s of v.sourceStacks) expectSourceRendersModel(v, s);
  for (const s of v.targetStacks) expectTargetRendersModel(v, s);
  const stacks = [...v.sourceStacks, ...v.targetStacks];
  const queues = stacks.flatMap((s) => renderedQueueNames(v.template(s)));
  const buckets = stacks.flatMap((s) => renderedBucketNames(v.template(s))).filter((b) => !configBuckets(v.config).has(b));
  const model = modelNames(v.topology);
  expect(queues.sort()).toEqual(model.queues.sort());
  expect(buckets.sort()).toEqual(model.buckets.sort());
  expect(new Set(queues).size).toBe(queues.length);
  expect(new Set(buckets).size).toBe(buckets.length);
}
