import { Match } from 'aws-cdk-lib/assertions';
import { CATALOG_COLUMNS } from '../../shared/catalog/columns';
import { parseConfig } from '../../shared/config';
import { DELIVERY_RECORDS_PREFIX, regionPlan } from '../../shared/topology';
import type { TargetStack } from '../../stacks/TargetStack';
import { expectTargetRendersModel, expirationsOf, renderedNotifications, renderedQueues } from './modelRendering';
import { ACCOUNT, containerEnvironment, resourcesGranted, resourcesOf, statementsOf, synthVariant, type Variant } from './synthVariant';

// Each variant is synthesized once for the whole file (a synth costs seconds).
const guide = synthVariant('guide-replication_config.json');
const normalOnly = synthVariant('stacks-normal-only.json');
const fanout = synthVariant('stacks-fanout.json');

const stackIn = (v: Variant, region: string): TargetStack => v.targetStacks.find((s) => s.region === region)!;
const routerTask = (v: Variant, region: string) => resourcesOf(v.template(stackIn(v, region)), 'AWS::ECS::TaskDefinition')[0][1];

describe('Class: TargetStack', () => {
  describe('the guide config: a backup destination in eu-central-1, a normal one in ca-central-1', () => {
    const eu = guide.template(stackIn(guide, 'eu-central-1'));
    const ca = guide.template(stackIn(guide, 'ca-central-1'));

    it('makes one target stack per destination region', () => {
      expect(guide.targetStacks.map((s) => s.stackName).sort()).toEqual(['xregion-target-ca-central-1', 'xregion-target-eu-central-1']);
    });

    it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
      for (const stack of guide.targetStacks) expect(guide.nagViolations(stack)).toEqual([]);
    });

    it("renders the topology model's router plan of each region: queue names, notifications, staging and catalog buckets", () => {
      for (const stack of guide.targetStacks) expectTargetRendersModel(guide, stack);
      const router = regionPlan(guide.topology, 'eu-central-1').router!;
      expect(renderedQueues(eu)).toEqual([{ name: 'xregion-router-eu-central-1', deadLetter: 'xregion-router-eu-central-1-dlq' }]);
      expect(router.queue).toEqual({ name: 'xregion-router-eu-central-1', deadLetter: 'xregion-router-eu-central-1-dlq' });
      expect(renderedNotifications(eu)).toEqual([{ bucket: `xregion-${ACCOUNT}-eu-central-1-staging`, prefix: 'source-bucket/', suffix: '.tar.zst', queue: 'xregion-router-eu-central-1' }]);
      expect([router.staging, router.catalog]).toEqual([`xregion-${ACCOUNT}-eu-central-1-staging`, `xregion-${ACCOUNT}-eu-central-1-catalog`]);
      expect(regionPlan(guide.topology, 'ca-central-1').router!.catalog).toBeUndefined();
    });

    it('expires delivery records after 30 days (past SQS 14-day retention) and no archive or quarantined object', () => {
      for (const [t, region] of [[eu, 'eu-central-1'], [ca, 'ca-central-1']] as const) {
        expect(expirationsOf(t, `xregion-${ACCOUNT}-${region}-staging`)).toEqual([{ prefix: '_xregion/deliveries/', days: 30 }]);
      }
      expect(DELIVERY_RECORDS_PREFIX).toBe('_xregion/deliveries/');
    });

    it('lets the router put, get and list its delivery records, and never delete them', () => {
      const statements = statementsOf(eu, 'RouterTaskDefinitionTaskRole');
      const staging = `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging`;
      expect(statements).toContainEqual({ Action: ['s3:PutObject', 's3:GetObject'], Effect: 'Allow', Resource: `${staging}/_xregion/deliveries/*` });
      expect(resourcesGranted(statements, 's3:ListBucket')).toContain(staging);
      const deletable = [...resourcesGranted(statements, 's3:DeleteObject'), ...resourcesGranted(statements, 's3:DeleteObjectVersion')] as string[];
      // A delete grant covers a record when its prefix (before the `*`) is a prefix of the record's key.
      const record = `${staging}/_xregion/deliveries/source-bucket/documents/backup_1_a.tar.zst/target-bucket-backup.json`;
      expect(deletable.filter((r) => record.startsWith(r.replace(/\*$/, '')))).toEqual([]);
    });

    it('can put or server-side copy an archive (any size, with its xregion-archive-etag metadata) to the backup destination and compare an existing copy', () => {
      const statements = statementsOf(eu, 'RouterTaskDefinitionTaskRole');
      // Source of CopyObject/UploadPartCopy: the staging archive, pinned to its version, with its tags.
      for (const action of ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']) {
        expect(resourcesGranted(statements, action)).toContain(`arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/source-bucket/*`);
      }
      // Destination: PutObject (user metadata needs nothing else), multipart for large copies, a HEAD of an existing copy.
      for (const action of ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObjectTagging', 's3:GetObject']) {
        expect(resourcesGranted(statements, action)).toContain('arn:aws:s3:::target-bucket-backup/documents/*');
      }
      expect(resourcesGranted(statements, 's3:ListBucket')).toContain('arn:aws:s3:::target-bucket-backup');
    });

    it('creates the staging bucket under its deterministic name and key alias: versioned, KMS, TLS only', () => {
      eu.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: `xregion-${ACCOUNT}-eu-central-1-staging`,
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      eu.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/xregion/staging' });
      eu.hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
          ]),
        },
      });
    });

    it('notifies the router queue of archives per source bucket, never of quarantine/', () => {
      const [, n] = resourcesOf(eu, 'Custom::S3BucketNotifications')[0];
      expect(n.NotificationConfiguration.QueueConfigurations.map((q: any) => q.Filter.Key.FilterRules)).toEqual([
        [
          { Name: 'suffix', Value: '.tar.zst' },
          { Name: 'prefix', Value: 'source-bucket/' },
        ],
      ]);
      const work = resourcesOf(eu, 'AWS::SQS::Queue').filter(([, p]) => p.RedrivePolicy);
      expect(work.map(([, p]) => p.RedrivePolicy.maxReceiveCount)).toEqual([5]);
    });

    it('imports destination buckets that the config does not create', () => {
      const names = [...resourcesOf(eu, 'AWS::S3::Bucket'), ...resourcesOf(ca, 'AWS::S3::Bucket')].map(([, p]) => p.BucketName);
      expect(names).not.toContain('target-bucket-backup');
      expect(names).not.toContain('target-bucket-normal');
    });

    it('runs the router with its environment and the whole rules that reach this region (catalog target_buckets)', () => {
      const td = routerTask(guide, 'eu-central-1');
      expect(td.ContainerDefinitions[0].Command).toEqual(['node', 'dist/services/router/main.js']);
      const env = containerEnvironment(td);
      expect(env).toMatchObject({
        XREGION_ROLE: 'router',
        AWS_REGION: 'eu-central-1',
        XREGION_STAGING_BUCKET: `xregion-${ACCOUNT}-eu-central-1-staging`,
        XREGION_CATALOG_BUCKET: `xregion-${ACCOUNT}-eu-central-1-catalog`,
        POWERTOOLS_METRICS_NAMESPACE: 'xregion',
      });
      const slice = parseConfig(JSON.parse(env.XREGION_CONFIG as string)).config;
      expect(slice.replication_configuration.flatMap((r) => r.destinations.map((d) => d.bucket))).toEqual(['target-bucket-backup', 'target-bucket-normal']);
      expect(containerEnvironment(routerTask(guide, 'ca-central-1')).XREGION_CATALOG_BUCKET).toBeUndefined();
      eu.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 20 });
    });

    it('lets the router write only the rule prefix of this region destinations and the catalog', () => {
      const statements = statementsOf(eu, 'RouterTaskDefinitionTaskRole');
      expect((resourcesGranted(statements, 's3:PutObject') as string[]).sort()).toEqual([
        'arn:aws:s3:::target-bucket-backup/documents/*',
        `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-catalog/source-bucket/documents/*`,
        `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/_xregion/deliveries/*`,
        `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/quarantine/*`,
      ]);
      expect(resourcesGranted(statements, 's3:DeleteObject')).toEqual([`arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/source-bucket/*`]);
      // Archives are deleted by version id in the versioned staging bucket.
      expect(resourcesGranted(statements, 's3:DeleteObjectVersion')).toEqual([`arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/source-bucket/*`]);
      // The router HEADs a catalog file before rewriting it: GetObject there, ListBucket for a 404.
      expect(resourcesGranted(statements, 's3:GetObject')).toContain(`arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-catalog/source-bucket/documents/*`);
      expect(resourcesGranted(statements, 's3:ListBucket')).toContain(`arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-catalog`);
      expect(resourcesGranted(statementsOf(ca, 'RouterTaskDefinitionTaskRole'), 's3:PutObject')).toContain('arn:aws:s3:::target-bucket-normal/documents/*');
      expect(JSON.stringify(statementsOf(ca, 'RouterTaskDefinitionTaskRole'))).not.toContain('target-bucket-backup');
    });

    it('creates the catalog bucket with a 365-day lifecycle and one Glue table per rule with the catalog columns', () => {
      eu.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: `xregion-${ACCOUNT}-eu-central-1-catalog`,
        LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 365 })] },
      });
      eu.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'xregion_catalog' } });
      const tables = resourcesOf(eu, 'AWS::Glue::Table');
      expect(tables).toHaveLength(1);
      const input = tables[0][1].TableInput;
      expect(input.Name).toBe('source_bucket_documents');
      expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
      expect(input.StorageDescriptor.Columns.map((c: any) => [c.Name, c.Type])).toEqual(CATALOG_COLUMNS.map((c) => [c.name, c.type]));
      expect(input.PartitionKeys).toEqual([
        { Name: 'year', Type: 'string' },
        { Name: 'month', Type: 'string' },
        { Name: 'day', Type: 'string' },
      ]);
      expect(input.StorageDescriptor.Location).toBe(`s3://xregion-${ACCOUNT}-eu-central-1-catalog/source-bucket/documents/`);
    });

    it('enables partition projection matching the catalog key layout', () => {
      const input = resourcesOf(eu, 'AWS::Glue::Table')[0][1].TableInput;
      expect(input.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.year.type': 'integer',
        'projection.month.digits': '2',
        'projection.day.digits': '2',
        'storage.location.template': `s3://xregion-${ACCOUNT}-eu-central-1-catalog/source-bucket/documents/year=\${year}/month=\${month}/day=\${day}/`,
      });
    });

    it('crawls the tables daily at 02:00 UTC, adding partitions and never changing the schema', () => {
      eu.hasResourceProperties('AWS::Glue::Crawler', {
        Schedule: { ScheduleExpression: 'cron(0 2 * * ? *)' },
        SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
        Targets: { CatalogTargets: [{ DatabaseName: 'xregion_catalog', Tables: ['source_bucket_documents'] }] },
        CrawlerSecurityConfiguration: Match.anyValue(),
      });
      const [, crawler] = resourcesOf(eu, 'AWS::Glue::Crawler')[0];
      expect(JSON.parse(crawler.Configuration)).toEqual({ Version: 1, CrawlerOutput: { Partitions: { AddOrUpdateBehavior: 'InheritFromTable' } } });
    });

    it('has an Athena workgroup with enforced, encrypted results in its own bucket kept 30 days', () => {
      eu.hasResourceProperties('AWS::Athena::WorkGroup', {
        Name: 'xregion-catalog',
        WorkGroupConfiguration: Match.objectLike({
          EnforceWorkGroupConfiguration: true,
          ResultConfiguration: { EncryptionConfiguration: { EncryptionOption: 'SSE_S3' }, OutputLocation: Match.anyValue() },
        }),
      });
      eu.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] } });
    });

    it('has no Glue or Athena where only normal destinations live', () => {
      for (const type of ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Glue::Crawler', 'AWS::Athena::WorkGroup']) ca.resourceCountIs(type, 0);
    });

    it('alarms on router failures, quarantined archives and missing archives', () => {
      const queries = resourcesOf(eu, 'AWS::CloudWatch::Alarm').map(([, p]) => JSON.stringify(p.Metrics ?? []));
      expect(queries.some((q) => q.includes("SELECT SUM(ArchivesQuarantined) FROM xregion WHERE service = 'router'"))).toBe(true);
      expect(queries.some((q) => q.includes("SELECT SUM(Failures) FROM xregion WHERE service = 'router'"))).toBe(true);
      const [, dashboard] = resourcesOf(eu, 'AWS::CloudWatch::Dashboard')[0];
      expect(JSON.stringify(dashboard.DashboardBody)).toContain('GROUP BY destination');
    });

    it('alarms, like the other router metrics, on ArchivesMissing (an archive gone from staging with no delivery record) and graphs it', () => {
      for (const t of [eu, ca]) {
        const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').filter(([, p]) => JSON.stringify(p.Metrics ?? []).includes("SELECT SUM(ArchivesMissing) FROM xregion WHERE service = 'router'"));
        expect(alarms).toHaveLength(1);
        const [id, alarm] = alarms[0];
        expect(id).toMatch(/^MonitoringRouterArchivesMissing/);
        expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
        expect(alarm.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^MonitoringAlarms/) }]);
        expect(alarm.OKActions).toEqual(alarm.AlarmActions);
        expect(alarm.AlarmDescription).toContain('no delivery record under _xregion/deliveries/');
        const body = JSON.stringify(resourcesOf(t, 'AWS::CloudWatch::Dashboard')[0][1].DashboardBody);
        expect(body).toContain('SELECT SUM(ArchivesMissing) FROM xregion');
        expect(body).toContain('router: archives routed / quarantined / missing');
      }
    });
  });

  describe('a rule with only normal destinations and no prefix', () => {
    const stack = normalOnly.targetStacks[0];
    const t = normalOnly.template(stack);

    it('has no catalog, Glue or Athena, and no unacknowledged cdk-nag findings', () => {
      for (const type of ['AWS::Glue::Database', 'AWS::Glue::Table', 'AWS::Glue::Crawler', 'AWS::Athena::WorkGroup']) t.resourceCountIs(type, 0);
      expect(resourcesOf(t, 'AWS::S3::Bucket').map(([, p]) => p.BucketName)).not.toContain(`mirror-${ACCOUNT}-us-west-2-catalog`);
      expect(normalOnly.nagViolations(stack)).toEqual([]);
    });

    it('lets the router write the whole destination bucket (empty prefix) and nothing else', () => {
      const statements = statementsOf(t, 'RouterTaskDefinitionTaskRole');
      expect((resourcesGranted(statements, 's3:PutObject') as string[]).sort()).toEqual([
        'arn:aws:s3:::media-mirror-west/*',
        `arn:aws:s3:::mirror-${ACCOUNT}-us-west-2-staging/_xregion/deliveries/*`,
        `arn:aws:s3:::mirror-${ACCOUNT}-us-west-2-staging/quarantine/*`,
      ]);
    });

    it("renders the topology model's router plan (no catalog)", () => {
      expectTargetRendersModel(normalOnly, stack);
      expect(stack.plan.catalog).toBeUndefined();
    });
  });

  describe('two rules fanning out to the same region (created Object Lock bucket, aliased key)', () => {
    const stack = stackIn(fanout, 'eu-west-1');
    const t = fanout.template(stack);

    it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
      expect(fanout.nagViolations(stack)).toEqual([]);
    });

    it("renders the topology model's router plan, owning both rules", () => {
      expectTargetRendersModel(fanout, stack);
      expect(stack.plan.rules).toEqual(fanout.config.replication_configuration);
      expect(stack.paths.map((p) => p.destination.bucket)).toEqual(['corp-drive-backup-eu', 'corp-finance-backup-eu', 'corp-finance-mirror-eu']);
    });

    it('notifies once per source bucket', () => {
      const [, n] = resourcesOf(t, 'Custom::S3BucketNotifications')[0];
      const prefixes = n.NotificationConfiguration.QueueConfigurations.map((q: any) => q.Filter.Key.FilterRules.find((r: any) => r.Name === 'prefix').Value);
      expect(prefixes).toEqual(['corp-drive/', 'corp-finance/']);
    });

    it('creates the Object Lock destination in COMPLIANCE mode with its retention, versioned', () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: 'corp-finance-backup-eu',
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
        VersioningConfiguration: { Status: 'Enabled' },
      });
      t.hasResource('AWS::S3::Bucket', { Properties: { BucketName: 'corp-finance-backup-eu' }, DeletionPolicy: 'Retain' });
    });

    it('defines one Glue table per backup rule, all crawled', () => {
      const names = resourcesOf(t, 'AWS::Glue::Table').map(([, p]) => p.TableInput.Name);
      expect(names).toEqual(['corp_drive', 'corp_finance_ledgers']);
      t.hasResourceProperties('AWS::Glue::Crawler', { Targets: { CatalogTargets: [{ DatabaseName: 'fan_catalog', Tables: names }] } });
    });

    it('grants the router the aliased destination key only by alias and only through S3', () => {
      const statements = statementsOf(t, 'RouterTaskDefinitionTaskRole');
      expect(statements).toContainEqual({
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Effect: 'Allow',
        Resource: 'arn:aws:kms:eu-west-1:123456789012:key/*',
        Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' }, 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/corp-backup' } },
      });
      expect((resourcesGranted(statements, 's3:PutObject') as string[]).filter((r) => !r.includes(`fan-${ACCOUNT}`)).sort()).toEqual([
        'arn:aws:s3:::corp-drive-backup-eu/*',
        'arn:aws:s3:::corp-finance-backup-eu/ledgers/*',
        'arn:aws:s3:::corp-finance-mirror-eu/ledgers/*',
      ]);
    });
  });
});
