/** Registers `xregion ingest drive` and `xregion sample-drive`; the actions live in ./drive (googleapis), loaded when one runs. */
import type { Command } from 'commander';

const actions = () => require('./drive') as typeof import('./drive');

export function registerDriveCommands(program: Command): void {
  const ingestCmd = program.commands.find((c) => c.name() === 'ingest') ?? program.command('ingest').description('copy data into the source bucket');
  ingestCmd
    .command('drive')
    .description('back up a Google Drive source (incremental after the first run)')
    .option('-c, --config <path>', 'replication config', 'replication_config.json')
    .option('--source <name>', 'drive source name (when the config has several)')
    .option('--user <email>', 'only this user')
    .option('--credentials <key.json>', `service-account key or OAuth authorized_user JSON (default: env XREGION_DRIVE_CREDENTIALS)`)
    .option('--dry-run', 'list and plan, write nothing')
    .option('--data-dir <dir>', 'write to the local appliance folder instead of S3 (same layout as `xregion start`)')
    .option('--drive-url <url>', 'Drive API root, e.g. the sample Drive http://127.0.0.1:8085/ (env XREGION_DRIVE_ROOT_URL)')
    .action((flags) => actions().ingest(flags));

  program
    .command('sample-drive')
    .description('run the sample Drive server (Drive v3 + Admin Directory subset) with a seeded workspace')
    .option('--port <n>', 'port on 127.0.0.1', '8085')
    .option('--seed <n>', 'workspace seed', '42')
    .option('--simulate-changes', 'apply the scripted edits after seeding (a second ingest then sees only those)')
    .option('--latency <ms>', 'fixed latency added to every request', '0')
    .option('--data-dir <dir>', 'where uploaded file bodies are kept (default: memory)')
    .action((flags) => actions().runSampleDrive(flags));
}
