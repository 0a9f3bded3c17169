import { Match } from 'aws-cdk-lib/assertions';
import { parseConfig } from '../../shared/config';
import { BATCH_RECORDS_PREFIX, RECORDS_PREFIX, regionPlan } from '../../shared/topology';
import { expectSourceRendersModel, expirationsOf, renderedNotifications, renderedQueues, renderedReplications } from './modelRendering';
import { ACCOUNT, containerEnvironment, resourcesGranted, resourcesOf, statementsOf, synthVariant } from './synthVariant';

// Each variant is synthesized once for the whole file (a synth costs seconds).
const example = synthVariant('replication_config.json');
const fanout = synthVariant('stacks-fanout.json');

describe('Class: SourceStack', () => {
  describe('the example config (Drive source with a created landing bucket)', () => {
    const stack = example.sourceStacks[0];
    const t = example.template(stack);

    it('is one stack named {stack_name}-source-{region} in the source region', () => {
      // Assess
      expect(example.sourceStacks.map((s) => [s.stackName, s.region, s.account])).toEqual([['xregion-source-us-west-2', 'us-west-2', ACCOUNT]]);
    });

    it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
      expect(example.nagViolations(stack)).toEqual([]);
    });

    it("renders the topology model's plan of its region: queue names, notification, outbox, replication rules", () => {
      expectSourceRendersModel(example, stack);
      const [compressor] = regionPlan(example.topology, 'us-west-2').compressors;
      expect(renderedQueues(t)).toEqual([compressor.queue]);
      expect(compressor.queue.name).toMatch(/^xregion-compressor-.*acme-drive-landing/);
      expect(compressor.queue.deadLetter).toBe(`${compressor.queue.name}-dlq`);
      expect(renderedNotifications(t)).toEqual([{ bucket: 'acme-drive-landing', prefix: 'gdrive-backup/', suffix: '', queue: compressor.queue.name }]);
    });

    it('creates the Drive landing bucket: versioned, encrypted, private, TLS only', () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: 'acme-drive-landing',
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      });
      t.hasResource('AWS::S3::Bucket', { Properties: { BucketName: 'acme-drive-landing' }, DeletionPolicy: 'Retain' });
    });

    it('sends ObjectCreated events under the rule prefix to a queue', () => {
      t.hasResourceProperties('Custom::S3BucketNotifications', {
        NotificationConfiguration: {
          QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'gdrive-backup/' }] } } }],
        },
      });
    });

    it('gives the queue a KMS-encrypted dead-letter queue after 5 receives', () => {
      const queues = resourcesOf(t, 'AWS::SQS::Queue');
      const work = queues.filter(([, p]) => p.RedrivePolicy);
      expect(work).toHaveLength(1);
      expect(work[0][1].RedrivePolicy.maxReceiveCount).toBe(5);
      expect(queues.every(([, p]) => p.KmsMasterKeyId)).toBe(true);
      t.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    });

    it('creates the outbox staging bucket: versioned, KMS with its alias, lifecycle for uploads and old versions', () => {
      t.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: `xregion-${ACCOUNT}-us-west-2-outbox`,
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, NoncurrentVersionExpiration: { NoncurrentDays: 7 } }),
            Match.objectLike({ Prefix: 'acme-drive-landing/gdrive-backup/', ExpirationInDays: 14 }),
          ]),
        },
      });
      t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/xregion/outbox' });
      t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('expires archives after 14 days under the rule prefix only, and batch records after 15 days (past SQS 14-day retention)', () => {
      const outbox = `xregion-${ACCOUNT}-us-west-2-outbox`;
      expect(expirationsOf(t, outbox)).toEqual([
        { prefix: 'acme-drive-landing/gdrive-backup/', days: 14 },
        { prefix: '_xregion/batches/', days: 15 },
      ]);
      expect(BATCH_RECORDS_PREFIX).toBe('_xregion/batches/');
    });

    it('never replicates the batch records: every replication rule filters on a rule prefix outside _xregion/', () => {
      const outbox = `xregion-${ACCOUNT}-us-west-2-outbox`;
      const prefixes = renderedReplications(t, outbox).map((r) => r.prefix);
      expect(prefixes.length).toBeGreaterThan(0);
      for (const prefix of prefixes) {
        expect(prefix).not.toBe('');
        expect(`${BATCH_RECORDS_PREFIX}batch.json`.startsWith(prefix)).toBe(false);
        expect(prefix.startsWith(RECORDS_PREFIX)).toBe(false);
      }
      expect((resourcesGranted(statementsOf(t, 'OutboxReplicationRole'), 's3:GetObjectVersionForReplication') as string[]).filter((r) => r.includes('_xregion'))).toEqual([]);
    });

    it('replicates the rule prefix to each destination region staging bucket with its replica key alias', () => {
      const outbox = resourcesOf(t, 'AWS::S3::Bucket').find(([, p]) => p.BucketName === `xregion-${ACCOUNT}-us-west-2-outbox`)!;
      const rules = outbox[1].ReplicationConfiguration.Rules;
      expect(rules.map((r: any) => [r.Filter.Prefix, r.Destination.Bucket, r.Destination.EncryptionConfiguration.ReplicaKmsKeyID])).toEqual([
        ['acme-drive-landing/gdrive-backup/', `arn:aws:s3:::xregion-${ACCOUNT}-ca-central-1-staging`, `arn:aws:kms:ca-central-1:${ACCOUNT}:alias/xregion/staging`],
        ['acme-drive-landing/gdrive-backup/', `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging`, `arn:aws:kms:eu-central-1:${ACCOUNT}:alias/xregion/staging`],
      ]);
      expect(rules.every((r: any) => r.SourceSelectionCriteria.SseKmsEncryptedObjects.Status === 'Enabled' && !r.Destination.ReplicationTime)).toBe(true);
      expect(new Set(rules.map((r: any) => r.Priority)).size).toBe(rules.length);
    });

    it('scopes the replication role to the replicated prefixes and the aliased replica keys', () => {
      const statements = statementsOf(t, 'OutboxReplicationRole');
      expect(resourcesGranted(statements, 's3:ReplicateObject').sort()).toEqual([
        `arn:aws:s3:::xregion-${ACCOUNT}-ca-central-1-staging/acme-drive-landing/gdrive-backup/*`,
        `arn:aws:s3:::xregion-${ACCOUNT}-eu-central-1-staging/acme-drive-landing/gdrive-backup/*`,
      ]);
      expect(resourcesGranted(statements, 's3:GetObjectVersionForReplication')).toEqual([`arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/acme-drive-landing/gdrive-backup/*`]);
      const encrypt = statements.filter((s) => [s.Action].flat().includes('kms:Encrypt'));
      expect(encrypt.map((s) => [s.Resource, s.Condition['ForAnyValue:StringEquals']['kms:ResourceAliases']])).toEqual([
        [`arn:aws:kms:ca-central-1:${ACCOUNT}:key/*`, 'alias/xregion/staging'],
        [`arn:aws:kms:eu-central-1:${ACCOUNT}:key/*`, 'alias/xregion/staging'],
      ]);
    });

    it('runs the compressor on Fargate ARM64 with the rule task size, its command and environment', () => {
      const [, td] = resourcesOf(t, 'AWS::ECS::TaskDefinition').find(([, p]) => p.ContainerDefinitions[0].Name === 'compressor')!;
      expect([td.Cpu, td.Memory, td.RuntimePlatform.CpuArchitecture]).toEqual(['2048', '4096', 'ARM64']);
      expect(td.ContainerDefinitions[0].Command).toEqual(['node', 'dist/services/compressor/main.js']);
      const env = containerEnvironment(td);
      expect(env).toMatchObject({
        XREGION_ROLE: 'compressor',
        AWS_REGION: 'us-west-2',
        XREGION_STAGING_BUCKET: `xregion-${ACCOUNT}-us-west-2-outbox`,
        POWERTOOLS_SERVICE_NAME: 'compressor',
        POWERTOOLS_METRICS_NAMESPACE: 'xregion',
      });
      expect(env.XREGION_QUEUE_URL).toEqual({ Ref: expect.stringMatching(/^Rule0Queue/) });
      const slice = parseConfig(JSON.parse(env.XREGION_CONFIG as string)).config;
      expect(slice.replication_configuration.map((r) => r.source.bucket)).toEqual(['acme-drive-landing']);
      expect(slice.drive_sources).toEqual([]);
      expect(td.ContainerDefinitions[0].LogConfiguration.LogDriver).toBe('awslogs');
    });

    it('runs the service on Fargate Spot with an on-demand share and a rollback circuit breaker', () => {
      t.hasResourceProperties('AWS::ECS::Service', {
        CapacityProviderStrategy: [
          { CapacityProvider: 'FARGATE_SPOT', Weight: 4 },
          { CapacityProvider: 'FARGATE', Weight: 1 },
        ],
        DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
        NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
      });
      t.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    });

    it('scales on backlog per task between min_tasks (0) and max_tasks, and wakes from zero', () => {
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 0, MaxCapacity: 20, ScalableDimension: 'ecs:service:DesiredCount' });
      const [, tracking] = resourcesOf(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').find(([, p]) => p.PolicyType === 'TargetTrackingScaling')!;
      const cfg = tracking.TargetTrackingScalingPolicyConfiguration;
      expect(cfg.TargetValue).toBe(200);
      expect(cfg.CustomizedMetricSpecification.Metrics.map((m: any) => m.Id)).toEqual(['visible', 'inflight', 'tasks', 'backlogpertask']);
      expect(cfg.CustomizedMetricSpecification.Metrics[3].Expression).toContain('/ FILL(tasks, 0)');
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'StepScaling',
        StepScalingPolicyConfiguration: Match.objectLike({ AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }] }),
      });
    });

    it('lets the compressor read only the rule prefix of its source, write (and read back) only that prefix and the batch records of the outbox', () => {
      const statements = statementsOf(t, 'Rule0CompressorTaskDefinitionTaskRole');
      expect(resourcesGranted(statements, 's3:GetObjectVersion')).toEqual(['arn:aws:s3:::acme-drive-landing/gdrive-backup/*', `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/acme-drive-landing/gdrive-backup/*`]);
      expect(resourcesGranted(statements, 's3:PutObject')).toEqual([
        `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/acme-drive-landing/gdrive-backup/*`,
        `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/_xregion/batches/*`,
      ]);
      expect(resourcesGranted(statements, 's3:DeleteObject')).toEqual([]);
      expect(resourcesGranted(statements, 's3:DeleteObjectVersion')).toEqual([]);
    });

    it('lets the compressor put and get (HEAD) batch records, and list the outbox so a missing record is a 404', () => {
      const statements = statementsOf(t, 'Rule0CompressorTaskDefinitionTaskRole');
      const records = `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/_xregion/batches/*`;
      expect(statements).toContainEqual({ Action: ['s3:PutObject', 's3:GetObject'], Effect: 'Allow', Resource: records });
      expect(resourcesGranted(statements, 's3:ListBucket')).toEqual(['arn:aws:s3:::acme-drive-landing', `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox`]);
      // Its own rule's archives (read back after upload, found again after a crash) and the batch records: no other rule's archive.
      expect((resourcesGranted(statements, 's3:GetObject') as string[]).filter((r) => r.includes('-outbox/'))).toEqual([
        `arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/acme-drive-landing/gdrive-backup/*`,
        records,
      ]);
      expect(resourcesGranted(statements, 's3:GetObjectVersion')).toContain(`arn:aws:s3:::xregion-${ACCOUNT}-us-west-2-outbox/acme-drive-landing/gdrive-backup/*`);
    });

    it('schedules drive-ingest with the Drive cron, its secret by name and write access to its prefixes only', () => {
      t.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 2 * * ? *)',
        Target: Match.objectLike({ EcsParameters: Match.objectLike({ LaunchType: 'FARGATE', PlatformVersion: '1.4.0' }), DeadLetterConfig: Match.anyValue() }),
      });
      const [, td] = resourcesOf(t, 'AWS::ECS::TaskDefinition').find(([, p]) => p.ContainerDefinitions[0].Name === 'drive-ingest')!;
      const container = td.ContainerDefinitions[0];
      expect(container.Command).toEqual(['node', 'dist/services/drive-ingest/main.js']);
      expect(container.Secrets.map((s: any) => s.Name)).toEqual(['XREGION_DRIVE_CREDENTIALS']);
      expect(JSON.stringify(container.Secrets[0].ValueFrom)).toContain(':secret:xregion/drive');
      const env = containerEnvironment(td);
      expect(env.XREGION_DRIVE_SOURCE).toBe('acme');
      expect(parseConfig(JSON.parse(env.XREGION_CONFIG as string)).config.drive_sources.map((d) => d.name)).toEqual(['acme']);
      const statements = statementsOf(t, 'Drive0IngestTaskDefinitionTaskRole');
      expect((resourcesGranted(statements, 's3:PutObject') as string[]).sort()).toEqual(['arn:aws:s3:::acme-drive-landing/_xregion/*', 'arn:aws:s3:::acme-drive-landing/gdrive-backup/*']);
      // Moved or renamed files are copied server-side from a specific version.
      expect((resourcesGranted(statements, 's3:GetObjectVersion') as string[]).sort()).toEqual(['arn:aws:s3:::acme-drive-landing/_xregion/*', 'arn:aws:s3:::acme-drive-landing/gdrive-backup/*']);
      // Downloads spool to disk: 8 concurrent files of up to 10 GiB (max_file_size_mb 10240) + 5 GiB.
      expect(td.EphemeralStorage).toEqual({ SizeInGiB: 85 });
    });

    it('alarms on the DLQ, the oldest message and compressor failures to an encrypted topic with the e-mails', () => {
      const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm').map(([, p]) => p);
      // The compressor queue's DLQ and the drive-ingest schedule's DLQ.
      expect(alarms.filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible' && a.Threshold === 1)).toHaveLength(2);
      expect(alarms.filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage' && a.Threshold === 3600)).toHaveLength(1);
      expect(alarms.some((a) => JSON.stringify(a.Metrics ?? []).includes("SELECT SUM(Failures) FROM xregion WHERE service = 'compressor'"))).toBe(true);
      t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@acme.example' });
      t.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]) },
      });
      t.hasResourceProperties('AWS::Events::Rule', { EventPattern: Match.objectLike({ 'detail-type': ['ECS Task State Change'] }) });
    });

    it('keeps container logs 30 days, has a dashboard named after the stack and carries the config tags', () => {
      expect(resourcesOf(t, 'AWS::Logs::LogGroup').every(([, p]) => p.RetentionInDays === 30)).toBe(true);
      t.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'xregion-source-us-west-2' });
      t.hasResourceProperties('AWS::SQS::Queue', { Tags: Match.arrayWith([{ Key: 'owner', Value: 'it-ops' }, { Key: 'project', Value: 'xregion' }]) });
    });
  });

  describe('two rules in one region fanning out to the same target region', () => {
    const stack = fanout.sourceStacks[0];
    const t = fanout.template(stack);

    it('has no unacknowledged cdk-nag AwsSolutions findings', () => {
      expect(fanout.nagViolations(stack)).toEqual([]);
    });

    it("renders the topology model's plan: one named queue per rule, each rule's notification, the model's replication rules", () => {
      expectSourceRendersModel(fanout, stack);
      const plan = regionPlan(fanout.topology, 'us-east-1');
      expect(plan.compressors.map((c) => c.queue.name)).toEqual([expect.stringMatching(/^fan-compressor-.*corp-drive/), expect.stringMatching(/^fan-compressor-.*corp-finance/)]);
      // Construct ids (so logical ids) stay by rule index: Rule0Queue/{Queue,Dlq}, Rule1Queue/{Queue,Dlq}.
      expect(resourcesOf(t, 'AWS::SQS::Queue').filter(([id]) => id.startsWith('Rule')).map(([id, p]) => [id.replace(/[0-9A-F]{8}$/, ''), p.QueueName])).toEqual([
        ['Rule0QueueDlq', plan.compressors[0].queue.deadLetter],
        ['Rule0Queue', plan.compressors[0].queue.name],
        ['Rule1QueueDlq', plan.compressors[1].queue.deadLetter],
        ['Rule1Queue', plan.compressors[1].queue.name],
      ]);
    });

    it('imports both source buckets and notifies with each rule own filters', () => {
      expect(resourcesOf(t, 'AWS::S3::Bucket').map(([, p]) => p.BucketName)).not.toContain('corp-drive');
      const configs = resourcesOf(t, 'Custom::S3BucketNotifications').map(([, p]) => [p.BucketName, p.NotificationConfiguration.QueueConfigurations[0].Filter ?? null]);
      expect(configs).toEqual(
        expect.arrayContaining([
          ['corp-drive', null],
          ['corp-finance', { Key: { FilterRules: [{ Name: 'prefix', Value: 'ledgers/' }, { Name: 'suffix', Value: '.csv' }] } }],
        ]),
      );
    });

    it('makes one queue and one compressor per rule, sized and scaled by that rule', () => {
      expect(resourcesOf(t, 'AWS::ECS::Service')).toHaveLength(2);
      const targets = resourcesOf(t, 'AWS::ApplicationAutoScaling::ScalableTarget').map(([, p]) => [p.MinCapacity, p.MaxCapacity]);
      expect(targets).toEqual([
        [1, 8],
        [0, 20],
      ]);
      const sizes = resourcesOf(t, 'AWS::ECS::TaskDefinition')
        .filter(([, p]) => p.ContainerDefinitions[0].Name === 'compressor')
        .map(([, p]) => [p.Cpu, p.Memory]);
      expect(sizes).toEqual([
        ['1024', '3072'],
        ['2048', '4096'],
      ]);
      const targetValues = resourcesOf(t, 'AWS::ApplicationAutoScaling::ScalingPolicy')
        .filter(([, p]) => p.PolicyType === 'TargetTrackingScaling')
        .map(([, p]) => p.TargetTrackingScalingPolicyConfiguration.TargetValue);
      expect(targetValues).toEqual([50, 200]);
    });

    it('replicates both rule prefixes to the one target region, with RTC and metrics only where asked', () => {
      const [, outbox] = resourcesOf(t, 'AWS::S3::Bucket').find(([, p]) => p.ReplicationConfiguration)!;
      const rules = outbox.ReplicationConfiguration.Rules;
      expect(rules.map((r: any) => [r.Filter.Prefix, r.Destination.Bucket, Boolean(r.Destination.ReplicationTime)])).toEqual([
        ['corp-drive/', `arn:aws:s3:::fan-${ACCOUNT}-eu-west-1-staging`, true],
        ['corp-finance/ledgers/', `arn:aws:s3:::fan-${ACCOUNT}-eu-west-1-staging`, false],
      ]);
      expect(rules[0].Destination.Metrics).toEqual({ Status: 'Enabled', EventThreshold: { Minutes: 15 } });
    });

    it('lets the compressor decrypt the source KMS key only through S3', () => {
      const statements = statementsOf(t, 'Rule0CompressorTaskDefinitionTaskRole');
      expect(statements).toContainEqual({
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
        Condition: { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
      });
      expect(resourcesGranted(statementsOf(t, 'Rule1CompressorTaskDefinitionTaskRole'), 's3:GetObject')).toEqual([
        'arn:aws:s3:::corp-finance/ledgers/*',
        `arn:aws:s3:::fan-${ACCOUNT}-us-east-1-outbox/corp-finance/ledgers/*`,
        `arn:aws:s3:::fan-${ACCOUNT}-us-east-1-outbox/_xregion/batches/*`,
      ]);
    });

    it('warns at synth that a rule with an empty prefix on a Drive target also receives _xregion/ events', () => {
      const warnings = stack.node
        .findAll()
        .flatMap((c) => c.node.metadata)
        .filter((m) => m.type === 'aws:cdk:warning')
        .map((m) => String(m.data));
      expect(warnings.filter((w) => w.includes('_xregion/'))).toHaveLength(1);
      expect(warnings.find((w) => w.includes('_xregion/'))).toContain('s3://corp-drive/');
    });

    it('gives drive-ingest an empty target prefix (whole bucket) plus its state prefix, the bucket key and a rate schedule', () => {
      const statements = statementsOf(t, 'Drive0IngestTaskDefinitionTaskRole');
      expect((resourcesGranted(statements, 's3:PutObject') as string[]).sort()).toEqual(['arn:aws:s3:::corp-drive/*', 'arn:aws:s3:::corp-drive/_xregion/*']);
      expect(resourcesGranted(statements, 'kms:GenerateDataKey')).toEqual(['arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555']);
      t.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(12 hours)' });
      expect(resourcesOf(t, 'AWS::SNS::Subscription').map(([, p]) => p.Endpoint).sort()).toEqual(['oncall@example.com', 'ops@example.com']);
    });
  });
});
