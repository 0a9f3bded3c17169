import { App } from 'aws-cdk-lib';
import { ConfigError, parseConfig, readConfig } from '../../shared/config';
import { buildApp, buildAppFromFile, BuildOptionsError } from '../../stacks/buildApp';
import { DEFAULTS } from '../../stacks/defaults';
import { compressorConfig, driveIngestConfig, routerConfig } from '../../stacks/runtime';
import { buildTopology, regionPlan } from '../../shared/topology';
import { SourceStack } from '../../stacks/SourceStack';
import { topologyOf } from '../../stacks/topology';
import { expectAppRendersModel, renderedReplications } from './modelRendering';
import { ACCOUNT, fixturePath, resourcesOf, synthVariant } from './synthVariant';

// Synthesized once for the file: source and target sides must agree on names.
const guide = synthVariant('guide-replication_config.json');

describe('Function: buildApp', () => {
  describe('Method: stacks and their order', () => {
    it('creates {stack_name}-source-{region} and {stack_name}-target-{region} stacks in the account given', () => {
      // Assess
      expect(guide.sourceStacks.map((s) => s.stackName)).toEqual(['xregion-source-us-west-2']);
      expect(guide.targetStacks.map((s) => s.stackName)).toEqual(['xregion-target-ca-central-1', 'xregion-target-eu-central-1']);
      expect([...guide.sourceStacks, ...guide.targetStacks].every((s) => s.account === ACCOUNT)).toBe(true);
    });

    it('builds the topology model once and renders it: every stack its region plan, exactly the model names across the app', () => {
      expect(guide.topology).toMatchObject({ stackName: 'xregion', account: ACCOUNT });
      for (const stack of guide.sourceStacks) expect(stack.plan).toBe(regionPlan(guide.topology, stack.region));
      for (const stack of guide.targetStacks) expect(stack.plan).toBe(regionPlan(guide.topology, stack.region).router);
      expectAppRendersModel(guide);
    });

    it('makes each source stack depend on the target stacks it replicates to (deploy targets first)', () => {
      expect(guide.sourceStacks[0].dependencies.map((s) => s.stackName).sort()).toEqual(['xregion-target-ca-central-1', 'xregion-target-eu-central-1']);
      expect(guide.targetStacks.every((s) => s.dependencies.length === 0)).toBe(true);
    });

    it('replicates to exactly the staging bucket names and key aliases the target stacks create', () => {
      // Prepare
      const outbox = resourcesOf(guide.template(guide.sourceStacks[0]), 'AWS::S3::Bucket').find(([, p]) => p.ReplicationConfiguration)![1];
      const destinations = outbox.ReplicationConfiguration.Rules.map((r: any) => [r.Destination.Bucket, r.Destination.EncryptionConfiguration.ReplicaKmsKeyID]);
      // Act
      const created = guide.targetStacks.map((stack) => {
        const t = guide.template(stack);
        const bucket = resourcesOf(t, 'AWS::S3::Bucket').find(([, p]) => String(p.BucketName).endsWith('-staging'))![1].BucketName;
        const alias = resourcesOf(t, 'AWS::KMS::Alias')[0][1].AliasName;
        return [`arn:aws:s3:::${bucket}`, `arn:aws:kms:${stack.region}:${ACCOUNT}:${alias}`];
      });
      // Assess
      expect(destinations).toEqual(created);
    });

    it('has no cross-stack references (the stacks live in different regions)', () => {
      for (const stack of [...guide.sourceStacks, ...guide.targetStacks]) {
        const body = JSON.stringify(guide.template(stack).toJSON());
        expect(body).not.toContain('Fn::ImportValue');
        expect(Object.keys(guide.template(stack).toJSON().Outputs ?? {}).filter((k) => k.startsWith('ExportsOutput'))).toEqual([]);
      }
    });
  });

  describe('Method: account', () => {
    it('uses a placeholder account, and says so, when none is given', () => {
      // Act
      const built = buildApp(readConfig(fixturePath('stacks-normal-only.json')).config, { app: new App({ builtinCloudFormationValidation: false }) });
      // Assess
      expect(built.placeholderAccount).toBe(true);
      expect(built.sourceStacks[0].account).toBe(DEFAULTS.placeholderAccount);
      expect(built.targetStacks[0].node.tryFindChild('Staging')).toBeDefined();
    });

    it('runs the services on on-demand Fargate only when Spot is switched off', () => {
      // Act
      const built = buildApp(readConfig(fixturePath('stacks-normal-only.json')).config, { account: ACCOUNT, spot: false, app: new App({ builtinCloudFormationValidation: false }) });
      // Assess
      const strategies = [built.sourceStacks[0].compressors[0], built.targetStacks[0].router].map(
        (s) => (s.service.node.defaultChild as { capacityProviderStrategy?: unknown }).capacityProviderStrategy,
      );
      expect(strategies).toEqual([[{ capacityProvider: 'FARGATE', weight: 1 }], [{ capacityProvider: 'FARGATE', weight: 1 }]]);
    });

    it('refuses an account id that is not 12 digits', () => {
      const config = readConfig(fixturePath('stacks-normal-only.json')).config;
      expect(() => buildApp(config, { account: '1234' })).toThrow(BuildOptionsError);
    });
  });
});

