/**
 * Selection that leaves nothing silent (issue 14, bullet 1): every file a backed-up user can see
 * ends in one state. Files owned outside the backed-up set are backed up once (inside the
 * Workspace, by default) or recorded as not_owned with the owner (partners, by default); users
 * not backed up are listed with what was last kept of them. Real googleapis against the sample Drive.
 */
import { FOLDER_MIME } from '../../shared/drive';
import { claimKey } from '../../shared/drive/selection';
import { BUCKET, driveTestEnv, keys } from './helpers';

const P = 'gdrive-backup/';
const ALICE = 'alice@acme.example';
const BOB = 'bob@acme.example';
const DAVE = 'dave@acme.example';

describe('Function: runDriveIngest (selection)', () => {
  const env = driveTestEnv(64 * 1024, { backoff: { baseMs: 1, capMs: 5, maxAttempts: 2 } });
  const run = env.run;
  const file = (name: string) => [...env.sd.server.ws.files.values()].find((f) => f.name === name)!;
  /** Files (not folders, not trashed) a user can see in the sample Drive, in shared drives too. */
  const visible = (user: string) => [...env.sd.server.ws.files.values()].filter((f) => f.mimeType !== FOLDER_MIME && !f.trashed && env.sd.server.ws.canSee(user, f) && f.id !== env.sd.server.ws.roots.get(user));

  it('accounts for every file a user can see: its own, its owner\'s backup, a partner\'s recorded, a suspended owner\'s backed up once', async () => {
    // Act
    const r = await run();
    const all = await keys(env.t.store, P);

    // Assess: nothing silent — every visible file is counted, in total or as backed up under another subject
    for (const s of r.subjects.filter((x) => !x.subject.startsWith('shared-drive:'))) expect([s.subject, s.stats.total + s.stats.ownerBackedUp]).toEqual([s.subject, visible(s.subject).length]);
    const alice = r.subjects.find((s) => s.subject === ALICE)!;
    const bob = r.subjects.find((s) => s.subject === BOB)!;
    // A partner's file: recorded with its owner, not copied
    expect(alice.stats.notOwned).toBe(1);
    expect(alice.events).toContainEqual(expect.objectContaining({ type: 'not_owned', fileId: file('Partner contract.pdf').id, reason: expect.stringContaining('pat@partner.example, outside the Workspace') }));
    expect(all.some((k) => k.includes('Partner contract'))).toBe(false);
    // bob's Plan, shared with alice: stored once, under bob (as the shared drives' files are, under their drive)
    expect(alice.stats.ownerBackedUp).toBe(4);
    expect(all.filter((k) => k.includes('Plan.xlsx'))).toEqual([`${P}${BOB}/Plan.xlsx`]);
    // The suspended dave's handover, which bob sees: backed up under bob, dave as its owner
    const handover = all.filter((k) => k.includes('handover.txt'));
    expect(handover).toHaveLength(1);
    expect(handover[0].startsWith(`${P}${BOB}/`)).toBe(true);
    expect((await env.t.store.head(BUCKET, handover[0])).metadata['drive-owner']).toBe(DAVE);
    expect(bob.stats.notOwned).toBe(0);
    // dave's file nobody else sees cannot be read (he cannot be impersonated): the run record lists him
    expect(all.some((k) => k.includes('private-notes'))).toBe(false);
    expect(r.skippedUsers).toContainEqual({ email: DAVE, reason: 'suspended' });
  });

  it('stores a file two subjects see once, whichever claims it first, and keeps that choice next run', async () => {
    // Prepare: alice sees dave's handover too
    file('handover.txt').sharedWith.push(ALICE);

    // Act
    const r = await run();
    const r2 = await run();

    // Assess
    const copies = (await keys(env.t.store, P)).filter((k) => k.includes('handover.txt'));
    expect(copies).toHaveLength(1);
    const claimed = JSON.parse((await env.t.store.getRange(BUCKET, claimKey('acme', file('handover.txt').id), 0, 1e4)).toString()) as { subject: string; owner: string };
    expect(claimed.owner).toBe(DAVE);
    expect(copies[0].startsWith(`${P}${claimed.subject}/`)).toBe(true);
    const other = r.subjects.find((s) => s.subject === (claimed.subject === ALICE ? BOB : ALICE))!;
    expect(other.stats.ownerBackedUp).toBeGreaterThanOrEqual(1);
    expect(r2.stats.uploaded).toBe(0);
  });

  it('backs up a partner\'s file with not_owned.external "backup", and a listed-out owner\'s with the internal default', async () => {
    // Act: only alice is backed up; partners' files are to be copied
    const r = await run({}, { users: [ALICE], not_owned: { external: 'backup' } });
    const all = await keys(env.t.store, P);

    // Assess
    const alice = r.subjects[0];
    expect(alice.stats.notOwned).toBe(0);
    const contract = all.find((k) => k.includes('Partner contract.pdf'))!;
    expect(contract.startsWith(`${P}${ALICE}/`)).toBe(true);
    expect((await env.t.store.head(BUCKET, contract)).metadata['drive-owner']).toBe('pat@partner.example');
    expect(all.find((k) => k.includes('Plan.xlsx'))?.startsWith(`${P}${ALICE}/`)).toBe(true); // bob is not listed: inside the Workspace, backed up
  });

  it('records an inside owner\'s file as not_owned with not_owned.internal "record"', async () => {
    // Act
    const r = await run({ userFilter: BOB }, { not_owned: { internal: 'record' } });

    // Assess
    expect(r.subjects[0].events).toContainEqual(expect.objectContaining({ type: 'not_owned', fileId: file('handover.txt').id, reason: expect.stringContaining(`${DAVE}, inside the Workspace but not backed up (suspended)`) }));
    expect((await keys(env.t.store, P)).some((k) => k.includes('handover'))).toBe(false);
  });

  it('lists a user suspended since the last run with the date and count of what is kept', async () => {
    // Prepare: dave was active and backed up once, then suspended
    const daveUser = env.sd.server.ws.users.find((u) => u.primaryEmail === DAVE)!;
    daveUser.suspended = false;
    await run();
    daveUser.suspended = true;

    // Act
    const r = await run();

    // Assess
    const dave = r.skippedUsers.find((u) => u.email === DAVE)!;
    expect(dave).toMatchObject({ reason: 'suspended', storedFiles: 2, lastBackup: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(await keys(env.t.store, `${P}${DAVE}/`)).toHaveLength(2); // the backups are kept
  });
});
