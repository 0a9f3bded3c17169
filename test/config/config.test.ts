import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  loadConfig,
  parseConfig,
  readConfig,
  archiveStagingKey,
  sourceRegions,
  targetRegions,
  type ConfigInput,
} from '../../shared/config';
import { configSchema, lenientParse, MALFORMED } from '../../shared/config/schema';
import { ruleForArchive } from '../../shared/topology';
import { configErrorsOf } from '../helpers/configErrors';

const ROOT = join(__dirname, '..', '..');
const GUIDE = join(ROOT, 'test', 'fixtures', 'guide-replication_config.json');

/** A minimal valid config to mutate per case. */
function base(): ConfigInput {
  return {
    replication_configuration: [
      {
        source: { region: 'us-west-2', bucket: 'src-bucket', prefix_filter: 'docs/' },
        destinations: [{ region: 'eu-central-1', bucket: 'dst-backup', backup: true }],
      },
    ],
  };
}

describe('Function: loadConfig', () => {
  it('accepts the product guide example unchanged, with every default applied', () => {
    // Act
    const config = loadConfig(GUIDE);
    // Assess
    const src = config.replication_configuration[0].source;
    expect(config.stack_name).toBe('xregion');
    expect(src.prefix_filter).toBe('documents/');
    expect(src.batch).toEqual({ max_objects: 1000, max_bytes: 536870912, max_wait_seconds: 30 });
    expect(src.compression.level).toBe(3);
    expect(src.compression.frame_target_bytes).toBe(4194304);
    expect(src.scaling).toEqual({ min_tasks: 0, max_tasks: 20, backlog_per_task: 200, cpu: 2048, memory: 4096 });
    expect(src.replication_time_control).toBe(false);
    expect(config.replication_configuration[0].destinations.map((d) => [d.backup, d.storage_class, d.create_bucket])).toEqual([
      [true, 'STANDARD', false],
      [false, 'STANDARD', false],
    ]);
    expect(sourceRegions(config)).toEqual(['us-west-2']);
    expect(targetRegions(config)).toEqual(['ca-central-1', 'eu-central-1']);
  });

  it('accepts the repository example with its Drive source and no warnings', () => {
    const { config, warnings } = readConfig(join(ROOT, 'replication_config.json'));
    expect(warnings).toEqual([]);
    expect(config.drive_sources[0].export_formats.document).toBe('docx');
    expect(config.drive_sources[0].concurrency).toBe(8);
    expect(config.replication_configuration[0].destinations.filter((d) => d.backup)).toHaveLength(1);
  });

  it('reports a missing file and invalid JSON as ConfigErrors', () => {
    expect(() => loadConfig('/nonexistent/replication_config.json')).toThrow(/cannot be read: file not found/);
    const dir = mkdtempSync(join(tmpdir(), 'xregion-config-'));
    writeFileSync(join(dir, 'bad.json'), '{ "replication_configuration": [ }');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/is not valid JSON/);
  });
});