describe('Function: buildAppFromFile', () => {
  it('fails with the config module message for an invalid config, listing every problem', () => {
    // Prepare
    let expected = '';
    try {
      readConfig(fixturePath('stacks-invalid.json'));
    } catch (err) {
      expected = (err as Error).message;
    }
    // Act
    const act = () => buildAppFromFile(fixturePath('stacks-invalid.json'), { account: ACCOUNT });
    // Assess
    expect(expected).toContain('4 problems');
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(expected);
  });

  it('fails with the config module message for a missing file', () => {
    expect(() => buildAppFromFile(fixturePath('does-not-exist.json'))).toThrow(/cannot be read: file not found/);
  });
});

describe('Module: runtime config slices', () => {
  const config = readConfig(fixturePath('stacks-fanout.json')).config;

  it('gives each slice as a valid config holding only what the service needs', () => {
    // Act
    const compressor = parseConfig(JSON.parse(compressorConfig(config, config.replication_configuration[1]))).config;
    const router = parseConfig(JSON.parse(routerConfig(config, 'eu-west-1'))).config;
    const drive = parseConfig(JSON.parse(driveIngestConfig(config, config.drive_sources[0]))).config;
    // Assess
    expect(compressor.replication_configuration.map((r) => r.source.bucket)).toEqual(['corp-finance']);
    expect(compressor.drive_sources).toEqual([]);
    expect(router.replication_configuration.flatMap((r) => r.destinations.map((d) => d.region))).toEqual(['eu-west-1', 'eu-west-1', 'eu-west-1']);
    expect(drive.drive_sources.map((d) => d.name)).toEqual(['corp']);
    expect(drive.replication_configuration.map((r) => r.source.bucket)).toEqual(['corp-drive']);
  });

  it('keeps the defaults applied (the services never re-default)', () => {
    const slice = JSON.parse(compressorConfig(config, config.replication_configuration[1]));
    expect(slice.replication_configuration[0].source.batch).toEqual({ max_objects: 1000, max_bytes: 536870912, max_wait_seconds: 30 });
  });
});

