/** Registers `xregion config check`; the action lives in ./config, loaded (with the zod schema) when it runs. */
import type { Command } from 'commander';

const actions = () => require('./config') as typeof import('./config');

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('inspect replication_config.json');
  config
    .command('check')
    .description('validate a config file and print a normalized summary (exit 2 when invalid)')
    .argument('[path]', 'config file', 'replication_config.json')
    // -c as every other command takes its config; it wins over [path].
    .option('-c, --config <path>', 'config file (instead of [path])')
    .action((path: string, opts: { config?: string }) => actions().checkConfig(opts.config ?? path));
}