describe('Function: parseConfig (schema errors)', () => {
  it('names the JSON path, the value and what is allowed', () => {
    const raw = base();
    raw.replication_configuration[0].destinations.push({ region: 'ca-central-1', bucket: 'dst-normal', storage_class: 'STANDARD-IA' as never });
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[0].destinations[1].storage_class: "STANDARD-IA" is not an S3 storage class (did you mean "STANDARD_IA"?) (STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, REDUCED_REDUNDANCY)',
    ]);
  });

  it('reports every error at once, not only the first', () => {
    const raw = {
      stack_name: 'Bad_Name',
      replication_configuration: [
        { source: { region: 'us-west2', bucket: 'Bad_Bucket', prefx_filter: 'a/' }, destinations: [{ region: 'eu-central-1', bucket: 'ok-bucket', backup: 'yes' }] },
      ],
      tagz: {},
    };
    const errors = configErrorsOf(raw);
    expect(errors).toHaveLength(6);
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stack_name: "Bad_Name" must be 1-24 lower-case/),
        'replication_configuration[0].source.region: "us-west2" is not an AWS region code (did you mean "us-west-2"?); e.g. us-east-1, us-west-2, eu-central-1',
        'replication_configuration[0].source.bucket: "Bad_Bucket" is not a valid S3 bucket name: may contain only lower-case letters, digits, dots and hyphens',
        expect.stringMatching(/^replication_configuration\[0\]\.source\.prefx_filter: is not a known key \(did you mean "prefix_filter"\?\); allowed here: region, bucket, prefix_filter/),
        'replication_configuration[0].destinations[0].backup: "yes" must be true or false',
        expect.stringMatching(/^tagz: is not a known key \(did you mean "tags"\?\)/),
      ]),
    );
  });

  it('says a required key is missing', () => {
    expect(configErrorsOf({ replication_configuration: [{ source: { region: 'us-west-2' }, destinations: [] }] })).toEqual([
      'replication_configuration[0].source.bucket: is required (a string)',
      'replication_configuration[0].destinations: [] must have at least 1 item',
    ]);
  });

  it.each([
    ['ab', 'must be 3 to 63 characters long'],
    ['-abc', 'must begin and end with a letter or digit'],
    ['a..b', 'must not contain two adjacent dots'],
    ['192.168.1.1', 'must not be formatted as an IP address'],
    ['xn--abc', 'must not start with the reserved prefix "xn--"'],
    ['abc-s3alias', 'must not end with the reserved suffix "-s3alias"'],
  ])('rejects bucket name %s (%s) and accepts a valid one', (bucket, why) => {
    const raw = base();
    raw.replication_configuration[0].source.bucket = bucket;
    expect(configErrorsOf(raw)).toEqual([`replication_configuration[0].source.bucket: ${JSON.stringify(bucket)} is not a valid S3 bucket name: ${why}`]);
    raw.replication_configuration[0].source.bucket = 'my.valid-bucket.2025';
    expect(() => parseConfig(raw)).not.toThrow();
  });

  it('rejects an unknown region and accepts every real one used in the examples', () => {
    const raw = base();
    raw.replication_configuration[0].destinations[0].region = 'eu-middle-9' as never;
    expect(configErrorsOf(raw)[0]).toMatch(/^replication_configuration\[0\]\.destinations\[0\]\.region: "eu-middle-9" is not an AWS region code/);
    raw.replication_configuration[0].destinations[0].region = 'ap-southeast-2';
    expect(() => parseConfig(raw)).not.toThrow();
  });
});

