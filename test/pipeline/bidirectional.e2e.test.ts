/**
 * A region that is both a source and a target: rule A us-west-2 → eu-central-1 (normal +
 * backup), rule B eu-central-1 → us-west-2 (normal). Before the topology model the local
 * replicator took the archive replicated *into* a region for an outbound one and deleted it, so
 * rule B delivered 0/30 while `start` reported success.
 */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LocalTopology } from '../../services/cli/appliance/LocalTopology';
import { runStart } from '../../services/cli/commands/start';
import { parseConfig } from '../../shared/config';

const RAW = {
  stack_name: 'bidi',
  replication_configuration: [
    {
      source: { region: 'us-west-2', bucket: 'west-src', prefix_filter: 'a/', batch: { max_objects: 7, max_wait_seconds: 1 } },
      destinations: [
        { region: 'eu-central-1', bucket: 'eu-normal' },
        { region: 'eu-central-1', bucket: 'eu-backup', backup: true },
      ],
    },
    {
      source: { region: 'eu-central-1', bucket: 'eu-src', prefix_filter: 'b/', batch: { max_objects: 7, max_wait_seconds: 1 } },
      destinations: [{ region: 'us-west-2', bucket: 'west-normal' }],
    },
  ],
};

function env(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `xregion-bidi-${name}-`));
  const configFile = join(dir, 'replication_config.json');
  writeFileSync(configFile, JSON.stringify(RAW));
  const { config } = parseConfig(RAW);
  const dataDir = join(dir, 'data');
  return { dir, configFile, dataDir, topology: new LocalTopology(config, dataDir) };
}

/** Writes files straight into a source bucket's folder, as a user copying files in would (no put, no event). */
function dropFiles(topology: LocalTopology, region: string, bucket: string, prefix: string, n: number, ageMs = 0): string[] {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${prefix}dir ${i % 3}/file-${i}.txt`;
    const file = join(topology.store(region).layout.bucketDir(bucket), ...key.split('/'));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${bucket} ${key}\n`.repeat(i + 1));
    if (ageMs) utimesSync(file, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
    keys.push(key);
  }
  return keys.sort();
}

