/**
 * catalog: the searchable index of backup archives. Owns the column contract (shared with the
 * Glue table), the partitioned key layout, and building JSONL rows from archive manifests.
 */
export { CATALOG_COLUMNS, CATALOG_PARTITION_KEYS, catalogKey, type CatalogColumn, type CatalogRow } from './columns';
export { catalogRows, toJsonl, type CatalogContext, type ManifestForCatalog } from './rows';