describe('Function: parseConfig (cross-checks)', () => {
  it('rejects a destination equal to its source bucket, and one in the source region', () => {
    const same = base();
    same.replication_configuration[0].destinations[0].bucket = 'src-bucket';
    same.replication_configuration[0].destinations[0].region = 'us-west-2';
    expect(configErrorsOf(same)).toEqual([
      'replication_configuration[0].destinations[0].bucket: "src-bucket" is the rule\'s own source bucket; a destination must be a different bucket',
    ]);
    const sameRegion = base();
    sameRegion.replication_configuration[0].destinations[0].region = 'us-west-2';
    expect(configErrorsOf(sameRegion)[0]).toMatch(/destinations\[0\]\.region: "us-west-2" is the source region/);
  });

  it('detects a replication loop of any length, and accepts a chain that does not close', () => {
    const rule = (from: string, fromRegion: string, to: string, toRegion: string) => ({
      source: { region: fromRegion as never, bucket: from },
      destinations: [{ region: toRegion as never, bucket: to }],
    });
    const loop = {
      replication_configuration: [
        rule('bucket-a', 'us-west-2', 'bucket-b', 'eu-central-1'),
        rule('bucket-b', 'eu-central-1', 'bucket-c', 'ca-central-1'),
        rule('bucket-c', 'ca-central-1', 'bucket-a', 'us-west-2'),
      ],
    };
    expect(configErrorsOf(loop)).toEqual([
      'replication_configuration[0].destinations: form a replication loop: bucket-a → bucket-b → bucket-c → bucket-a (rules 0, 1, 2); every object would be copied around forever',
    ]);
    const twoWay = { replication_configuration: [rule('bucket-a', 'us-west-2', 'bucket-b', 'eu-central-1'), rule('bucket-b', 'eu-central-1', 'bucket-a', 'us-west-2')] };
    expect(configErrorsOf(twoWay)[0]).toMatch(/loop: bucket-a → bucket-b → bucket-a/);
    const chain = { replication_configuration: loop.replication_configuration.slice(0, 2) };
    expect(() => parseConfig(chain)).not.toThrow();
  });

  it('does not call a cycle a loop when the prefixes never meet', () => {
    const raw = {
      replication_configuration: [
        { source: { region: 'us-west-2' as const, bucket: 'bucket-a', prefix_filter: 'out/' }, destinations: [{ region: 'eu-central-1' as const, bucket: 'bucket-b' }] },
        { source: { region: 'eu-central-1' as const, bucket: 'bucket-b', prefix_filter: 'in/' }, destinations: [{ region: 'us-west-2' as const, bucket: 'bucket-a' }] },
      ],
    };
    expect(() => parseConfig(raw)).not.toThrow();
  });

  it('rejects two rules on one bucket with overlapping prefixes, and allows disjoint ones', () => {
    const raw = base();
    raw.replication_configuration.push({
      source: { region: 'us-west-2', bucket: 'src-bucket', prefix_filter: 'docs/2025/' },
      destinations: [{ region: 'ca-central-1', bucket: 'dst-other' }],
    });
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[1].source.prefix_filter: "docs/2025/" overlaps replication_configuration[0] (prefix "docs/") on bucket "src-bucket"; two rules on one bucket need disjoint prefixes (their archives are told apart by prefix)',
    ]);
    raw.replication_configuration[1].source.prefix_filter = 'photos/';
    expect(() => parseConfig(raw)).not.toThrow();
    // Different suffixes do not help: archives in staging are told apart by bucket and prefix only.
    raw.replication_configuration[1].source.prefix_filter = 'docs/';
    raw.replication_configuration[0].source.suffix_filter = '.pdf';
    raw.replication_configuration[1].source.suffix_filter = '.jpg';
    expect(configErrorsOf(raw)[0]).toMatch(/prefix_filter: "docs\/" overlaps replication_configuration\[0\]/);
  });

  it('rejects a bucket placed in two regions', () => {
    const raw = base();
    raw.replication_configuration.push({
      source: { region: 'us-east-1', bucket: 'dst-backup', prefix_filter: 'x/' },
      destinations: [{ region: 'ca-central-1', bucket: 'dst-other' }],
    });
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[1].source.region: "us-east-1" disagrees with replication_configuration[0].destinations[0], which puts bucket "dst-backup" in eu-central-1',
    ]);
  });

  it('checks Fargate sizes, task bounds, KMS key regions and Object Lock', () => {
    const raw = base();
    const src = raw.replication_configuration[0].source;
    src.scaling = { cpu: 1024, memory: 16384, min_tasks: 5, max_tasks: 2 };
    src.kms_key_arn = 'arn:aws:kms:eu-west-1:123456789012:key/abcd-1234';
    raw.replication_configuration[0].destinations[0].object_lock = { mode: 'COMPLIANCE', days: 30 };
    raw.replication_configuration[0].destinations[0].kms_key_arn = 'not-an-arn';
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[0].destinations[0].object_lock: needs "create_bucket": true (Object Lock can only be set on a bucket this deployment creates)',
      'replication_configuration[0].destinations[0].kms_key_arn: "not-an-arn" is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or alias/NAME)',
      'replication_configuration[0].source.kms_key_arn: "arn:aws:kms:eu-west-1:123456789012:key/abcd-1234" is a key in eu-west-1, but the bucket is in us-west-2 (KMS keys are regional)',
      'replication_configuration[0].source.scaling.memory: 16384 is not a Fargate memory size for cpu 1024 (2048 to 8192 in steps of 1024 MiB)',
      'replication_configuration[0].source.scaling.min_tasks: 5 must not exceed max_tasks (2)',
    ]);
    src.scaling = { cpu: 1024, memory: 4096, min_tasks: 0, max_tasks: 2 };
    src.kms_key_arn = 'arn:aws:kms:us-west-2:123456789012:key/abcd-1234';
    raw.replication_configuration[0].destinations[0].create_bucket = true;
    raw.replication_configuration[0].destinations[0].kms_key_arn = 'arn:aws:kms:eu-central-1:123456789012:alias/backup';
    expect(() => parseConfig(raw)).not.toThrow();
  });

  it('warns when a Drive target is not the source of any rule, and is quiet when it is', () => {
    const raw: ConfigInput = {
      ...base(),
      drive_sources: [{ name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', target: { region: 'us-west-2', bucket: 'other-landing', prefix: 'g/' } }],
    };
    const { warnings } = parseConfig(raw);
    expect(warnings.map((w) => `${w.path}: ${w.value} ${w.message}`)).toEqual([
      'drive_sources[0].target: "s3://other-landing/g/" is not the source of any replication rule: files will be backed up to it but nothing will replicate them',
    ]);
    raw.drive_sources![0].target = { region: 'us-west-2', bucket: 'src-bucket', prefix: 'docs/drive/' };
    expect(parseConfig(raw).warnings).toEqual([]);
  });

  it('requires admin_subject to list all users, and rejects duplicate drive source names', () => {
    const target = { region: 'us-west-2' as const, bucket: 'src-bucket', prefix: 'docs/' };
    const raw: ConfigInput = {
      ...base(),
      drive_sources: [
        { name: 'acme', domain: 'acme.example', target },
        { name: 'acme', domain: 'acme.example', users: ['a@acme.example'], target },
      ],
    };
    expect(configErrorsOf(raw)).toEqual([
      'drive_sources[0].admin_subject: is required when "users" is "all" (an admin is impersonated to list the domain\'s users)',
      'drive_sources[1].name: "acme" is used by another drive source',
    ]);
  });
});

