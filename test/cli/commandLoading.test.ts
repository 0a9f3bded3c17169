import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');
const HEAVY = /[\\/]node_modules[\\/](@aws-sdk|googleapis|@duckdb|zod|cli-progress)[\\/]/;

/** Runs the CLI through tsx with a preload that prints, at exit, which heavy packages were loaded. */
function run(args: string[]): { status: number | null; stdout: string; heavy: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'xregion-main-'));
  try {
    const probe = join(dir, 'probe.cjs');
    const report = join(dir, 'loaded.json');
    writeFileSync(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache).filter((k) => ${HEAVY}.test(k)))));\n`,
    );
    const r = spawnSync(process.execPath, ['--require', probe, '--import', 'tsx', join(ROOT, 'services/cli/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const heavy = JSON.parse(readFileSync(report, 'utf8')) as string[];
    return { status: r.status, stdout: r.stdout, heavy };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI: xregion (command loading)', () => {
  test('top-level help lists every command', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    for (const c of ['archive', 'config', 'ingest', 'sample-drive', 'start', 'catalog', 'restore', 'verify']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  }, 60_000);

  test('a command loads only its own module: `archive` pulls in no AWS SDK, googleapis, DuckDB, zod or cli-progress', () => {
    const archive = run(['archive', '--help']);
    expect(archive.status).toBe(0);
    expect(archive.stdout).toContain('create');
    expect(archive.heavy).toEqual([]);
    // The probe itself can see heavy modules: `verify` needs the AWS SDK.
    const verify = run(['verify', '--help']);
    expect(verify.status).toBe(0);
    expect(verify.heavy.length).toBeGreaterThan(0);
  }, 60_000);
});
