/** Registers `xregion catalog query`; the action lives in ./catalog, loaded (with DuckDB and the AWS SDK) when it runs. */
import type { Command } from 'commander';
import { athenaOptions, envOptions } from './options';

const actions = () => require('./catalog') as typeof import('./catalog');

export function registerCatalogCommands(program: Command): void {
  const catalog = program.command('catalog').description('query the backup catalog (DuckDB locally, Athena on AWS)');
  const query = catalog
    .command('query <sql>')
    .description('run SQL over the catalog; the table is named after the Glue table and also `catalog_table_name`')
    .option('--json', 'print rows as JSON')
    .option('--csv', 'print rows as CSV');
  envOptions(query);
  athenaOptions(query);
  query.action((sql, opts) => actions().runQuery(sql, opts));
}