describe('Function: parseConfig (schema errors and cross-checks together)', () => {
  const rule = (from: string, fromRegion: string, to: string, toRegion: string) => ({
    source: { region: fromRegion, bucket: from } as Record<string, unknown>,
    destinations: [{ region: toRegion, bucket: to } as Record<string, unknown>],
  });
  const STORAGE_CLASS_ERROR =
    '"STANDARD-IA" is not an S3 storage class (did you mean "STANDARD_IA"?) (STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE, REDUCED_REDUNDANCY)';
  /** Every phrase a cross-check error uses; none may appear for a malformed part. */
  const CROSS_CHECK_PHRASES = /own source bucket|is the source region|needs "create_bucket"|Fargate|must not exceed|overlaps|replication loop|disagrees with|is required when|used by another|already destination|KMS key|is a key in/;

  it('reports a replication loop between rules 0 and 2 together with the type errors in rule 1', () => {
    const bad = rule('bucket-x', 'us-east-1', 'bucket-y', 'ca-central-1');
    bad.source.batch = { max_objects: -5 };
    bad.destinations[0].storage_class = 'STANDARD-IA';
    const raw = { replication_configuration: [rule('bucket-a', 'us-west-2', 'bucket-b', 'eu-central-1'), bad, rule('bucket-b', 'eu-central-1', 'bucket-a', 'us-west-2')] };
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[1].source.batch.max_objects: -5 must be greater than 0',
      `replication_configuration[1].destinations[0].storage_class: ${STORAGE_CLASS_ERROR}`,
      'replication_configuration[0].destinations: form a replication loop: bucket-a → bucket-b → bucket-a (rules 0, 2); every object would be copied around forever',
    ]);
  });

  it('still sees a loop through the rule that has the type error', () => {
    const a = rule('bucket-a', 'us-west-2', 'bucket-b', 'eu-central-1');
    const b = rule('bucket-b', 'eu-central-1', 'bucket-a', 'us-west-2');
    b.source.batch = { max_objects: -5 };
    b.destinations[0].storage_class = 'STANDARD-IA';
    expect(configErrorsOf({ replication_configuration: [a, b] })).toEqual([
      'replication_configuration[1].source.batch.max_objects: -5 must be greater than 0',
      `replication_configuration[1].destinations[0].storage_class: ${STORAGE_CLASS_ERROR}`,
      'replication_configuration[0].destinations: form a replication loop: bucket-a → bucket-b → bucket-a (rules 0, 1); every object would be copied around forever',
    ]);
  });

  it('reports overlapping prefixes and a destination equal to its source together with schema errors', () => {
    const first = rule('src-bucket', 'us-west-2', 'dst-backup', 'eu-central-1');
    first.source.prefix_filter = 'docs/';
    const second = rule('src-bucket', 'us-west-2', 'dst-other', 'ca-central-1');
    second.source.prefix_filter = 'docs/2025/';
    second.source.scaling = { max_tasks: 'many' };
    const third = rule('bucket-q', 'us-east-1', 'bucket-q', 'us-east-1');
    third.source.compression = { level: 40 };
    third.destinations[0].storage_class = 'STANDARD-IA';
    expect(configErrorsOf({ replication_configuration: [first, second, third] })).toEqual([
      'replication_configuration[1].source.scaling.max_tasks: "many" must be a number',
      'replication_configuration[2].source.compression.level: 40 must be at most 19',
      `replication_configuration[2].destinations[0].storage_class: ${STORAGE_CLASS_ERROR}`,
      'replication_configuration[1].source.prefix_filter: "docs/2025/" overlaps replication_configuration[0] (prefix "docs/") on bucket "src-bucket"; two rules on one bucket need disjoint prefixes (their archives are told apart by prefix)',
      'replication_configuration[2].destinations[0].bucket: "bucket-q" is the rule\'s own source bucket; a destination must be a different bucket',
    ]);
  });

  it('reports the Drive source and bucket-region cross-checks alongside a schema error elsewhere', () => {
    const raw = {
      stack_name: 'Bad_Name',
      replication_configuration: [rule('src-bucket', 'us-west-2', 'dst-backup', 'eu-central-1'), rule('dst-backup', 'us-east-1', 'dst-other', 'ca-central-1')],
      drive_sources: [{ name: 'acme', domain: 'acme.example', target: { region: 'us-west-2', bucket: 'src-bucket' } }],
    };
    expect(configErrorsOf(raw)).toEqual([
      expect.stringMatching(/^stack_name: "Bad_Name" must be 1-24 lower-case/),
      'replication_configuration[1].source.region: "us-east-1" disagrees with replication_configuration[0].destinations[0], which puts bucket "dst-backup" in eu-central-1',
      'drive_sources[0].admin_subject: is required when "users" is "all" (an admin is impersonated to list the domain\'s users)',
    ]);
  });

  it('reports no cross-check finding that rests on a malformed part, and does not crash on missing or mistyped parts', () => {
    const sameBadName = rule('Bad_Bucket', 'us-west-2', 'Bad_Bucket', 'eu-central-1'); // both names invalid: not "own source bucket"
    const badRegion = rule('bucket-a', 'us-west-2', 'bucket-b', 'us-west-3'); // region invalid: not "source region"
    badRegion.destinations[0].object_lock = { mode: 'COMPLIANCE', days: 30 };
    badRegion.destinations[0].create_bucket = 'yes'; // unknown create_bucket: no "needs create_bucket"
    badRegion.source.scaling = { cpu: 'big', memory: 16384, min_tasks: -1, max_tasks: 2 }; // unknown cpu, min_tasks
    badRegion.source.kms_key_arn = 42; // mistyped: no "not a KMS key ARN"
    const slash = rule('bucket-a', 'us-west-2', 'bucket-c', 'ca-central-1');
    slash.source.prefix_filter = '/docs'; // invalid prefix: no "overlaps"
    const back = rule('bucket-b', 'eu-central-1', 'bucket-a', 'us-west-2');
    back.source.suffix_filter = 7; // unknown filter: no "loop"
    const raw = {
      replication_configuration: [
        sameBadName,
        badRegion,
        slash,
        back,
        null,
        'rule',
        {},
        { source: { bucket: 'bucket-a' } },
        { source: 'x', destinations: 'y' },
        { source: { region: 'us-west-2', bucket: 'bucket-z' }, destinations: [null, { bucket: 'bucket-z' }, 5] },
      ],
      drive_sources: [
        { name: 'acme', domain: 'acme.example', admin_subject: 'not-an-email', target: { region: 'us-west-2', bucket: 'bucket-a' } },
        { name: 'Acme!', domain: 'acme.example', users: 'everyone', target: { region: 'us-west-2', bucket: 'bucket-a' } },
        { name: 'acme2', domain: 'acme.example', users: ['a@acme.example'], target: null, user_overrides: { 'b@acme.example': { enabled: 'no' } } },
        null,
      ],
    };
    const errors = configErrorsOf(raw);
    // Only findings that rest on values which parsed: rule 7 (region missing) still claims all of
    // bucket-a, as rule 1 does; rule 9's second destination (region missing) is its own source.
    expect(errors.filter((e) => CROSS_CHECK_PHRASES.test(e))).toEqual([
      'replication_configuration[7].source.prefix_filter: "" overlaps replication_configuration[1] (prefix "") on bucket "bucket-a"; two rules on one bucket need disjoint prefixes (their archives are told apart by prefix)',
      'replication_configuration[9].destinations[1].bucket: "bucket-z" is the rule\'s own source bucket; a destination must be a different bucket',
    ]);
    expect(errors).toEqual(
      expect.arrayContaining([
        'replication_configuration[0].source.bucket: "Bad_Bucket" is not a valid S3 bucket name: may contain only lower-case letters, digits, dots and hyphens',
        expect.stringMatching(/^replication_configuration\[1\]\.destinations\[0\]\.region: "us-west-3" is not an AWS region code/),
        'replication_configuration[1].destinations[0].create_bucket: "yes" must be true or false',
        'replication_configuration[2].source.prefix_filter: "/docs" must not start with "/" (S3 keys have no leading slash)',
        'replication_configuration[4]: null must be an object',
        expect.stringMatching(/^replication_configuration\[9\]\.destinations\[1\]\.region: is not an AWS region code/),
        'replication_configuration[8].destinations: "y" must be a list',
        'drive_sources[0].admin_subject: "not-an-email" is not an e-mail address',
      ]),
    );
  });

  it.each([['a string', 'config'], ['null', null], ['a list', []], ['rules that are not a list', { replication_configuration: 'x' }]])(
    'reports %s at the top level as a ConfigError, not a crash',
    (_what, raw) => {
      expect(() => parseConfig(raw)).toThrow(ConfigError);
    },
  );

  it('carries each issue with its JSON path, value and allowed values on the ConfigError of loadConfig', () => {
    const bad = rule('bucket-x', 'us-east-1', 'bucket-y', 'ca-central-1');
    bad.destinations[0].storage_class = 'STANDARD-IA';
    const dir = mkdtempSync(join(tmpdir(), 'xregion-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ replication_configuration: [rule('bucket-a', 'us-west-2', 'bucket-b', 'eu-central-1'), bad, rule('bucket-b', 'eu-central-1', 'bucket-a', 'us-west-2')] }));
    let error: unknown;
    try {
      loadConfig(file);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      { path: 'replication_configuration[1].destinations[0].storage_class', value: '"STANDARD-IA"', message: STORAGE_CLASS_ERROR.slice('"STANDARD-IA" '.length) },
      { path: 'replication_configuration[0].destinations', message: expect.stringMatching(/^form a replication loop: bucket-a → bucket-b → bucket-a \(rules 0, 2\)/) },
    ]);
  });
});

