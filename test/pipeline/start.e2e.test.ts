/** `xregion start` end to end: sample Drive → drive-ingest → compressor → replication → routers. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runStart } from '../../services/cli/commands/start';
import { LocalTopology } from '../../services/cli/appliance/LocalTopology';
import { loadConfig } from '../../shared/config';

const CONFIG = join(__dirname, '..', '..', 'replication_config.json');

async function keys(topology: LocalTopology, region: string, bucket: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for await (const o of topology.store(region).list(bucket, prefix)) out.push(o.key);
  return out.sort();
}

/** A fresh data folder, and the repo config's first rule with its destinations. */
function startEnv(name: string) {
  const dataDir = mkdtempSync(join(tmpdir(), `xregion-${name}-`));
  const config = loadConfig(CONFIG);
  const rule = config.replication_configuration[0];
  return { dataDir, topology: new LocalTopology(config, dataDir), rule, normal: rule.destinations.find((d) => !d.backup)!, backup: rule.destinations.find((d) => d.backup)! };
}

describe('Command: xregion start (with the sample Drive)', () => {
  const { dataDir, topology, rule, normal, backup } = startEnv('start');
  let stdout = '';
  beforeAll(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterAll(() => {
    jest.restoreAllMocks();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const run = (simulateChanges = false) => runStart({ config: CONFIG, dataDir, sample: true, drive: true, simulateChanges });

  it('backs up the sample workspace and delivers every file to both destinations', async () => {
    // Act
    expect(await run()).toBe(0);
    // Assess
    const source = (await keys(topology, rule.source.region, rule.source.bucket, rule.source.prefix_filter));
    expect(source.length).toBeGreaterThan(20);
    expect(source.some((k) => k.startsWith('gdrive-backup/alice@acme.example/'))).toBe(true);
    expect(await keys(topology, normal.region, normal.bucket)).toEqual(source);
    const archives = await keys(topology, backup.region, backup.bucket);
    expect(archives.every((k) => /^gdrive-backup\/backup_\d+_[0-9a-f]{8}\.tar\.zst$/.test(k))).toBe(true);
    expect(stdout).toMatch(/drive acme: \d+ files, \d+ uploaded/);
    expect(stdout).toContain(`catalog rows    ${source.length}`);
  });

  it('uploads nothing on a second run without changes, and only the edits after --simulate-changes', async () => {
    stdout = '';
    expect(await run()).toBe(0);
    expect(stdout).toContain('drive acme: 0 files, 0 uploaded');
    expect(stdout).toContain('objects in      0 (0 B)');
    stdout = '';
    expect(await run(true)).toBe(0);
    expect(stdout).toMatch(/drive acme: 5 files, 5 uploaded/);
    expect(stdout).toMatch(/normal: 5 objects written/);
    expect(await keys(topology, normal.region, normal.bucket, 'gdrive-backup/alice@acme.example/')).toEqual(
      expect.arrayContaining([expect.stringMatching(/added-1\.csv$/)]),
    );
  });
});

describe('Command: xregion start --watch', () => {
  const { dataDir, topology, rule, normal } = startEnv('watch');
  let stderr = '';
  beforeAll(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
  });
  afterAll(() => {
    jest.restoreAllMocks();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const until = async (what: string, check: () => Promise<boolean> | boolean): Promise<void> => {
    const deadline = Date.now() + 30_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('archives and delivers a file dropped into the source bucket folder, and stops on Ctrl-C', async () => {
    // Prepare: the watcher runs with an empty source bucket (no sample data, no Drive)
    const running = runStart({ config: CONFIG, dataDir, sample: false, drive: false, watch: true });
    await until('the watcher to start', () => stderr.includes('watching for new files'));
    const key = `${rule.source.prefix_filter}dropped/by hand.txt`;
    const file = join(topology.store(rule.source.region).layout.bucketDir(rule.source.bucket), ...key.split('/'));

    // Act: a file dropped in by hand, then Ctrl-C once it has arrived
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'dropped into the folder\n');
    await until('the dropped file at the normal destination', async () => (await keys(topology, normal.region, normal.bucket)).includes(key));
    process.emit('SIGINT');
    const code = await running;

    // Assess
    expect(code).toBe(0);
    const got = await topology.store(normal.region).get(normal.bucket, key);
    const chunks: Buffer[] = [];
    for await (const c of got.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('dropped into the folder\n');
    expect(stderr).toMatch(/1 new object archived; \d+ archive deliver(y|ies) to target regions/);
  }, 60_000);
});
