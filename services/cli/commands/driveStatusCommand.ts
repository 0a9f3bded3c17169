/** Registers `xregion drive status`; the action lives in ./driveStatus, loaded when it runs. */
import type { Command } from 'commander';

const action = () => require('./driveStatus') as typeof import('./driveStatus');

export function registerDriveStatusCommand(program: Command): void {
  const drive = program.commands.find((c) => c.name() === 'drive') ?? program.command('drive').description('Google Drive backup: status of each user');
  drive
    .command('status')
    .description('per-user status records: last backup, files, bytes, status, errors, not-owned and unavailable counts')
    .option('-c, --config <path>', 'replication config', 'replication_config.json')
    .option('--source <name>', 'drive source name (when the config has several)')
    .option('--user <email>', 'only this user (or shared-drive:{id})')
    .option('--status <status>', 'only subjects whose last run ended so (ok, partial, error, ...)')
    .option('--json', 'one JSON document (stable field names) instead of a table')
    .option('--data-dir <dir>', 'read the local appliance folder instead of S3')
    .action((flags) => action().driveStatus(flags));
}
