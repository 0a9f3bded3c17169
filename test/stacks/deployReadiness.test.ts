/**
 * What the first real deploy needs beyond a clean synth (issue 15, item 1), on every stack of
 * several configs: services after the capacity-provider association, replication failures and
 * unreplicated outbox archives alarmed, a retention on every log group, access logs by bucket
 * policy, and cdk-nag acknowledgements in the templates' metadata.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { Stack } from 'aws-cdk-lib';
import { DEFAULTS } from '../../stacks/defaults';
import { replicationRuleId } from '../../stacks/constructs/StagingBucket';
import { resourcesOf, statementsOf, synthVariant, type Variant } from './synthVariant';

// Each variant is synthesized once for the whole file (a synth costs seconds).
const variants: [string, Variant][] = [
  ['example', synthVariant('replication_config.json')],
  ['guide', synthVariant('guide-replication_config.json')],
  ['fanout', synthVariant('stacks-fanout.json')],
  ['bidirectional', synthVariant('stacks-bidirectional.json')],
];
const everyStack: [string, Variant, Stack][] = variants.flatMap(([name, v]) => [...v.sourceStacks, ...v.targetStacks].map((s): [string, Variant, Stack] => [`${name} ${s.stackName}`, v, s]));
const sourceStacks = variants.flatMap(([name, v]) => v.sourceStacks.filter((s) => s.outbox).map((s): [string, Variant, typeof s] => [`${name} ${s.stackName}`, v, s]));

const dependsOn = (r: { DependsOn?: string | string[] }): string[] => [r.DependsOn ?? []].flat();
const raw = (t: Template, type: string) => Object.entries(t.findResources(type)) as [string, Record<string, any>][];

describe('Deploy readiness of every stack', () => {
  describe.each(everyStack)('%s', (_name, v, stack) => {
    const t = v.template(stack);

    it("makes every ECS service depend on its cluster's capacity-provider association (create and delete cannot race)", () => {
      const associations = raw(t, 'AWS::ECS::ClusterCapacityProviderAssociations');
      const services = raw(t, 'AWS::ECS::Service');
      expect(services.length).toBeGreaterThan(0);
      for (const [, service] of services) {
        const cluster = service.Properties.Cluster.Ref as string;
        const mine = associations.filter(([, a]) => a.Properties.Cluster.Ref === cluster).map(([id]) => id);
        expect(mine).toHaveLength(1);
        expect(dependsOn(service)).toContain(mine[0]);
      }
    });

    it('gives every log group a retention, and every Lambda function (CDK handlers included) a log group of this stack', () => {
      const groups = new Map(resourcesOf(t, 'AWS::Logs::LogGroup'));
      expect(groups.size).toBeGreaterThan(0);
      for (const [id, g] of groups) expect([id, g.RetentionInDays]).toEqual([id, 30]);
      const functions = resourcesOf(t, 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) {
        const ref = fn.LoggingConfig?.LogGroup?.Ref as string | undefined;
        expect([id, ref !== undefined && groups.has(ref)]).toEqual([id, true]);
      }
      // The shared groups (/aws-glue/crawlers, Container Insights') are the account's, never created here.
      expect([...groups.values()].map((g) => g.LogGroupName).filter((n) => typeof n === 'string' && n.startsWith('/aws-glue'))).toEqual([]);
    });

    it('delivers server access logs through a bucket policy: no bucket has an ACL, the log bucket grants the logging service per source bucket', () => {
      const buckets = resourcesOf(t, 'AWS::S3::Bucket');
      expect(buckets.filter(([, b]) => b.AccessControl !== undefined)).toEqual([]);
      for (const [, b] of buckets) expect(b.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
      const logBucket = buckets.find(([id]) => id.startsWith('AccessLogs'))![0];
      const logged = buckets.filter(([, b]) => b.LoggingConfiguration?.DestinationBucketName?.Ref === logBucket);
      expect(logged.length).toBeGreaterThan(0);
      const [, policy] = resourcesOf(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket.Ref === logBucket)!;
      const grants = (policy.PolicyDocument.Statement as Record<string, any>[]).filter((s) => s.Principal?.Service === 'logging.s3.amazonaws.com');
      expect(grants.map((s) => [s.Action, s.Effect])).toEqual(logged.map(() => ['s3:PutObject', 'Allow']));
      for (const s of grants) expect(Object.keys(s.Condition).sort()).toEqual(['ArnLike', 'StringEquals']);
    });

    it("writes each resource's cdk-nag acknowledgements, with their reasons, into the template metadata", () => {
      const acknowledged = Object.entries(t.toJSON().Resources as Record<string, any>).filter(([, r]) => r.Metadata?.cdk_nag);
      expect(acknowledged.length).toBeGreaterThan(0);
      for (const [, r] of acknowledged) {
        for (const rule of r.Metadata.cdk_nag.rules_to_suppress) {
          expect(rule.id).toMatch(/^AwsSolutions-/);
          expect(rule.reason.length).toBeGreaterThan(20);
        }
      }
      // e.g. the dead-letter queues (SQS3) and the notification handler's role (IAM4).
      const ids = acknowledged.flatMap(([, r]) => r.Metadata.cdk_nag.rules_to_suppress.map((x: { id: string }) => x.id));
      expect(ids).toContain('AwsSolutions-SQS3');
      expect(ids).toContain('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]');
      expect(v.nagViolations(stack)).toEqual([]);
    });
  });

  describe.each(sourceStacks)('%s (replicating outbox)', (_name, v, stack) => {
    const t = v.template(stack);
    const outbox = stack.plan.outbox!;
    const [, bucket] = resourcesOf(t, 'AWS::S3::Bucket').find(([, b]) => b.BucketName === outbox)!;
    const rules = bucket.ReplicationConfiguration.Rules as Record<string, any>[];
    const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').map(([, a]) => a);

    it('enables S3 replication metrics on every rule, with or without RTC (OperationsFailedReplication needs them)', () => {
      for (const r of rules) {
        expect(r.Destination.Metrics.Status).toBe('Enabled');
        expect(Boolean(r.Destination.ReplicationTime)).toBe(r.Destination.Metrics.EventThreshold !== undefined);
      }
    });

    it('alarms on OperationsFailedReplication of each replication rule, to the alarm topic', () => {
      const failed = alarms.filter((a) => a.MetricName === 'OperationsFailedReplication');
      const dims = (a: Record<string, any>) => Object.fromEntries((a.Dimensions as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]));
      expect(failed.map(dims)).toEqual(
        rules.map((r) => ({ SourceBucket: outbox, DestinationBucket: r.Destination.Bucket.replace('arn:aws:s3:::', ''), RuleId: r.Id })),
      );
      for (const r of rules) expect(r.Id).toBe(replicationRuleId({ destinationRegion: r.Destination.Bucket.split('-').slice(-4, -1).join('-'), prefix: r.Filter.Prefix }));
      for (const a of failed) {
        expect(a).toMatchObject({ Namespace: 'AWS/S3', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
        expect(a.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^MonitoringAlarms/) }]);
      }
    });

    it('checks hourly for archives older than 6 hours not yet replicated, and alarms on them and on the check failing', () => {
      const [fnId, fn] = resourcesOf(t, 'AWS::Lambda::Function').find(([id]) => id.startsWith('OutboxAgeCheck'))!;
      const prefixes = [...new Set(rules.map((r) => r.Filter.Prefix as string))];
      expect(fn.Environment.Variables).toEqual({ OUTBOX_BUCKET: outbox, ARCHIVE_PREFIXES: JSON.stringify(prefixes), MIN_AGE_HOURS: String(DEFAULTS.outboxUnreplicatedAfter.toHours()) });
      const schedules = resourcesOf(t, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Targets ?? []).includes(fnId));
      expect(schedules.map(([, r]) => [r.ScheduleExpression, r.Targets[0].Arn])).toEqual([['rate(1 hour)', { 'Fn::GetAtt': [fnId, 'Arn'] }]]);
      const unreplicated = alarms.find((a) => a.MetricName === 'OutboxArchivesUnreplicated')!;
      expect(unreplicated).toMatchObject({ Namespace: 'xregion', Statistic: 'Maximum', Period: 3600, Threshold: 1, Dimensions: expect.arrayContaining([{ Name: 'bucket', Value: outbox }]) });
      const errors = alarms.find((a) => a.MetricName === 'Errors' && a.Namespace === 'AWS/Lambda')!;
      expect(errors.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: fnId } }]);
    });

    it("lets the check only list and HEAD the outbox's archive prefixes and write its own log group", () => {
      const statements = statementsOf(t, 'OutboxAgeCheckRole');
      const actions = statements.flatMap((s) => [s.Action].flat()).sort();
      expect(actions).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket']);
      const prefixes = [...new Set(rules.map((r) => r.Filter.Prefix as string))];
      const list = statements.find((s) => s.Action === 's3:ListBucket')!;
      expect(list).toMatchObject({ Resource: `arn:aws:s3:::${outbox}`, Condition: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } } });
      const get = statements.find((s) => s.Action === 's3:GetObject')!;
      expect([get.Resource].flat()).toEqual(prefixes.map((p) => `arn:aws:s3:::${outbox}/${p}*`));
    });
  });
});