async function keys(topology: LocalTopology, region: string, bucket: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of topology.store(region).list(bucket)) out.push(o.key);
  return out.sort();
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Command: xregion start on a bidirectional topology', () => {
  let stderr = '';
  beforeEach(() => {
    stderr = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  it('--watch delivers 30/30 files in both directions, with nothing dead-lettered', async () => {
    // Prepare
    const e = env('watch');
    try {
      const running = runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false, watch: true, settleSeconds: '0.3' });
      await until('the watcher to start', async () => stderr.includes('watching for new files'));
      // Act: 30 files dropped into each source bucket folder
      const west = dropFiles(e.topology, 'us-west-2', 'west-src', 'a/', 30);
      const east = dropFiles(e.topology, 'eu-central-1', 'eu-src', 'b/', 30);
      await until('both directions delivered', async () => (await keys(e.topology, 'eu-central-1', 'eu-normal')).length === 30 && (await keys(e.topology, 'us-west-2', 'west-normal')).length === 30);
      process.emit('SIGINT');
      const code = await running;
      // Assess
      expect(code).toBe(0);
      expect(await keys(e.topology, 'eu-central-1', 'eu-normal')).toEqual(west);
      expect(await keys(e.topology, 'us-west-2', 'west-normal')).toEqual(east);
      expect((await keys(e.topology, 'eu-central-1', 'eu-backup')).length).toBeGreaterThanOrEqual(5); // 30 objects in batches of at most 7
      const dlqs = e.topology.allQueues().map((q) => q.pair.dlq.size());
      expect(dlqs.every((n) => n === 0)).toBe(true);
      expect(stderr).not.toMatch(/failure/);
    } finally {
      rmSync(e.dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('a plain start delivers files that were already in the source buckets, and a second start finds nothing new', async () => {
    // Prepare: files placed before start (old enough to count as settled), and files written just now
    const e = env('plain');
    try {
      const west = dropFiles(e.topology, 'us-west-2', 'west-src', 'a/', 12, 60_000);
      const east = dropFiles(e.topology, 'eu-central-1', 'eu-src', 'b/', 9);
      // Act
      const code = await runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false, settleSeconds: '0.3' });
      // Assess
      expect(code).toBe(0);
      expect(await keys(e.topology, 'eu-central-1', 'eu-normal')).toEqual(west);
      expect(await keys(e.topology, 'us-west-2', 'west-normal')).toEqual(east);
      const before = await keys(e.topology, 'eu-central-1', 'eu-backup');
      expect(await runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false, settleSeconds: '0.3' })).toBe(0);
      expect(await keys(e.topology, 'eu-central-1', 'eu-backup')).toEqual(before);
    } finally {
      rmSync(e.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a plain start carries files down a chain of rules (A → B, B → C) to the end, and exits 1 on a malformed message', async () => {
    // Prepare: rule 2 reads the bucket rule 1 writes into, so its events appear only after rule 1 was routed
    const dir = mkdtempSync(join(tmpdir(), 'xregion-chain-'));
    try {
      const raw = {
        stack_name: 'chain',
        replication_configuration: [
          { source: { region: 'us-west-2', bucket: 'chain-a', prefix_filter: 'x/' }, destinations: [{ region: 'eu-central-1', bucket: 'chain-b' }] },
          { source: { region: 'eu-central-1', bucket: 'chain-b', prefix_filter: 'x/' }, destinations: [{ region: 'ca-central-1', bucket: 'chain-c' }] },
        ],
      };
      const configFile = join(dir, 'replication_config.json');
      writeFileSync(configFile, JSON.stringify(raw));
      const dataDir = join(dir, 'data');
      const topology = new LocalTopology(parseConfig(raw).config, dataDir);
      const files = dropFiles(topology, 'us-west-2', 'chain-a', 'x/', 8, 60_000);
      // Act
      const code = await runStart({ config: configFile, dataDir, sample: false, drive: false, settleSeconds: '0.3' });
      // Assess
      expect(code).toBe(0);
      expect(await keys(topology, 'ca-central-1', 'chain-c')).toEqual(files);
      // A malformed message in a work queue is a failure of the run, not a silent metric.
      await topology.queue(topology.compressorPlans[0]!.queue, 'compressor').queue.send('{"not":"an event"}');
      expect(await runStart({ config: configFile, dataDir, sample: false, drive: false, settleSeconds: '0.3' })).toBe(1);
      expect(stderr).toMatch(/failure\(s\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses to run while another live process owns the data dir, and takes over a dead owner', async () => {
    const e = env('lock');
    try {
      mkdirSync(e.dataDir, { recursive: true });
      // A live owner: this test's parent process (alive, another pid).
      writeFileSync(join(e.dataDir, 'owner.lock'), JSON.stringify({ pid: process.ppid, host: require('node:os').hostname(), command: 'xregion start --watch', since: 'earlier' }));
      await expect(runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false })).rejects.toThrow(/in use by `xregion start --watch` \(pid \d+/);
      // A dead owner: a pid that cannot exist.
      writeFileSync(join(e.dataDir, 'owner.lock'), JSON.stringify({ pid: 2 ** 22 + 1, host: require('node:os').hostname(), command: 'xregion start', since: 'earlier' }));
      expect(await runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false })).toBe(0);
      expect(stderr).toMatch(/taking over .* from a run that is gone \(pid 4194305/);
      // A torn lock (a crash while it was written) names no process: taken over too.
      writeFileSync(join(e.dataDir, 'owner.lock'), '');
      expect(await runStart({ config: e.configFile, dataDir: e.dataDir, sample: false, drive: false })).toBe(0);
    } finally {
      rmSync(e.dir, { recursive: true, force: true });
    }
  }, 30_000);
});
