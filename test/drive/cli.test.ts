/** `xregion ingest drive` and the drive-ingest ECS settings. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerDriveCommands } from '../../services/cli/commands/driveCommand';
import { readDriveIngestSettings } from '../../services/drive-ingest';
import { startSampleDrive, type SampleDrive } from '../../services/sample-drive';
import { LocalObjectStore } from '../../shared/storage/local/LocalObjectStore';
import { runLeaseKey } from '../../shared/drive';
import { BUCKET, keys } from './helpers';
import { hostname } from 'node:os';
import { LocalAppliance } from '../../services/cli/appliance/LocalAppliance';
import { parseConfig } from '../../shared/config';
import { createLogger } from '../../shared/observability';

const CONFIG = {
  drive_sources: [{ name: 'acme', domain: 'acme.example', admin_subject: 'admin@acme.example', target: { region: 'us-west-2', bucket: BUCKET, prefix: 'gdrive-backup/' } }],
  replication_configuration: [{ source: { region: 'us-west-2', bucket: BUCKET, prefix_filter: 'gdrive-backup/' }, destinations: [{ region: 'eu-central-1', bucket: 'acme-backup-eu' }] }],
};

/** A sample Drive and a folder with the config, for the tests of one describe. */
function cliEnv(): { sd: SampleDrive; dir: string } {
  const env = {} as { sd: SampleDrive; dir: string };
  beforeAll(async () => {
    env.sd = await startSampleDrive({ largeFileBytes: 10_000 });
    env.dir = mkdtempSync(join(tmpdir(), 'xregion-drive-cli-'));
    writeFileSync(join(env.dir, 'config.json'), JSON.stringify(CONFIG));
  });
  afterAll(async () => {
    await env.sd.close();
    rmSync(env.dir, { recursive: true, force: true });
  });
  return env;
}

/** Runs `xregion ingest drive --user U` into the env's local folder; its exit code and output. */
async function ingestDrive(env: { sd: SampleDrive; dir: string }, user: string): Promise<{ code: typeof process.exitCode; stdout: string; stderr: string }> {
  const program = new Command().exitOverride();
  registerDriveCommands(program);
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  const before = process.exitCode;
  try {
    await program.parseAsync(['ingest', 'drive', '--config', join(env.dir, 'config.json'), '--user', user, '--drive-url', env.sd.url, '--data-dir', join(env.dir, 'data')], { from: 'user' });
    return { code: process.exitCode, stdout, stderr };
  } finally {
    process.exitCode = before;
    out.mockRestore();
    err.mockRestore();
  }
}

describe('Command: ingest drive', () => {
  const env = cliEnv();
  const localStore = () => new LocalObjectStore({ root: join(env.dir, 'data', 'regions', 'us-west-2') });

  it('backs one user up into the local appliance folder and prints the table', async () => {
    // Act
    const r = await ingestDrive(env, 'bob@acme.example');

    // Assess
    expect(await keys(localStore(), 'gdrive-backup/bob@acme.example/Photos/')).toHaveLength(3);
    expect(r.stdout).toMatch(/bob@acme\.example\s+full\s+ok/);
  });

  it('queues an event for every file it backs up, so the next `xregion start` on the folder delivers them', async () => {
    // Prepare: bob was backed up into the folder by the test above
    const config = parseConfig(CONFIG).config;
    const appliance = new LocalAppliance({ config, dataDir: join(env.dir, 'data'), logger: createLogger('test', 'SILENT'), fsync: false });
    // Act
    await appliance.init();
    await appliance.runUntilIdle();
    // Assess
    const backedUp = await keys(localStore(), 'gdrive-backup/bob@acme.example/');
    const delivered: string[] = [];
    for await (const o of new LocalObjectStore({ root: join(env.dir, 'data', 'regions', 'eu-central-1') }).list('acme-backup-eu', 'gdrive-backup/bob@acme.example/')) delivered.push(o.key);
    expect(backedUp.length).toBeGreaterThan(3);
    expect(delivered).toEqual(backedUp);
  });

  it('refuses to write into a folder that a live `xregion start` owns', async () => {
    const dataDir = join(env.dir, 'data');
    writeFileSync(join(dataDir, 'owner.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), command: 'xregion start --watch', since: 'earlier' }));
    try {
      const r = await ingestDrive(env, 'alice@acme.example');
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/in use by `xregion start --watch`/);
    } finally {
      rmSync(join(dataDir, 'owner.lock'), { force: true });
    }
  });

  it('says another run holds the source and exits 75 (try later), changing nothing', async () => {
    // Prepare: a live lease of another run in the same local folder
    const store = localStore();
    await store.ensureBucket(BUCKET);
    const holder = { runId: 'run-elsewhere', host: 'ecs-task', pid: 7, acquiredAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString() };
    await store.put(BUCKET, runLeaseKey('acme'), Buffer.from(JSON.stringify(holder)));
    const before = await keys(store, 'gdrive-backup/');

    // Act
    const r = await ingestDrive(env, 'alice@acme.example');
    await store.delete(BUCKET, runLeaseKey('acme'));

    // Assess
    expect(r.code).toBe(75);
    expect(r.stderr).toMatch(/xregion ingest drive: drive source acme: run run-elsewhere \(ecs-task, pid 7\) is still running/);
    expect(await keys(store, 'gdrive-backup/')).toEqual(before);
  });
});

describe('Command: ingest drive (failures)', () => {
  const env = cliEnv();

  it('exits 1 and says why when a user ends partial', async () => {
    // Prepare: every download of bob's answers 403 (no reason): his files fail, the run is partial
    env.sd.server.faults.set([{ kind: 'forbidden', match: 'alt=media' }]);

    // Act
    let r;
    try {
      r = await ingestDrive(env, 'bob@acme.example');
    } finally {
      env.sd.server.faults.set([]);
    }

    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bob@acme\.example: partial \(\d+ file\(s\) failed/);
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
