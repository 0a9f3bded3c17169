/** Registers `xregion start`; the action lives in ./start, loaded (with the appliance and googleapis) when it runs. */
import type { Command } from 'commander';

const actions = () => require('./start') as typeof import('./start');

/**
 * The appliance's DEFAULT_SETTLE_MS in seconds, for the help text only: importing it would load the
 * whole appliance into `start --help` (test/cli/commandLoading.test.ts keeps the two equal).
 */
export const DEFAULT_SETTLE_SECONDS = 2;

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the whole pipeline locally (embedded default): source → compressor → replication → router → destinations')
    .option('-c, --config <path>', 'replication config', 'replication_config.json')
    .option('--data-dir <dir>', 'where the local regions, buckets and queues live', '.xregion')
    .option('--watch', 'keep running and process files dropped into the source bucket folder')
    .option('--no-sample', 'do not generate sample data when the source bucket is empty (configs without drive_sources)')
    .option('--no-drive', 'skip the sample Drive server and the Drive ingest')
    .option('--simulate-changes', 'apply the next round of scripted edits in the sample Drive before ingesting')
    .option('--settle-seconds <n>', `a file dropped into a source bucket is announced once its size and mtime stayed unchanged this long (default ${DEFAULT_SETTLE_SECONDS})`)
    .action((opts) => actions().runStartCommand(opts));
}