describe('Function: buildApp with a region that is both a source and a target', () => {
  const bidi = synthVariant('stacks-bidirectional.json');

  it('gives the outbox and the inbound staging bucket different names and key aliases in that region', () => {
    // Act
    const names = [...bidi.sourceStacks, ...bidi.targetStacks]
      .filter((s) => s.region === 'eu-west-1')
      .flatMap((s) => [
        ...resourcesOf(bidi.template(s), 'AWS::S3::Bucket').map(([, p]) => p.BucketName).filter(Boolean),
        ...resourcesOf(bidi.template(s), 'AWS::KMS::Alias').map(([, p]) => p.AliasName),
      ]);
    // Assess
    expect(names.sort()).toEqual(['alias/bidi/outbox', 'alias/bidi/staging', `bidi-${ACCOUNT}-eu-west-1-catalog`, `bidi-${ACCOUNT}-eu-west-1-outbox`, `bidi-${ACCOUNT}-eu-west-1-staging`]);
    for (const s of [...bidi.sourceStacks, ...bidi.targetStacks]) expect(bidi.nagViolations(s)).toEqual([]);
  });

  it('keeps a prefix without a trailing slash exactly as the staging key layout writes it', () => {
    const east = bidi.sourceStacks.find((s) => s.region === 'us-east-1')!;
    const outbox = resourcesOf(bidi.template(east), 'AWS::S3::Bucket').find(([, p]) => p.ReplicationConfiguration)![1];
    expect(outbox.ReplicationConfiguration.Rules.map((r: any) => r.Filter.Prefix)).toEqual(['bidi-east/docs']);
  });

  it('renders the model in both directions: each outbox replicates only its own rules to the other region staging bucket', () => {
    expectAppRendersModel(bidi);
    for (const [from, to] of [
      ['us-east-1', 'eu-west-1'],
      ['eu-west-1', 'us-east-1'],
    ]) {
      const stack = bidi.sourceStacks.find((s) => s.region === from)!;
      const plan = regionPlan(bidi.topology, from);
      expect(renderedReplications(bidi.template(stack), plan.outbox!).map((r) => r.toBucket)).toEqual([regionPlan(bidi.topology, to).router!.staging]);
    }
  });
});

describe('Function: topologyOf (the stacks take the model as it is, after two checks)', () => {
  const config = readConfig(fixturePath('stacks-fanout.json')).config;

  it('refuses a topology of another account or stack name', () => {
    const other = buildTopology(config, '210987654321');
    expect(() => topologyOf({ config, account: ACCOUNT, topology: other })).toThrow(/does not belong to fan\/123456789012/);
  });

  it('fails the synth, instead of the deploy, when the model gives two queues of a region or two buckets one name', () => {
    const clash = buildTopology(config, ACCOUNT);
    const [a, b] = regionPlan(clash, 'us-east-1').compressors;
    b.queue = { ...a.queue };
    expect(() => new SourceStack(new App(), { config, account: ACCOUNT, region: 'us-east-1', topology: clash })).toThrow(`internal: the topology names two queues of us-east-1 "${a.queue.name}"`);
    const buckets = buildTopology(config, ACCOUNT);
    regionPlan(buckets, 'eu-west-1').router!.catalog = regionPlan(buckets, 'us-east-1').outbox;
    expect(() => topologyOf({ config, account: ACCOUNT, topology: buckets })).toThrow(/two buckets "fan-123456789012-us-east-1-outbox"/);
  });
});

describe('Function: buildApp with a region that has only a Drive source', () => {
  it('makes its source stack without an outbox, compressor or replication (the model has none there)', () => {
    // Prepare
    const config = parseConfig({
      stack_name: 'solo',
      drive_sources: [{ name: 'corp', domain: 'corp.example', users: ['a@corp.example'], target: { region: 'eu-west-2', bucket: 'corp-landing-eu', prefix: 'gdrive/' } }],
      replication_configuration: [{ source: { region: 'us-east-1', bucket: 'corp-src' }, destinations: [{ region: 'eu-west-1', bucket: 'corp-dst' }] }],
    }).config;
    // Act
    const built = buildApp(config, { account: ACCOUNT, app: new App({ builtinCloudFormationValidation: false }) });
    // Assess
    const drive = built.sourceStacks.find((s) => s.region === 'eu-west-2')!;
    expect(regionPlan(built.topology, 'eu-west-2')).toMatchObject({ outbox: undefined, compressors: [], replications: [] });
    expect([drive.outbox, drive.node.tryFindChild('Outbox'), drive.node.tryFindChild('OutboxBucket')]).toEqual([undefined, undefined, undefined]);
    expect([drive.compressors, drive.driveIngests.length, drive.dependencies]).toEqual([[], 1, []]);
    expect(built.sourceStacks.find((s) => s.region === 'us-east-1')!.dependencies.map((s) => s.stackName)).toEqual(['solo-target-eu-west-1']);
  });
});