describe('Function: lenientParse', () => {
  it('keeps every part that parses, with its defaults, and leaves out and marks the parts that do not', () => {
    const raw = {
      replication_configuration: [
        { source: { region: 'us-west-2', bucket: 'bucket-a', batch: { max_objects: -5 } }, destinations: [{ region: 'eu-central-1', bucket: 'bucket-b', storage_class: 'STANDARD-IA' }, 7] },
        'rule',
      ],
      drive_sources: [{ name: 'acme', admin_subject: 'nope' }],
      tagz: {},
    };
    const lenient = lenientParse(configSchema, raw);
    const [rule, notARule] = lenient?.replication_configuration ?? [];
    expect(lenient?.stack_name).toBe('xregion');
    expect(notARule).toBeUndefined();
    expect(rule?.source?.batch).toEqual({ max_bytes: 536_870_912, max_wait_seconds: 30, [MALFORMED]: new Set(['max_objects']) });
    expect(rule?.source?.prefix_filter).toBe('');
    expect(rule?.destinations?.[0]).toEqual({
      region: 'eu-central-1',
      bucket: 'bucket-b',
      backup: false,
      create_bucket: false,
      object_lock: undefined,
      kms_key_arn: '',
      [MALFORMED]: new Set(['storage_class']),
    });
    expect(rule?.destinations?.[1]).toBeUndefined();
    expect(lenient?.drive_sources?.[0]?.[MALFORMED]).toEqual(new Set(['domain', 'admin_subject', 'target']));
    expect(lenientParse(configSchema, 'config')).toBeUndefined();
  });

  it('is the strict parse on a valid config', () => {
    const raw = JSON.parse(readFileSync(GUIDE, 'utf8'));
    expect(lenientParse(configSchema, raw)).toEqual(parseConfig(raw).config);
  });
});

