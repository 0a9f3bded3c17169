#!/usr/bin/env node
/** `xregion`: the operator CLI. Each command lives in its own module under ./commands. */
import { Command } from 'commander';
import { registerArchiveCommands } from './commands/archive';
import { registerCatalogCommands } from './commands/catalog';
import { registerConfigCommands } from './commands/config';
import { registerDriveCommands } from './commands/drive';
import { registerRestoreCommands } from './commands/restore';
import { registerStartCommand } from './commands/start';
import { registerVerifyCommands } from './commands/verify';

// Local stores do many small filesystem operations concurrently; libuv's default 4 threads queue them
// (the pool starts on first use, after these imports).
process.env.UV_THREADPOOL_SIZE ??= '16';

const program = new Command();
program
  .name('xregion')
  .description('Back up Google Drive into S3 and replicate it across AWS regions as seekable .tar.zst archives')
  .version('0.1.0')
  .showHelpAfterError();

// command registrations (one line per command module)
registerArchiveCommands(program);
registerConfigCommands(program);
registerDriveCommands(program);
registerStartCommand(program);
registerCatalogCommands(program);
registerRestoreCommands(program);
registerVerifyCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`xregion: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
