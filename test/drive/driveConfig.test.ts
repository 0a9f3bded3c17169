/** The Drive source's selection settings in replication_config.json: defaults and errors (JSON path, value, what is allowed). */
import { parseConfig } from '../../shared/config';
import { configErrorsOf } from '../helpers/configErrors';

const base = (drive: Record<string, unknown>) => ({
  drive_sources: [{ name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', target: { region: 'us-west-2', bucket: 'acme-drive-landing' }, ...drive }],
  replication_configuration: [{ source: { region: 'us-west-2', bucket: 'acme-drive-landing' }, destinations: [{ region: 'eu-central-1', bucket: 'acme-backup-eu' }] }],
});

describe('Function: parseConfig (drive selection settings)', () => {
  it('defaults not_owned to backup inside the Workspace and record outside, and user_domains to all', () => {
    // Act
    const s = parseConfig(base({})).config.drive_sources[0];

    // Assess
    expect(s.not_owned).toEqual({ internal: 'backup', external: 'record' });
    expect(s.user_domains).toBe('all');
  });

  it('names the path, the value and what is allowed for a bad not_owned or user_domains', () => {
    // Act
    const lines = configErrorsOf(base({ not_owned: { external: 'copy', partners: 'x' }, user_domains: ['Acme.COM'] }));

    // Assess
    expect(lines).toEqual(expect.arrayContaining([
      expect.stringMatching(/^drive_sources\[0\]\.not_owned\.external: "copy" must be "backup" or "record"/),
      expect.stringMatching(/^drive_sources\[0\]\.not_owned\.partners: is not a known key.*allowed here: internal, external/),
      expect.stringMatching(/^drive_sources\[0\]\.user_domains\[0\]: "Acme\.COM" is not a domain name/),
    ]));
  });
});
