/** Azure Blob destinations in replication_config.json: schema, cross-checks and the destinations split. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAppFromFile } from '../../stacks/buildApp';
import { ConfigError, parseConfig, refuseUndeliveredDestinations, type AnyConfigInput } from '../../shared/config';
import { accountUrlProblem } from '../../shared/config/azureDestination';
import { configErrorsOf } from '../helpers/configErrors';

const AZURE = { cloud: 'azure', account_url: 'https://acmebackup.blob.core.windows.net', container: 'drive-archive', prefix: '', access_tier: 'Cool', backup: true, credentials_secret: 'xregion/azure' } as const;

function withDestinations(...destinations: unknown[]): AnyConfigInput {
  return {
    replication_configuration: [{ source: { region: 'us-west-2', bucket: 'src-bucket', prefix_filter: 'docs/' }, destinations: destinations as AnyConfigInput['replication_configuration'][number]['destinations'] }],
  };
}

describe('Function: parseConfig (Azure destinations)', () => {
  it('accepts an Azure destination beside an S3 one and moves it to azure_destinations, with a not-yet-delivered warning', () => {
    // Act
    const { config, warnings } = parseConfig(withDestinations({ region: 'eu-central-1', bucket: 'dst-backup' }, AZURE));
    // Assess
    const rule = config.replication_configuration[0];
    expect(rule.destinations.map((d) => d.bucket)).toEqual(['dst-backup']);
    expect(rule.azure_destinations).toEqual([AZURE]);
    expect(warnings.map((w) => w.path)).toEqual(['replication_configuration[0].destinations[1]']);
  });

  it('applies defaults, accepts Azurite path-style loopback URLs, and a rule with only Azure destinations', () => {
    const { config } = parseConfig(withDestinations({ cloud: 'azure', account_url: 'http://127.0.0.1:10000/devstoreaccount1', container: 'local-backup' }));
    const rule = config.replication_configuration[0];
    expect(rule.destinations).toEqual([]);
    expect(rule.azure_destinations).toEqual([{ cloud: 'azure', account_url: 'http://127.0.0.1:10000/devstoreaccount1', container: 'local-backup', prefix: '', access_tier: 'Hot', backup: false }]);
  });

  it('names every problem of a malformed Azure destination, and still checks the S3 one beside it', () => {
    const raw = withDestinations(
      { region: 'us-west-2', bucket: 'other-bucket' },
      { ...AZURE, account_url: 'http://acmebackup.blob.core.windows.net', container: 'Drive--Archive', access_tier: 'COOL', containr: 'x' },
    );
    expect(configErrorsOf(raw)).toEqual([
      'replication_configuration[0].destinations[1].account_url: "http://acmebackup.blob.core.windows.net" must use https (only a loopback Azurite URL may use http)',
      'replication_configuration[0].destinations[1].container: "Drive--Archive" is not a valid Azure container name: a container name has only lower-case letters, digits and hyphens',
      'replication_configuration[0].destinations[1].access_tier: "COOL" is not an Azure access tier (Hot, Cool, Cold, Archive)',
      'replication_configuration[0].destinations[1].containr: is not a known key (did you mean "container"?); allowed here: cloud, account_url, container, prefix, access_tier, backup, credentials_secret, region',
      'replication_configuration[0].destinations[0].region: "us-west-2" is the source region; xregion replicates across regions, so a destination must be in another region',
    ]);
  });

  it('refuses an unknown cloud and two Azure destinations on overlapping prefixes of one container', () => {
    expect(configErrorsOf(withDestinations({ cloud: 'gcp', bucket: 'x' }))).toEqual(['replication_configuration[0].destinations[0].cloud: "gcp" is not a destination cloud ("aws", the default, or "azure")']);
    expect(configErrorsOf(withDestinations(AZURE, { ...AZURE, prefix: 'sub/', backup: false }))).toEqual([
      'replication_configuration[0].destinations[1].prefix: "sub/" overlaps destination 0 of this rule (same account and container "drive-archive")',
    ]);
  });
});

describe('Function: accountUrlProblem', () => {
  it.each([
    ['https://acme.blob.core.windows.net', undefined],
    ['https://acme.blob.core.windows.net/', undefined],
    ['http://127.0.0.1:10000/devstoreaccount1', undefined],
    ['http://localhost:10000/devstoreaccount1', undefined],
    ['https://acme.blob.core.windows.net?sv=2024&sig=fake', /SAS token belongs in credentials_secret/],
    ['https://acme.blob.core.windows.net/container', /no path/],
    ['https://Acme.example.com', /ACCOUNT\.blob\.core\.windows\.net/],
    ['http://127.0.0.1:10000', /path style/],
    ['not a url', /is not a URL/],
  ])('%j → %p', (url, problem) => {
    const got = accountUrlProblem(url);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toMatch(problem);
  });
});

describe('Function: refuseUndeliveredDestinations (start and the stacks)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-azure-refuse-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('turns the not-delivered warning into a ConfigError naming the destination, so start and synth never run a config whose Azure copy nobody writes', () => {
    // Prepare
    const file = join(dir, 'replication_config.json');
    writeFileSync(file, JSON.stringify(withDestinations({ region: 'eu-central-1', bucket: 'dst-backup' }, AZURE)));
    // Act
    const refused = () => buildAppFromFile(file);
    // Assess
    expect(refused).toThrow(ConfigError);
    expect(refused).toThrow(/replication_configuration\[0\]\.destinations\[1\].*does not deliver to Azure yet.*remove it to run or deploy/);
    expect(() => refuseUndeliveredDestinations(file, parseConfig(withDestinations({ region: 'eu-central-1', bucket: 'dst-backup' })).warnings)).not.toThrow();
  });
});
