/** Glue/Athena names of the catalog, shared by the CDK stacks and the local DuckDB views. */

/** Glue/Athena identifiers: lower-case letters, digits and underscores. */
export function glueName(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** Glue database of a deployment's catalog: `{stack_name}_catalog`. */
export const catalogDatabaseName = (stackName: string): string => `${glueName(stackName)}_catalog`;

/** Glue table of one rule: its source bucket and prefix, e.g. `acme_drive_landing_gdrive_backup`. */
export function catalogTableName(sourceBucket: string, prefix: string): string {
  return glueName(`${sourceBucket}_${prefix}`).slice(0, 255);
}

/** The table name the product guide's queries use; an alias of the rule's table (or of every rule's rows). */
export const GUIDE_TABLE_NAME = 'catalog_table_name';
