/**
 * catalog: the searchable index of backup archives. Owns the column contract (shared with the
 * Glue table), the partitioned key layout, building JSONL rows from archive manifests, the Glue
 * names, and the CatalogQuery port with its adapters (DuckDB locally, Athena on AWS).
 */
export { CATALOG_COLUMNS, CATALOG_PARTITION_KEYS, catalogBase, catalogKey, type CatalogColumn, type CatalogRow } from './columns';
export { catalogRows, toJsonl, type CatalogContext, type ManifestForCatalog } from './rows';
export { catalogDatabaseName, catalogTableName, glueName, GUIDE_TABLE_NAME } from './names';
export { CatalogQueryError, likePrefix, sqlString, type CatalogQuery, type QueryResult } from './CatalogQuery';
export { DuckDbCatalogQuery, catalogSelect, type DuckDbCatalogQueryOptions, type DuckDbTable } from './duckdb/DuckDbCatalogQuery';
export { AthenaCatalogQuery, substituteGuideTable, type AthenaCatalogQueryOptions } from './athena/AthenaCatalogQuery';
export { formatResult, type ResultFormat } from './format';