describe('Module: topology', () => {
  it('builds staging keys without double slashes and maps them back to their rule', () => {
    const { config } = parseConfig(base());
    const rule = config.replication_configuration[0];
    const key = archiveStagingKey(rule, 'backup_1753329108085_3f9a.tar.zst');
    expect(key).toBe('src-bucket/docs/backup_1753329108085_3f9a.tar.zst');
    expect(ruleForArchive({ rules: config.replication_configuration }, key)).toBe(rule);
    expect(ruleForArchive({ rules: config.replication_configuration }, 'other/docs/backup_1.tar.zst')).toBeUndefined();
  });
});

describe('Command: xregion config check', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'services/cli/main.ts'), 'config', 'check', ...args], { cwd: ROOT, encoding: 'utf8' });

  it('prints a summary and exits 0 for a valid file', () => {
    const out = cli(GUIDE);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('→ s3://target-bucket-backup [eu-central-1] backup (archive + catalog), STANDARD');
    expect(out.stdout).toContain('target stacks: xregion-target-ca-central-1, xregion-target-eu-central-1');
  });

  it('prints every error and exits 2 for an invalid file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xregion-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ replication_configuration: [{ source: { region: 'us-west-2', bucket: 'aaa' }, destinations: [{ region: 'mars-1', bucket: 'bbb' }] }], tagz: {} }));
    const out = cli(file);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('2 problems');
    expect(out.stderr).toContain('replication_configuration[0].destinations[0].region: "mars-1" is not an AWS region code');
    expect(out.stderr).toContain('tagz: is not a known key (did you mean "tags"?)');
  });

  it('prints a schema error and a replication loop of the same file in one run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xregion-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(
      file,
      JSON.stringify({
        replication_configuration: [
          { source: { region: 'us-west-2', bucket: 'bucket-a' }, destinations: [{ region: 'eu-central-1', bucket: 'bucket-b' }] },
          { source: { region: 'us-east-1', bucket: 'bucket-x', batch: { max_objects: -5 } }, destinations: [{ region: 'ca-central-1', bucket: 'bucket-y' }] },
          { source: { region: 'eu-central-1', bucket: 'bucket-b' }, destinations: [{ region: 'us-west-2', bucket: 'bucket-a' }] },
        ],
      }),
    );
    const out = cli(file);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('2 problems');
    expect(out.stderr).toContain('replication_configuration[1].source.batch.max_objects: -5 must be greater than 0');
    expect(out.stderr).toContain('replication_configuration[0].destinations: form a replication loop: bucket-a → bucket-b → bucket-a (rules 0, 2)');
  });
});
