/**
 * The per-subject status record (status.json beside each subject's state) and `xregion drive
 * status [--json]`, after real runs against the sample Drive through googleapis.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerDriveCommands } from '../../services/cli/commands/driveCommand';
import { registerDriveStatusCommand } from '../../services/cli/commands/driveStatusCommand';
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { readDriveStatus, type SubjectStatusRecord } from '../../shared/drive/statusRecord';
import { runCli } from '../helpers/runCli';
import { BUCKET, driveTestEnv } from './helpers';

describe('Function: readDriveStatus', () => {
  jest.setTimeout(120_000);
  const env = driveTestEnv(64 * 1024);

  it('one record per subject with last backup, totals over the whole index, status, errors and counts', async () => {
    // Prepare: a full run, then one after edits with alice's q1.pdf refused (a 403 that is a failure)
    const first = await env.run();
    env.sd.simulateChanges();
    const q1 = [...env.sd.server.ws.files.values()].find((f) => f.name === 'q1.pdf')!;
    env.sd.server.faults.set([{ kind: 'forbidden', reason: 'someOtherReason', match: `files/${q1.id}\\?.*alt=media` }]);
    const second = await env.run();
    // Act
    const recs = await readDriveStatus(env.t.store, BUCKET, 'acme');
    // Assess: a record for every subject the runs saw, and for the suspended user
    const bySubject = new Map(recs.map((r) => [r.subject, r]));
    for (const s of second.subjects) expect(bySubject.get(s.subject)?.status).toBe(s.status);
    const alice = bySubject.get('alice@acme.example')!;
    const firstAlice = first.subjects.find((s) => s.subject === 'alice@acme.example')!;
    expect(alice).toMatchObject<Partial<SubjectStatusRecord>>({ format: 'xregion-drive-status/1', source: 'acme', label: 'alice@acme.example', errorCount: expect.any(Number) as number });
    // Totals are over the whole index, not this incremental run (which saw a few changes only)
    expect(alice.totalFiles).toBeGreaterThanOrEqual(firstAlice.files - 2);
    expect(alice.storedFiles).toBeGreaterThan(10);
    expect(alice.totalBytes).toBeGreaterThanOrEqual(firstAlice.stats.bytes - 10_000);
    expect(alice.unavailable).toBeGreaterThanOrEqual(2);
    expect(alice.lastBackup).toBeDefined();
    expect(alice.lastRunId).toBeTruthy();
    const secondAlice = second.subjects.find((s) => s.subject === 'alice@acme.example')!;
    expect(alice.errorCount).toBe(secondAlice.errorCount);
    expect(alice.failedFiles).toBe(secondAlice.stats.failed);
    // Suspended users are listed with a record that says so
    const skipped = second.skippedUsers.find((u) => u.reason === 'suspended');
    if (skipped) expect(bySubject.get(skipped.email)?.status).toBe('suspended');
  });

  it('a subject whose run fails keeps the last backup time of its last good run', async () => {
    await env.run({ userFilter: 'bob@acme.example' });
    const before = (await readDriveStatus(env.t.store, BUCKET, 'acme')).find((r) => r.subject === 'bob@acme.example')!;
    expect(before.status).toBe('ok');
    env.sd.server.faults.set([{ kind: 'dailyLimit', user: 'bob@acme.example' }]);
    const r = await env.run({ userFilter: 'bob@acme.example' });
    expect(r.subjects[0].status).not.toBe('ok');
    const after = (await readDriveStatus(env.t.store, BUCKET, 'acme')).find((x) => x.subject === 'bob@acme.example')!;
    expect(after.status).toBe(r.subjects[0].status);
    expect(after.lastBackup).toBe(before.lastBackup);
    expect(after.lastRun > before.lastRun).toBe(true);
    expect(after.totalFiles).toBe(before.totalFiles);
    expect(after.errorCount).toBeGreaterThan(0);
  });
});

describe('Command: xregion drive status', () => {
  jest.setTimeout(120_000);
  let sd: SampleDrive;
  let dir: string;
  beforeAll(async () => {
    sd = await startSampleDrive({ largeFileBytes: 10_000 });
    dir = mkdtempSync(join(tmpdir(), 'xregion-drive-status-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({
      drive_sources: [{ name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', users: ['alice@acme.example', 'bob@acme.example'], target: { region: 'us-west-2', bucket: BUCKET, prefix: 'gdrive-backup/' } }],
      replication_configuration: [{ source: { region: 'us-west-2', bucket: BUCKET, prefix_filter: 'gdrive-backup/' }, destinations: [{ region: 'eu-central-1', bucket: 'acme-backup-eu' }] }],
    }));
  });
  afterAll(async () => {
    await sd.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cli = (args: string[]) => runCli([registerDriveCommands, registerDriveStatusCommand], args);

  it('before any run: says so, exit 0', async () => {
    const r = await cli(['drive', 'status', '-c', join(dir, 'config.json'), '--data-dir', join(dir, 'data')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no status records yet/);
  });

  it('after an ingest: a table for people and stable JSON for scripts, filtered by --user', async () => {
    const ingest = await cli(['ingest', 'drive', '-c', join(dir, 'config.json'), '--drive-url', sd.url, '--data-dir', join(dir, 'data')]);
    expect(ingest.code).toBe(0);
    const table = await cli(['drive', 'status', '-c', join(dir, 'config.json'), '--data-dir', join(dir, 'data')]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^subject\s+status\s+last backup\s+files\s+stored\s+bytes\s+errors\s+failed\s+not owned\s+unavail\s+last run$/);
    expect(lines.filter((l) => /^(alice|bob)@acme\.example\s+ok\s+20\d\d-/.test(l))).toHaveLength(2);
    const json = await cli(['drive', 'status', '-c', join(dir, 'config.json'), '--data-dir', join(dir, 'data'), '--json', '--user', 'alice@acme.example']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout) as { source: string; bucket: string; subjects: SubjectStatusRecord[] };
    expect(doc.source).toBe('acme');
    expect(doc.subjects.map((s) => s.subject)).toEqual(['alice@acme.example']);
    expect(Object.keys(doc.subjects[0]).sort()).toEqual([
      'deleted', 'errorCount', 'excluded', 'failedFiles', 'format', 'label', 'lastBackup', 'lastRun', 'lastRunId', 'notOwned', 'source', 'status', 'storedFiles', 'subject', 'totalBytes', 'totalFiles', 'unavailable',
    ]);
  });
});
