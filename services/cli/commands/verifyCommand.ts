/** Registers `xregion verify`; the action lives in ./verify, loaded (with the AWS SDK and DuckDB) when it runs. */
import { InvalidArgumentError, type Command } from 'commander';
import { envOptions } from './options';

const actions = () => require('./verify') as typeof import('./verify');

function sampleSize(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--sample must be a positive integer');
  return n;
}

export function registerVerifyCommands(program: Command): void {
  const cmd = program
    .command('verify <s3url>')
    .description('check every archive in a backup bucket: seek table, manifest, every member sha256, catalog rows; exit 1 on any finding')
    .option('--report <file>', 'write the JSON report here')
    .option('--json', 'print the JSON report on stdout')
    .option('--sample <n>', 'check only n random members per archive (ranged reads)', sampleSize)
    .option('--catalog <s3url>', 'catalog bucket to compare (default locally: the region\'s catalog bucket; with --aws required unless --no-catalog)')
    .option('--no-catalog', 'do not compare the catalog');
  envOptions(cmd);
  cmd.action(async (url, opts) => {
    process.exitCode = await actions().runVerifyCommand(url, opts);
  });
}
