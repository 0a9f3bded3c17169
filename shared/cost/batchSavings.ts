/**
 * The cost line of one compressor batch, emitted as metrics: the inter-region transfer the
 * compression saved (bytes in − bytes out, once per target region the rule replicates to) and its
 * estimated dollars, beside the task-seconds the batch took and their dollars (Fargate of the
 * rule's task size, Spot blended as the stacks deploy it). Prices from the dated table.
 */
import type { ReplicationRule } from '../config';
import { taskHourPrice } from './estimate';
import { DEFAULT_PRICES, GB, type PriceTable } from './prices';

export interface BatchSavings {
  readonly transferBytesSaved: number;
  readonly transferDollarsSaved: number;
  readonly taskSeconds: number;
  readonly taskDollars: number;
}

/** The saved transfer and the spent task time of one batch of a rule. */
export function batchSavings(rule: ReplicationRule, bytesIn: number, bytesOut: number, durationMs: number, prices: PriceTable = DEFAULT_PRICES): BatchSavings {
  const regions = new Set(rule.destinations.map((d) => d.region)).size;
  const transferBytesSaved = Math.max(0, bytesIn - bytesOut) * regions;
  const taskSeconds = durationMs / 1000;
  return {
    transferBytesSaved,
    transferDollarsSaved: (transferBytesSaved / GB) * prices.s3.interRegionTransferGb,
    taskSeconds,
    taskDollars: (taskSeconds / 3600) * taskHourPrice(rule.source.scaling.cpu, rule.source.scaling.memory, true, prices),
  };
}
