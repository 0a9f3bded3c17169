#!/usr/bin/env node
/**
 * `xregion`: the operator CLI. Each command is registered by a light module under ./commands
 * (`<name>Command.ts`: options and help only) whose action loads the command's implementation
 * (`<name>.ts`) when it runs, so help and --version never load what the commands use.
 */
import { Command } from 'commander';
import { exitQuietlyOnClosedOutput } from './closedOutput';

// Local stores do many small filesystem operations concurrently; libuv's default 4 threads queue them
// (the pool starts on first use, after these imports).
process.env.UV_THREADPOOL_SIZE ??= '16';

exitQuietlyOnClosedOutput();

type Register = (program: Command) => void;

/**
 * Each top-level command and the module that registers it. Implementations pull in the AWS SDK,
 * googleapis and DuckDB (~0.75 s before any work starts: `xregion --version` took 1.05 s when every
 * command module loaded them), so registration modules import none of them. Of the registrations
 * themselves a run loads only its command's (`archive`'s alone reads the archive engine, for its
 * default thread count); help and unknown commands load all of them, --version none.
 */
const COMMANDS: Record<string, () => Register> = {
  archive: () => (require('./commands/archiveCommand') as typeof import('./commands/archiveCommand')).registerArchiveCommands,
  config: () => (require('./commands/configCommand') as typeof import('./commands/configCommand')).registerConfigCommands,
  ingest: () => (require('./commands/driveCommand') as typeof import('./commands/driveCommand')).registerDriveCommands,
  drive: () => (require('./commands/driveStatusCommand') as typeof import('./commands/driveStatusCommand')).registerDriveStatusCommand,
  'sample-drive': () => (require('./commands/driveCommand') as typeof import('./commands/driveCommand')).registerDriveCommands,
  start: () => (require('./commands/startCommand') as typeof import('./commands/startCommand')).registerStartCommand,
  catalog: () => (require('./commands/catalogCommand') as typeof import('./commands/catalogCommand')).registerCatalogCommands,
  restore: () => (require('./commands/restoreCommand') as typeof import('./commands/restoreCommand')).registerRestoreCommands,
  verify: () => (require('./commands/verifyCommand') as typeof import('./commands/verifyCommand')).registerVerifyCommands,
  reconcile: () => (require('./commands/reconcileCommand') as typeof import('./commands/reconcileCommand')).registerReconcileCommand,
  cost: () => (require('./commands/costCommand') as typeof import('./commands/costCommand')).registerCostCommand,
};

const program = new Command();
program
  .name('xregion')
  .description('Back up Google Drive into S3 and replicate it across AWS regions as seekable .tar.zst archives')
  .version('0.1.0')
  .showHelpAfterError();

const requested = process.argv[2];
const only =
  requested === '-V' || requested === '--version'
    ? []
    : requested !== undefined && Object.hasOwn(COMMANDS, requested)
      ? [COMMANDS[requested]!]
      : Object.values(COMMANDS);
// A Set: `ingest` and `sample-drive` come from one module, registered once.
for (const register of new Set(only.map((load) => load()))) register(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`xregion: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
