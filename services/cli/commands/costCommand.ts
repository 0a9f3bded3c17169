/** Registers `xregion cost`; the action lives in ./cost, loaded (with the config schema and the model) when it runs. */
import { InvalidArgumentError, type Command } from 'commander';

const actions = () => require('./cost') as typeof import('./cost');

/** A commander parser for a number ≥ `min`. */
function numberAtLeast(name: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number ≥ ${min}`);
    return n;
  };
}

export function registerCostCommand(program: Command): void {
  program
    .command('cost')
    .description('estimate the monthly AWS cost of a config and workload per region and line item, beside native S3 CRR of the uncompressed objects, and the break-even volume')
    .option('-c, --config <file>', 'replication config', 'replication_config.json')
    .requiredOption('--tb-per-month <tb>', 'uncompressed TB (2^40 bytes) arriving per month', numberAtLeast('--tb-per-month', 0))
    .requiredOption('--files-per-month <n>', 'files arriving per month', numberAtLeast('--files-per-month', 0))
    .option('--compression-ratio <r>', 'uncompressed ÷ compressed bytes (default: the last measured, README Performance)', numberAtLeast('--compression-ratio', 1))
    .option('--restore-tb-per-month <tb>', 'uncompressed TB restored per month out of AWS', numberAtLeast('--restore-tb-per-month', 0))
    .option('--retention-days <days>', 'days a month of data stays stored where no Object Lock keeps it longer (default 365)', numberAtLeast('--retention-days', 0))
    .option('--athena-queries-per-month <n>', 'catalog queries per month and backup region (default 30)', numberAtLeast('--athena-queries-per-month', 0))
    .option('--no-spot', 'price Fargate on demand only (as `-c spot=false` deploys)')
    .option('--prices <file>', 'JSON overriding any part of the price table (same keys and units)')
    .option('--json', 'print the estimate as JSON')
    .action((opts) => {
      process.exitCode = actions().runCostCommand(opts);
    });
}
