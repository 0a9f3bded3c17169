/**
 * `xregion cost`: the monthly estimate of shared/cost for a config file and a workload, as text
 * tables or JSON. The action; ./costCommand registers it and loads this module only when it runs.
 */
import { ConfigError, readConfig } from '../../../shared/config';
import { DEFAULT_PRICES, estimateCost, formatEstimate, PricesFileError, readPriceFile, WorkloadError } from '../../../shared/cost';

export interface CostOptions {
  config: string;
  tbPerMonth: number;
  filesPerMonth: number;
  compressionRatio?: number;
  restoreTbPerMonth?: number;
  retentionDays?: number;
  athenaQueriesPerMonth?: number;
  spot?: boolean;
  prices?: string;
  json?: boolean;
}

/** Prints the estimate; returns the exit code (2 for an invalid config, prices file or workload). */
export function runCostCommand(opts: CostOptions): number {
  try {
    const { config } = readConfig(opts.config);
    const prices = opts.prices ? readPriceFile(opts.prices) : DEFAULT_PRICES;
    const estimate = estimateCost(
      config,
      {
        tbPerMonth: opts.tbPerMonth,
        filesPerMonth: opts.filesPerMonth,
        compressionRatio: opts.compressionRatio,
        restoreTbPerMonth: opts.restoreTbPerMonth,
        retentionDays: opts.retentionDays,
        athenaQueriesPerMonth: opts.athenaQueriesPerMonth,
        spot: opts.spot,
      },
      prices,
    );
    process.stdout.write(`${opts.json ? JSON.stringify(estimate, null, 2) : formatEstimate(estimate)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof PricesFileError || err instanceof WorkloadError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
