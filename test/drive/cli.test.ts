/** `xregion ingest drive` and the drive-ingest ECS settings. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerDriveCommands } from '../../services/cli/commands/drive';
import { readDriveIngestSettings } from '../../services/drive-ingest';
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { LocalObjectStore } from '../../shared/storage/local/LocalObjectStore';
import { runLeaseKey } from '../../shared/drive';
import { BUCKET, keys } from './helpers';

const CONFIG = {
  drive_sources: [{ name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', target: { region: 'us-west-2', bucket: BUCKET, prefix: 'gdrive-backup/' } }],
  replication_configuration: [{ source: { region: 'us-west-2', bucket: BUCKET, prefix_filter: 'gdrive-backup/' }, destinations: [{ region: 'eu-central-1', bucket: 'acme-backup-eu' }] }],
};

describe('Command: ingest drive', () => {
  let sd: SampleDrive;
  let dir: string;
  beforeAll(async () => {
    sd = await startSampleDrive({ largeFileBytes: 10_000 });
    dir = mkdtempSync(join(tmpdir(), 'xregion-drive-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
  });
  afterAll(async () => {
    await sd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs one user up into the local appliance folder and prints the table', async () => {
    // Prepare
    const program = new Command().exitOverride();
    registerDriveCommands(program);
    const out: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s) => { out.push(String(s)); return true; });

    // Act
    try {
      await program.parseAsync(['ingest', 'drive', '--config', join(dir, 'config.json'), '--user', 'bob@acme.example', '--drive-url', sd.url, '--data-dir', join(dir, 'data')], { from: 'user' });
    } finally {
      spy.mockRestore();
    }

    // Assess
    const store = new LocalObjectStore({ root: join(dir, 'data', 'regions', 'us-west-2') });
    expect(await keys(store, 'gdrive-backup/bob@acme.example/Photos/')).toHaveLength(3);
    expect(out.join('')).toMatch(/bob@acme\.example\s+full\s+ok/);
  });

  it('says another run holds the source and exits 75 (try later), changing nothing', async () => {
    // Prepare: a live lease of another run in the same local folder
    const store = new LocalObjectStore({ root: join(dir, 'data', 'regions', 'us-west-2') });
    await store.ensureBucket(BUCKET);
    const holder = { runId: 'run-elsewhere', host: 'ecs-task', pid: 7, acquiredAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() };
    await store.put(BUCKET, runLeaseKey('acme'), Buffer.from(JSON.stringify(holder)));
    const program = new Command().exitOverride();
    registerDriveCommands(program);
    const err: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    const before = await keys(store, 'gdrive-backup/');

    // Act
    try {
      await program.parseAsync(['ingest', 'drive', '--config', join(dir, 'config.json'), '--user', 'alice@acme.example', '--drive-url', sd.url, '--data-dir', join(dir, 'data')], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const code = process.exitCode;
    process.exitCode = 0;
    await store.delete(BUCKET, runLeaseKey('acme'));

    // Assess
    expect(code).toBe(75);
    expect(err.join('')).toMatch(/xregion ingest drive: drive source acme: run run-elsewhere \(ecs-task, pid 7\) is still running/);
    expect(await keys(store, 'gdrive-backup/')).toEqual(before);
  });
});

describe('Command: ingest drive (failures)', () => {
  let sd: SampleDrive;
  let dir: string;
  beforeAll(async () => {
    sd = await startSampleDrive({ largeFileBytes: 10_000 });
    dir = mkdtempSync(join(tmpdir(), 'xregion-drive-cli-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(CONFIG));
  });
  afterAll(async () => {
    await sd.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 and says why when a user ends partial', async () => {
    // Prepare: every download of bob's answers 403 (no reason): his files fail, the run is partial
    sd.server.faults.set([{ kind: 'forbidden', match: 'alt=media' }]);
    const program = new Command().exitOverride();
    registerDriveCommands(program);
    const err: string[] = [];
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    const before = process.exitCode;
    let code: typeof process.exitCode;

    // Act
    try {
      await program.parseAsync(['ingest', 'drive', '--config', join(dir, 'config.json'), '--user', 'bob@acme.example', '--drive-url', sd.url, '--data-dir', join(dir, 'data')], { from: 'user' });
    } finally {
      code = process.exitCode;
      process.exitCode = before;
      out.mockRestore();
      spy.mockRestore();
      sd.server.faults.set([]);
    }

    // Assess
    expect(code).toBe(1);
    expect(err.join('')).toMatch(/bob@acme\.example: partial \(\d+ file\(s\) failed/);
  });
});

describe('Function: readDriveIngestSettings', () => {
  it('reads the source for this region and the injected credentials', () => {
    // Act
    const s = readDriveIngestSettings({
      AWS_REGION: 'us-west-2', XREGION_CONFIG: JSON.stringify(CONFIG),
      XREGION_DRIVE_CREDENTIALS: JSON.stringify({ type: 'authorized_user', client_id: 'c', client_secret: 's', refresh_token: 'r' }),
    });

    // Assess
    expect(s.source.name).toBe('acme');
    expect(s.credentials.type).toBe('authorized_user');
  });

  it('names every missing variable', () => {
    expect(() => readDriveIngestSettings({})).toThrow(/AWS_REGION[\s\S]*XREGION_CONFIG/);
    expect(() => readDriveIngestSettings({ AWS_REGION: 'eu-west-1', XREGION_CONFIG: JSON.stringify(CONFIG) })).toThrow(/0 drive sources target eu-west-1/);
  });
});
