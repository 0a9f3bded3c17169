/**
 * Users and shared drives as Google serves them (issue 14, bullet 2): users.list across every domain
 * of the account (customer=my_customer) or one domain, shared drives read as a member found through
 * permissions.list with domain-admin access, or recorded with a reason. Real googleapis against the
 * sample Drive, whose Directory and permissions routes behave as Google's do.
 */
import { google } from 'googleapis';
import { AuthFactory } from '../../shared/drive';
import { driveTestEnv, fakeServiceAccount, keys } from './helpers';

const P = 'gdrive-backup/';
const ADMIN = 'admin@acme.example';
const ERIN = 'erin@labs.acme.example';
const opts = { retry: false, fetchImplementation: globalThis.fetch } as const;

describe('Function: runDriveIngest (discovery)', () => {
  const env = driveTestEnv(64 * 1024, { backoff: { baseMs: 1, capMs: 5, maxAttempts: 2 } });
  const run = env.run;
  const auth = () => new AuthFactory(fakeServiceAccount(), env.sd.url);

  describe('Method: sample Drive Directory and permissions', () => {
    it('answers users.list by customer (every domain) or by domain, and needs one of them', async () => {
      // Prepare
      const dir = google.admin({ version: 'directory_v1', auth: auth().forSubject(ADMIN), rootUrl: env.sd.url });

      // Act
      const all = await dir.users.list({ customer: 'my_customer' }, opts);
      const labs = await dir.users.list({ domain: 'labs.acme.example' }, opts);
      const neither = await dir.users.list({}, opts).catch((e: { status: number }) => e.status);
      const foreign = await dir.users.list({ domain: 'partner.example' }, opts).catch((e: { status: number }) => e.status);

      // Assess
      expect(all.data.users!.map((u) => u.primaryEmail)).toContain(ERIN);
      expect(all.data.users!.find((u) => u.primaryEmail === 'olga@acme.example')).toMatchObject({ archived: true });
      expect(labs.data.users!.map((u) => u.primaryEmail)).toEqual([ERIN]);
      expect(neither).toBe(400);
      expect(foreign).toBe(403);
    });

    it('lists a shared drive\'s members to a domain admin who is not one, only with useDomainAdminAccess', async () => {
      // Prepare
      const drive = google.drive({ version: 'v3', auth: auth().forSubject(ADMIN), rootUrl: env.sd.url });
      const finance = env.sd.server.ws.drives.find((d) => d.name === 'Finance')!;

      // Act
      const asAdmin = await drive.permissions.list({ fileId: finance.id, useDomainAdminAccess: true, supportsAllDrives: true, fields: 'permissions(type,emailAddress,role)' }, opts);
      const asUser = await drive.permissions.list({ fileId: finance.id, supportsAllDrives: true }, opts).catch((e: { status: number }) => e.status);
      const bobLists = await google.drive({ version: 'v3', auth: auth().forSubject('bob@acme.example'), rootUrl: env.sd.url }).permissions
        .list({ fileId: finance.id, useDomainAdminAccess: true, supportsAllDrives: true }, opts).catch((e: { status: number }) => e.status);

      // Assess
      expect(asAdmin.data.permissions).toEqual([
        { type: 'user', emailAddress: 'bob@acme.example', role: 'organizer' },
        { type: 'user', emailAddress: 'alice@acme.example', role: 'reader' },
      ]);
      expect(asUser).toBe(404);
      expect(bobLists).toBe(403);
    });
  });

  describe('Method: subjects', () => {
    it('backs up users of every domain of the account, and a shared drive the admin is not a member of through its organizer', async () => {
      // Prepare: a drive whose only member is the partner (nobody xregion can impersonate)
      env.sd.server.ws.addDrive('Partners', ['pat@partner.example']);

      // Act
      const r = await run();

      // Assess
      const byLabel = new Map(r.subjects.map((s) => [s.label, s]));
      expect(byLabel.get(ERIN)?.status).toBe('ok');
      expect(await keys(env.t.store, `${P}${ERIN}/`)).toEqual([`${P}${ERIN}/experiment.csv`]);
      expect(byLabel.get('shared drive Finance')).toMatchObject({ status: 'ok', message: expect.stringContaining('read as bob@acme.example (organizer)') });
      expect(await keys(env.t.store, `${P}shared-drives/Finance/`)).toEqual([`${P}shared-drives/Finance/ledger.csv`]);
      expect(byLabel.get('shared drive Partners')).toMatchObject({
        status: 'error', message: expect.stringMatching(/no member of this shared drive can be impersonated.*pat@partner\.example \(organizer, outside the Workspace\)/),
      });
      expect(byLabel.get('shared drive Engineering')?.status).toBe('ok');
    });

    it('lists only the configured domains with user_domains', async () => {
      // Act
      const r = await run({}, { user_domains: ['labs.acme.example'], shared_drives: false });

      // Assess
      expect(r.subjects.map((s) => s.subject)).toEqual([ERIN]);
    });
  });
});
