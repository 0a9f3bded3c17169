/**
 * Start-up cost without timing: which packages a command loads, seen from inside a spawned CLI
 * (a --require'd probe lists require.cache at exit). googleapis, DuckDB and the AWS SDK cost
 * ~0.75 s before any work starts; help, --version, `config check` and the `archive` commands must
 * load none of them (README, Performance, Start-up; `npm run bench:startup` times them).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tempDir, writeArchive } from '../archive/helpers';
import { runCliProcess } from './spawnCli';

/** The packages that dominate start-up; each used by some commands only. */
const HEAVY = ['googleapis', '@duckdb/node-api', '@aws-sdk/client-s3', '@aws-sdk/client-sqs', '@aws-sdk/client-athena', 'zod', 'cli-progress'] as const;

/** Runs the CLI; which of HEAVY it loaded, and which of its own command modules. */
function run(args: string[]): { status: number | null; stdout: string; stderr: string; heavy: string[]; commandModules: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-loading-'));
  try {
    const probe = join(dir, 'probe.cjs');
    const report = join(dir, 'loaded.json');
    writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const r = runCliProcess(args, { preload: probe });
    const loaded = JSON.parse(readFileSync(report, 'utf8')) as string[];
    const heavy = HEAVY.filter((p) => loaded.some((f) => f.includes(`/node_modules/${p}/`)));
    const commandModules = loaded.flatMap((f) => /services\/cli\/commands\/(\w+)\.ts$/.exec(f)?.[1] ?? []).sort();
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, heavy, commandModules };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI: xregion (command loading)', () => {
  let t: ReturnType<typeof tempDir>;
  let archive: string;
  beforeAll(async () => {
    t = tempDir();
    archive = join(t.dir, 'a.tar.zst');
    await writeArchive(archive, [{ key: 'a.txt', data: Buffer.from('a') }], { threads: 0 });
  });
  afterAll(() => t.cleanup());

  test('--version loads no command module at all', () => {
    const r = run(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('0.1.0\n');
    expect(r.commandModules).toEqual([]);
    expect(r.heavy).toEqual([]);
  }, 60_000);

  test('top-level help lists every command from the registration modules alone', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['archive', 'config', 'ingest', 'sample-drive', 'start', 'catalog', 'restore', 'verify', 'reconcile']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    expect(r.commandModules.every((m) => m.endsWith('Command') || m === 'options')).toBe(true);
    expect(r.heavy).toEqual([]);
  }, 60_000);

  test('`config check -c <file>` loads the schema (zod) and nothing heavier', () => {
    const r = run(['config', 'check', '-c', 'replication_config.json']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^replication_config\.json: valid\n/);
    expect(r.heavy).toEqual(['zod']);
  }, 60_000);

  test('`archive --help` loads none of the heavy packages', () => {
    const r = run(['archive', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('create');
    expect(r.heavy).toEqual([]);
  }, 60_000);

  test.each(['list <archive>', 'cat <archive> a.txt'])('`archive %s` loads the archive engine and its manifest schema (zod) only', (args) => {
    const r = run(['archive', ...args.split(' ').map((a) => (a === '<archive>' ? archive : a))]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.heavy).toEqual(['zod']);
    expect(r.commandModules).toEqual(['archive', 'archiveCommand']);
  }, 60_000);

  test.each(['start', 'catalog query', 'restore', 'verify', 'reconcile', 'ingest drive', 'sample-drive'])('`%s --help` loads only its registration, none of the heavy packages', (cmd) => {
    const r = run([...cmd.split(' '), '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: xregion /);
    expect(r.commandModules.every((m) => m.endsWith('Command') || m === 'options')).toBe(true);
    expect(r.heavy).toEqual([]);
  }, 60_000);

  test('the probe sees heavy packages when a command uses them: `catalog query` loads DuckDB', () => {
    const r = run(['catalog', 'query', 'SELECT 42 AS n', '--data-dir', join(t.dir, 'empty')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('42');
    expect(r.heavy).toContain('@duckdb/node-api');
    expect(r.commandModules).toContain('catalog');
  }, 60_000);
});

describe('CLI: help texts that name a constant of a heavy module', () => {
  // The registration modules repeat these values so that help stays light; keep them equal.
  test('start --settle-seconds default is the appliance DEFAULT_SETTLE_MS', () => {
    const { DEFAULT_SETTLE_SECONDS } = require('../../services/cli/commands/startCommand') as typeof import('../../services/cli/commands/startCommand');
    const { DEFAULT_SETTLE_MS } = require('../../services/cli/appliance/LocalAppliance') as typeof import('../../services/cli/appliance/LocalAppliance');
    expect(DEFAULT_SETTLE_SECONDS * 1000).toBe(DEFAULT_SETTLE_MS);
  });

  test('restore --drive-credentials names shared/drive CREDENTIALS_ENV', () => {
    const { DRIVE_CREDENTIALS_ENV } = require('../../services/cli/commands/restoreCommand') as typeof import('../../services/cli/commands/restoreCommand');
    const { CREDENTIALS_ENV } = require('../../shared/drive') as typeof import('../../shared/drive');
    expect(DRIVE_CREDENTIALS_ENV).toBe(CREDENTIALS_ENV);
  }, 30_000);
});
