/** Registers `xregion restore`; the action lives in ./restore, loaded (with the AWS SDK, DuckDB and googleapis) when it runs. */
import { InvalidArgumentError, type Command } from 'commander';
import { athenaOptions, envOptions } from './options';

const actions = () => require('./restore') as typeof import('./restore');

/**
 * shared/drive's CREDENTIALS_ENV, for the help text only: importing it would load googleapis into
 * `restore --help` (test/cli/commandLoading.test.ts keeps the two equal).
 */
export const DRIVE_CREDENTIALS_ENV = 'XREGION_DRIVE_CREDENTIALS';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be an integer 1..64');
  return n;
}

export function registerRestoreCommands(program: Command): void {
  const cmd = program
    .command('restore')
    .description('restore objects from backup archives (or a normal destination) to a folder, a bucket or Drive')
    .requiredOption('--to <target>', './dir, s3://bucket/prefix or drive://user@domain/<folderId>')
    .option('--archive <s3url>', 'one archive, s3://backup-bucket/key.tar.zst (with --key: one member)')
    .option('--key <path>', 'member key relative to the rule prefix (with --archive or --from)')
    .option('--object-path <key>', 'one object by its original key, looked up in the catalog')
    .option('--user <email>', 'every object of a Drive user (catalog drive_user)')
    .option('--date <YYYY-MM-DD>', 'with --user: only objects backed up that day')
    .option('--prefix <prefix>', 'every object whose original key starts with this (with --from: under the --from prefix)')
    .option('--query <sql>', 'catalog SQL returning object_path and backup_file')
    .option('--from <s3url>', 'restore from a normal destination s3://bucket/prefix instead of archives')
    .option('--as-of <date>', "each object's newest version backed up at or before this date (YYYY-MM-DD or ISO-8601)")
    .option('--overwrite', 'replace existing files that differ')
    .option('--concurrency <n>', 'archives restored at once', positiveInt, 4)
    .option('--stats', 'print bytes read vs archive size')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--catalog <s3url>', 'with --aws: the catalog bucket to look rows up in')
    .option('--convert', 'with drive://: convert exported Office files back to Google formats')
    .option('--drive-credentials <file>', `with drive://: service-account JSON (default: $${DRIVE_CREDENTIALS_ENV})`)
    .option('--drive-root-url <url>', 'with drive://: Drive API base URL (the sample Drive)');
  envOptions(cmd);
  athenaOptions(cmd);
  cmd.action(async (opts) => {
    process.exitCode = await actions().runRestoreCommand(opts);
  });
}
