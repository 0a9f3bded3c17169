/**
 * The ECS services load only what they use: no DuckDB (70 MB native, for catalog queries) and no
 * googleapis (for drive-ingest) in the compressor or the router. Checked in a fresh process,
 * since jest's own module registry would hide what Node loads.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Heavy packages a module's import graph pulls in, loaded through tsx in a child process. */
function heavyPackagesLoadedBy(modulePath: string): string[] {
  const probe = `require(${JSON.stringify(join(ROOT, modulePath))});
const heavy = ['@duckdb/node-api', 'googleapis', '@aws-sdk/client-athena'];
process.stdout.write(JSON.stringify(heavy.filter((p) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + p + '/')))));`;
  const out = execFileSync(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', probe], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('Service module weight', () => {
  it.each(['services/router/RouterService.ts', 'services/compressor/CompressorService.ts'])('%s loads neither DuckDB, googleapis nor the Athena client', (modulePath) => {
    expect(heavyPackagesLoadedBy(modulePath)).toEqual([]);
  });
});
