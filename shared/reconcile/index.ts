/**
 * reconcile: proves nothing was lost. Owns comparing each rule's source bucket/prefix with each
 * of its destinations — normal (key + sha256) and backup (manifests and catalog rows) — into
 * ok / missing / different / extra / skipped / in_flight / duplicated, and the report with its
 * printed table. Reads manifests through ranged reads and walks listings in key order; holds no
 * object body.
 */
export { reconcile, coveredByRule, keySkipReason, ReconcileError, DEFAULT_SETTLE_MS, type ReconcileOptions, type ReconcileProgress } from './reconcile';
export { formatReport, emptyCounts, OBJECT_CLASSES, FAILING_CLASSES, RECONCILE_FORMAT, type DestinationReport, type ObjectClass, type ReconcileReport, type Sample } from './report';
export { compareKeys } from './ListingCursor';
