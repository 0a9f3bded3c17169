/** The options catalog, restore, verify and reconcile share, as commander options and their parsed shape. */
import type { Command } from 'commander';

/** Options every catalog/restore/verify command takes. */
export interface EnvOptions {
  config: string;
  dataDir: string;
  region?: string;
  aws?: boolean;
  endpoint?: string;
}

/** Adds --config/--data-dir/--region/--aws/--endpoint. */
export function envOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'replication config', 'replication_config.json')
    .option('--data-dir <dir>', 'embedded default data folder', '.xregion')
    .option('--region <region>', 'region of the catalog / backup destination (default: the first with a backup destination)')
    .option('--aws', 's3:// means real S3 (default: the embedded default under --data-dir)')
    .option('--endpoint <url>', 'S3-compatible endpoint (implies --aws), e.g. http://127.0.0.1:5000');
}

/** Options of the Athena flavour. */
export interface AthenaOptions {
  athena?: boolean;
  workgroup?: string;
  database?: string;
  table?: string;
  athenaEndpoint?: string;
}

/** Adds --athena/--workgroup/--database/--table/--athena-endpoint. */
export function athenaOptions(cmd: Command): Command {
  return cmd
    .option('--athena', 'query Athena instead of the local catalog')
    .option('--workgroup <name>', 'Athena workgroup (with --athena)')
    .option('--database <name>', 'Glue database (with --athena)')
    .option('--table <name>', 'the table `catalog_table_name` stands for (with --athena)')
    .option('--athena-endpoint <url>', 'Athena endpoint (emulators)');
}
