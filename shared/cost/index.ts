/**
 * shared/cost: what a deployment costs per month. Owns the dated price table (prices.ts, the one
 * place prices live; `--prices` overrides it, validated), the pipeline's request pattern and
 * measured throughput (pattern.ts), the model (estimate.ts: line items per region beside native
 * S3 CRR, break-even), its text rendering, and the per-batch savings the compressor emits.
 */
export { DEFAULT_PRICES, PRICES_DATE, GB, TB, HOURS_PER_MONTH, DAYS_PER_MONTH, type PriceTable, type StorageClassPrices } from './prices';
export { applyPriceOverride, readPriceFile } from './pricesFile';
export { PricesFileError, WorkloadError } from './errors';
export { estimateCost, lineItems, breakEven, normalizeWorkload, storageCost, taskHourPrice, taskSeconds, archivesOf, retentionDaysOf, type Estimate, type LineItem, type Workload } from './estimate';
export { formatEstimate } from './format';
export { batchSavings, type BatchSavings } from './batchSavings';
export { MEASURED_COMPRESSION_RATIO } from './pattern';
